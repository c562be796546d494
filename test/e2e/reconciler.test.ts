/**
 * The reconciler (src/domain/reconciler.ts) on the real local stack: DynamoDB and S3 stand-ins, the
 * ffmpeg worker, the app's own video service. Each test makes one of the states that lost events,
 * crashes and refusals leave, runs the reconciler with its clock moved forward (no test waits for
 * a period to pass), and checks that the video ends ready or failed with a reason, and what the
 * run counted.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import t from 'tap';
import { createAwsClients, createS3Client } from '../../src/app/aws-clients.ts';
import { JobRefusedError } from '../../src/domain/errors.ts';
import { createFfmpegWorkerTranscoder } from '../../src/adapters/ffmpeg-worker/ffmpeg-worker-transcoder.ts';
import type { Transcoder } from '../../src/domain/ports/transcoder.ts';
import { createVideoCatalog } from '../../src/adapters/dynamodb/video-catalog.ts';
import { type VideoRecord } from '../../src/domain/ports/video-catalog.ts';
import { createVideoService } from '../../src/domain/video-service.ts';
import { createVideoStorage } from '../../src/adapters/s3/video-storage.ts';
import { ObjectsNotDeletedError } from '../../src/domain/ports/video-storage.ts';
import { sourceKey, streamPrefix } from '../../src/domain/storage-layout.ts';
import type { CreateUploadResponse } from '../../src/schemas/upload.ts';
import { makeClip } from '../helpers/media.ts';
import { inspectFile, planForFile } from '../helpers/plans.ts';
import { callApi, createVideo, putObjects, startTestStack, waitForStatus } from '../helpers/stack.ts';
import { singlePut } from '../helpers/uploads.ts';
import { reconcileSettings, stackReconciler } from '../helpers/reconcile.ts';

const stack = await startTestStack(t);
const token = await stack.token('alice');
const clients = createAwsClients(stack.config);
const s3 = await createS3Client(stack.config);
const bucket = stack.config.BUCKET_NAME;
const catalog = createVideoCatalog({ dynamo: clients.dynamo, tableName: stack.config.TABLE_NAME });
const storage = createVideoStorage({ s3, bucket });
const clip = await makeClip({ seconds: 2, width: 320, height: 240, audio: true });
const clipBytes = await readFile(clip);
const clipMedia = await inspectFile(clip);
const clipPlan = await planForFile(clip);

/** The app's side of the worker, as services.ts makes it. */
const worker = createFfmpegWorkerTranscoder({ endpoint: stack.transcoderUrl, token: stack.config.TRANSCODE_WORKER_TOKEN!, inspect: async () => clipMedia });

const settings = reconcileSettings(stack);
const logged: Array<{ level: string; details: Record<string, unknown>; message: string }> = [];
const logger = {
  info: (details: Record<string, unknown>, message: string) => logged.push({ level: 'info', details, message }),
  warn: (details: Record<string, unknown>, message: string) => logged.push({ level: 'warn', details, message }),
  error: (details: Record<string, unknown>, message: string) => logged.push({ level: 'error', details, message }),
};

/** One run, `aheadSeconds` in the future, with the stack's own service and the worker unless given. */
const reconcileAt = stackReconciler(stack, { catalog, storage, transcoder: worker, logger });
const pastTheGrace = settings.graceSeconds + 5;

/** A video service over the stack's catalog and bucket with a transcoder of the test's making. */
function serviceWith(transcoder: Transcoder) {
  return createVideoService({
    catalog,
    storage,
    transcoder,
    playback: { signManifest: async () => Promise.reject(new Error('not used')) },
    maxUploadBytes: 10_000_000,
    uploadUrlTtlSeconds: stack.config.UPLOAD_URL_TTL_SECONDS,
    multipart: {
      thresholdBytes: stack.config.MULTIPART_THRESHOLD_BYTES,
      partBytes: stack.config.MULTIPART_PART_BYTES,
      uploadTtlSeconds: stack.config.MULTIPART_UPLOAD_TTL_SECONDS,
    },
  });
}

/** A record as POST /uploads makes it, written after the fact (so no event of the past finds it). */
async function recordOf(videoId: string): Promise<VideoRecord> {
  return catalog.create({
    videoId,
    title: 'late record',
    ownerId: 'alice',
    filename: 'clip.mp4',
    contentType: 'video/mp4',
    sizeBytes: clipBytes.length,
    createdAt: new Date().toISOString(),
  });
}

async function objectsOf(videoId: string): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of [`uploads/${videoId}/`, streamPrefix(videoId)]) {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    keys.push(...(listed.Contents ?? []).map((object) => object.Key!));
  }
  return keys;
}

/** A job the worker ran for `videoId` before the video's record said so: its events found no one. */
async function finishedJobOf(videoId: string): Promise<string> {
  await putObjects(stack, [{ key: sourceKey(videoId), body: clipBytes }]);
  const { jobId } = await worker.submit({
    videoId,
    sourceKey: sourceKey(videoId),
    outputPrefix: streamPrefix(videoId),
    clientRequestToken: videoId,
    plan: clipPlan,
  });
  await stack.idle();
  t.match(await worker.getJob(jobId), { finished: true, update: { type: 'complete' } }, 'the job itself completed');
  return jobId;
}

t.test('a stored source whose notification was lost is found and converted', async (t) => {
  const videoId = randomUUID();
  await putObjects(stack, [{ key: sourceKey(videoId), body: clipBytes }]);
  await stack.idle(); // its notification found no record: as good as lost
  await recordOf(videoId);
  t.equal((await reconcileAt(0)).actions['upload-found'], 0, 'left to its events during the grace period');
  const report = await reconcileAt(pastTheGrace);
  t.equal(report.actions['upload-found'], 1);
  const { video } = await waitForStatus(stack, token, videoId, ['ready', 'failed'], 60_000);
  t.equal(video.status, 'ready', JSON.stringify(video.error));
  t.equal((await reconcileAt(pastTheGrace)).actions['upload-found'], 0, 'a second run finds nothing more to do');
});

t.test('a job whose final event was lost is applied from the transcoder', async (t) => {
  const videoId = randomUUID();
  const jobId = await finishedJobOf(videoId);
  const video = await recordOf(videoId);
  await catalog.claimForProcessing(video, 'test', new Date().toISOString());
  await catalog.recordJob(video, jobId, new Date().toISOString());
  const report = await reconcileAt(pastTheGrace);
  t.equal(report.actions['job-finished'], 1);
  const ready = await catalog.get(videoId);
  t.equal(ready?.status, 'ready');
  t.ok((ready?.renditions?.length ?? 0) > 0, 'with the renditions the job wrote');
  t.match(logged.find((line) => line.details.videoId === videoId)?.message, /never arrived/, 'the action is logged');
});

t.test('a job the transcoder no longer knows fails its video with a reason', async (t) => {
  const videoId = randomUUID();
  const video = await recordOf(videoId);
  await catalog.claimForProcessing(video, 'test', new Date().toISOString());
  await catalog.recordJob(video, 'job-that-never-was', new Date().toISOString());
  t.equal((await reconcileAt(pastTheGrace)).actions['job-lost'], 1);
  const failed = await catalog.get(videoId);
  t.equal(failed?.status, 'failed');
  t.match(failed?.error, { code: 'job-lost', message: /no longer exists.*Upload the file again/ });
});

t.test('a crash between submitting a job and recording it: the retry finds the job, no second one', async (t) => {
  const videoId = randomUUID();
  const intent = new Date(Date.now() - 1000).toISOString();
  const jobId = await finishedJobOf(videoId);
  const video = await recordOf(videoId);
  await catalog.claimForProcessing(video, 'test', intent);
  t.ok(await catalog.recordJobIntent(video, intent), 'the intent was recorded before the submission');
  let submissions = 0;
  const counting = serviceWith({ ...worker, submit: async (request) => (submissions++, worker.submit(request)) });
  const first = await reconcileAt(pastTheGrace, { videos: counting });
  t.equal(first.actions['job-resubmitted'], 1);
  t.equal(submissions, 0, 'nothing submitted: the job was found by its user metadata');
  t.equal((await catalog.get(videoId))?.jobId, jobId, 'and recorded');
  const second = await reconcileAt(pastTheGrace, { videos: counting });
  t.equal(second.actions['job-finished'], 1, 'the next run applies its outcome');
  t.equal((await catalog.get(videoId))?.status, 'ready');
  const jobs = await fetch(`${stack.transcoderUrl}/jobs?videoId=${videoId}&since=1970-01-01T00:00:00Z`, {
    headers: { 'x-vod-worker-token': stack.config.TRANSCODE_WORKER_TOKEN! },
  });
  t.equal(((await jobs.json()) as { jobs: unknown[] }).jobs.length, 1, 'the worker holds one job for the video');
});

t.test("a refused job fails its video at once with the transcoder's reason", async (t) => {
  const videoId = randomUUID();
  await putObjects(stack, [{ key: sourceKey(videoId), body: clipBytes }]);
  await stack.idle();
  const video = await recordOf(videoId);
  await catalog.claimForProcessing(video, 'test', new Date().toISOString());
  const refusing = serviceWith({
    ...worker,
    submit: async () => {
      throw new JobRefusedError('MediaConvert refused the job: the role cannot read s3://bucket/uploads/');
    },
  });
  const report = await reconcileAt(pastTheGrace, { videos: refusing });
  t.equal(report.actions['retry-scheduled'], 0, 'not retried: a refusal is final');
  const failed = await catalog.get(videoId);
  t.equal(failed?.status, 'failed');
  t.same(failed?.error, { code: 'transcoder-refused', message: 'MediaConvert refused the job: the role cannot read s3://bucket/uploads/' });
});

t.test('a video that does not move is retried with backoff, then fails with what went wrong', async (t) => {
  const videoId = randomUUID();
  const video = await recordOf(videoId);
  await catalog.claimForProcessing(video, 'test', new Date().toISOString());
  let submissions = 0;
  const throttled = serviceWith({
    ...worker,
    submit: async () => {
      submissions++;
      throw new Error('MediaConvert is throttling');
    },
  });
  const first = await reconcileAt(pastTheGrace, { videos: throttled });
  t.equal(first.actions['retry-scheduled'], 1);
  t.match((await catalog.get(videoId))?.reconcile, { attempts: 1, lastError: 'MediaConvert is throttling' });
  const second = await reconcileAt(pastTheGrace, { videos: throttled });
  t.equal(second.actions['gave-up'], 1);
  t.equal(submissions, 2, 'one submission per attempt');
  const failed = await catalog.get(videoId);
  t.equal(failed?.status, 'failed');
  t.match(failed?.error, { code: 'reconcile-gave-up', message: /could not start its conversion after 2 tries: MediaConvert is throttling/ });
  t.equal((await reconcileAt(pastTheGrace, { videos: throttled })).actions['gave-up'], 0, 'a failed video is left alone');
});

t.test('backoff: a video in its wait is not looked at', async (t) => {
  const videoId = randomUUID();
  const video = await recordOf(videoId);
  await catalog.claimForProcessing(video, 'test', new Date().toISOString());
  await catalog.recordReconcileAttempt(
    { ...video, status: 'processing' },
    { attempts: 1, nextAt: new Date(Date.now() + 3600_000).toISOString(), lastError: 'x' },
    new Date().toISOString(),
  );
  let submissions = 0;
  const counting = serviceWith({ ...worker, submit: async () => (submissions++, { jobId: 'never' }) });
  await reconcileAt(pastTheGrace, { videos: counting });
  t.equal(submissions, 0, 'not before its time');
  await reconcileAt(3600 + pastTheGrace, { videos: counting });
  t.equal(submissions, 1, 'tried once its time has come');
});

t.test('an upload URL that expired with nothing stored fails the video', async (t) => {
  const videoId = await createVideo(stack, token);
  t.equal((await reconcileAt(pastTheGrace)).actions['upload-expired'], 0, 'its URL is still good');
  const report = await reconcileAt(settings.uploadUrlTtlSeconds + pastTheGrace);
  t.equal(report.actions['upload-expired'], 1);
  const { video } = await waitForStatus(stack, token, videoId, ['failed'], 5_000);
  t.match(video.error, { code: 'upload-expired', message: /never arrived.*Upload the file again/ });
});

t.test('a job silent for too long is canceled and its video failed', async (t) => {
  const videoId = randomUUID();
  const video = await recordOf(videoId);
  await catalog.claimForProcessing(video, 'test', new Date().toISOString());
  await catalog.recordJob(video, 'job-still-running', new Date().toISOString());
  const canceled: string[] = [];
  const stuck = {
    getJob: async () => ({ finished: false as const }),
    cancel: async (jobId: string) => void canceled.push(jobId),
  };
  await reconcileAt(pastTheGrace, { transcoder: stuck });
  t.equal((await catalog.get(videoId))?.status, 'processing', 'a running job is left to run');
  const report = await reconcileAt(settings.silentJobSeconds + pastTheGrace, { transcoder: stuck });
  t.equal(report.actions['job-silent'], 1);
  t.same(canceled, ['job-still-running']);
  t.match((await catalog.get(videoId))?.error, { code: 'job-silent', message: /stopped reporting progress for over 1 hours/ });
});

t.test('objects that belong to no video are removed after the grace period, never before', async (t) => {
  const orphans = [randomUUID(), randomUUID()];
  await putObjects(stack, [
    { key: sourceKey(orphans[0]!), body: 'bytes' },
    { key: `${streamPrefix(orphans[1]!)}master.m3u8`, body: '#EXTM3U' },
    { key: `${streamPrefix(orphans[1]!)}360p/seg_00000.ts`, body: 'ts' },
  ]);
  await stack.idle();
  const live = await createVideo(stack, token);
  await putObjects(stack, [{ key: `${streamPrefix(live)}poster.jpg`, body: 'jpeg' }]);
  t.equal((await reconcileAt(0)).actions['orphans-deleted'], 0, 'young objects are left alone');
  t.equal((await objectsOf(orphans[0]!)).length, 1);
  const report = await reconcileAt(pastTheGrace);
  t.equal(report.actions['orphans-deleted'], 2, 'one action per video folder');
  t.ok(report.objectsDeleted >= 3);
  t.same(await objectsOf(orphans[0]!), []);
  t.same(await objectsOf(orphans[1]!), []);
  t.same(await objectsOf(live), [`${streamPrefix(live)}poster.jpg`], "a live video's objects stay");
});

t.test("a ready video's fast-start rendition is removed once no playback URL can reach it, never before", async (t) => {
  const videoId = randomUUID();
  await putObjects(stack, [{ key: sourceKey(videoId), body: clipBytes }]);
  await stack.idle();
  await recordOf(videoId);
  await reconcileAt(pastTheGrace);
  const { video } = await waitForStatus(stack, token, videoId, ['ready', 'failed'], 60_000);
  t.equal(video.status, 'ready', JSON.stringify(video.error));
  // What a fast start leaves beside the ladder (its own run may have lost the race to so short a clip).
  const leftover = `${streamPrefix(videoId)}fast-start/360p/segment_00000.ts`;
  await putObjects(stack, [{ key: leftover, body: 'ts' }]);
  const ladder = (await objectsOf(videoId)).filter((key) => !key.includes('/fast-start/'));
  const grantSeconds = Math.max(stack.config.PLAYBACK_URL_TTL_SECONDS, Math.ceil(video.durationSeconds ?? 0) + stack.config.PLAYBACK_URL_MARGIN_SECONDS);

  t.equal((await reconcileAt(grantSeconds)).actions['fast-start-removed'], 0, 'a playback URL handed out before ready may still be in use');
  t.ok((await objectsOf(videoId)).includes(leftover));
  const report = await reconcileAt(grantSeconds + pastTheGrace);
  t.equal(report.actions['fast-start-removed'], 1, 'past every grant and the grace');
  t.same(await objectsOf(videoId), ladder, 'the fast-start folder is gone; the ladder, the source and the poster stay');
  t.match(await catalog.get(videoId), { status: 'ready', fastStartRemovedAt: String }, 'and looked for no more');
  t.equal((await reconcileAt(grantSeconds + pastTheGrace)).actions['fast-start-removed'], 0);
});

t.test('DELETE during a transcode cancels the job; nothing the job or a late upload writes stays', async (t) => {
  const long = await makeClip({ seconds: 20, width: 1280, height: 720, audio: true });
  const bytes = await readFile(long);
  const created = await callApi<CreateUploadResponse>(stack, 'POST', '/uploads', {
    token,
    body: { title: 'deleted while converting', filename: 'long.mp4', contentType: 'video/mp4', sizeBytes: bytes.length },
  });
  const { videoId } = created.body;
  const upload = singlePut(created.body.upload);
  t.equal((await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: bytes })).status, 200);
  const deadline = Date.now() + 60_000;
  let jobId: string | undefined;
  while (Date.now() < deadline) {
    const record = await catalog.get(videoId);
    if (record?.jobId && (record.progressPercent ?? 0) > 0) {
      jobId = record.jobId;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.ok(jobId, 'the job is running');
  t.equal((await callApi(stack, 'DELETE', `/videos/${videoId}`, { token })).status, 204);
  t.equal((await callApi(stack, 'GET', `/videos/${videoId}`, { token })).status, 404, 'gone at once');
  await stack.idle();
  t.match(await worker.getJob(jobId!), { finished: true, update: { type: 'canceled' } }, 'the job was canceled');
  t.same(await objectsOf(videoId), [], 'no object is left, outputs written after the delete included');
  t.equal((await catalog.get(videoId))?.status, 'deleted', 'a tombstone stays while an upload URL may still write');

  // The upload URL is still valid: a PUT through it after the delete is swept at once.
  t.equal((await fetch(upload.url, { method: 'PUT', headers: upload.headers, body: bytes })).status, 200);
  await stack.idle();
  t.same(await objectsOf(videoId), [], 'a late upload is removed');

  const early = await reconcileAt(pastTheGrace);
  t.equal(early.actions['tombstone-removed'], 0, 'kept while its upload URL lives');
  const late = await reconcileAt(settings.uploadUrlTtlSeconds + pastTheGrace);
  t.equal(late.actions['tombstone-removed'], 1);
  t.equal(await catalog.get(videoId), undefined, 'then the tombstone goes');
});

t.test('a tombstone whose objects came back is cleaned by the reconciler', async (t) => {
  const videoId = await createVideo(stack, token);
  t.equal((await callApi(stack, 'DELETE', `/videos/${videoId}`, { token })).status, 204);
  // Written by nobody the app knows (a job it could not cancel, say), with no event.
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${streamPrefix(videoId)}late/seg.ts`, Body: 'late' }));
  const report = await reconcileAt(0);
  t.equal(report.actions['tombstone-cleaned'], 1);
  t.same(await objectsOf(videoId), []);
});

t.test('a tombstone whose objects S3 will not delete stays, and is tried again', async (t) => {
  const videoId = await createVideo(stack, token);
  await putObjects(stack, [{ key: `${streamPrefix(videoId)}master.m3u8`, body: '#EXTM3U' }]);
  const video = (await catalog.get(videoId))!;
  await catalog.markDeleted(video, new Date().toISOString());
  const refusing = {
    ...stack.services.videos,
    clearDeleted: async () => {
      throw new ObjectsNotDeletedError([{ key: `${streamPrefix(videoId)}master.m3u8`, code: 'AccessDenied' }]);
    },
  };
  const report = await reconcileAt(settings.uploadUrlTtlSeconds + pastTheGrace, { videos: refusing });
  t.equal(report.actions['tombstone-removed'], 0, 'not removed while objects remain');
  t.ok(report.actions['retry-scheduled'] >= 1, 'scheduled again');
  const kept = await catalog.get(videoId);
  t.equal(kept?.status, 'deleted');
  t.match(kept?.reconcile?.lastError, /AccessDenied/, 'with what S3 said');
  t.ok(
    logged.some((line) => line.level === 'warn' && line.details.videoId === videoId),
    'and logged',
  );
  // Once S3 deletes again, the next due run clears the objects and the tombstone.
  const later = await reconcileAt(settings.uploadUrlTtlSeconds + pastTheGrace + 3600);
  t.equal(later.actions['tombstone-cleaned'], 1);
  t.same(await objectsOf(videoId), []);
  t.equal((await reconcileAt(settings.uploadUrlTtlSeconds + pastTheGrace + 3600)).actions['tombstone-removed'] >= 1, true);
  t.equal(await catalog.get(videoId), undefined);
});
