/**
 * A large upload in parts on the whole local stack, as a client on a bad network makes it: a
 * video of a hundred MB in 6 parts, the connection cut in the middle of a part, the stored parts listed,
 * the rest uploaded, the upload completed; then the video is converted once and plays through
 * the signed CDN path. Also: completions that do not make the declared file are refused with the
 * reason, a cancelled upload leaves nothing, and an abandoned one fails and leaves nothing.
 */
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { ListMultipartUploadsCommand, ListObjectsV2Command, UploadPartCommand } from '@aws-sdk/client-s3';
import t from 'tap';
import { createS3Client } from '../../src/app/aws-clients.ts';
import { createVideoCatalog } from '../../src/adapters/dynamodb/video-catalog.ts';
import { createVideoStorage } from '../../src/adapters/s3/video-storage.ts';
import { sourceKey } from '../../src/domain/storage-layout.ts';
import { createAwsClients } from '../../src/app/aws-clients.ts';
import { createFfmpegWorkerTranscoder } from '../../src/adapters/ffmpeg-worker/ffmpeg-worker-transcoder.ts';
import type { CreateUploadResponse, UploadProgress } from '../../src/schemas/upload.ts';
import type { Problem } from '../../src/schemas/problem.ts';
import type { Playback } from '../../src/schemas/playback.ts';
import type { Video } from '../../src/schemas/video.ts';
import { decodedDurationSeconds, makeClip, padWithFreeBox } from '../helpers/media.ts';
import { putThenDropConnection } from '../helpers/s3-requests.ts';
import { callApi, startTestStack, waitForStatus } from '../helpers/stack.ts';
import { multipartPlan, putPart, readSlice, uploadParts } from '../helpers/uploads.ts';
import { stackReconciler } from '../helpers/reconcile.ts';

const MiB = 1024 ** 2;
const stack = await startTestStack(t, { settings: { MULTIPART_PART_BYTES: String(16 * MiB) } });
const token = await stack.token('alice');
const bob = await stack.token('bob');
const s3 = await createS3Client(stack.config);
const bucket = stack.config.BUCKET_NAME;

async function pendingUploads(videoId: string): Promise<string[]> {
  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: sourceKey(videoId) }));
  return (listed.Uploads ?? []).map((upload) => upload.UploadId!);
}
async function objectsOf(videoId: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `uploads/${videoId}/` }));
  return (listed.Contents ?? []).map((object) => object.Key!);
}
async function register(sizeBytes: number, extra: Record<string, unknown> = {}) {
  const created = await callApi<CreateUploadResponse>(stack, 'POST', '/uploads', {
    token,
    body: { title: 'Camera file', filename: 'camera.mp4', contentType: 'video/mp4', sizeBytes, ...extra },
  });
  if (created.status !== 201) throw new Error(`POST /uploads answered ${created.status}: ${JSON.stringify(created.body)}`);
  return { videoId: created.body.videoId, plan: multipartPlan(created.body.upload) };
}

t.test('a hundred MB in parts: cut mid-way, resumed from the stored parts, completed, converted once, played', async (t) => {
  const file = await makeClip({ seconds: 2, width: 320, height: 240, audio: true, faststart: true });
  const sizeBytes = 100 * 1000 * 1000;
  await padWithFreeBox(file, sizeBytes);
  t.equal((await stat(file)).size, sizeBytes);

  const { videoId, plan } = await register(sizeBytes);
  t.equal(plan.partSizeBytes, 16 * MiB);
  t.equal(plan.partCount, Math.ceil(sizeBytes / (16 * MiB)), `${plan.partCount} parts`);
  t.equal(plan.parts.length, plan.partCount, 'every part URL at once (up to 100)');
  t.same(
    plan.parts.map((part) => part.sizeBytes).reduce((a, b) => a + b, 0),
    sizeBytes,
    'the part URLs add up to the declared size',
  );
  t.ok(Date.parse(plan.expiresAt) > Date.parse(plan.partUrlsExpireAt), 'the upload outlives one batch of URLs');

  // The first half of the parts arrive; then the network drops in the middle of the next one.
  const half = Math.floor(plan.partCount / 2);
  const firstHalf = Array.from({ length: half }, (_, index) => index + 1);
  const firstEtags = await uploadParts(stack, token, videoId, file, plan, firstHalf);
  const cut = plan.parts[half]!;
  await putThenDropConnection(cut.url, { 'Content-Length': String(cut.sizeBytes) }, await readSlice(file, half * plan.partSizeBytes, cut.sizeBytes), 5 * MiB);

  // After the crash the client knows nothing but the video id: it asks what is stored.
  const progress = await callApi<UploadProgress>(stack, 'GET', `/uploads/${videoId}/parts`, { token });
  t.equal(progress.status, 200);
  t.same(
    progress.body.parts.map((part) => part.partNumber),
    firstHalf,
    'the parts that arrived, and not the one cut short',
  );
  t.same(
    progress.body.parts.map((part) => part.etag),
    firstHalf.map((n) => firstEtags.get(n)),
    'with the ETags their PUTs answered',
  );
  t.equal(progress.body.storedBytes, half * plan.partSizeBytes);
  t.match(progress.body, { uploadId: plan.uploadId, sizeBytes, partSizeBytes: plan.partSizeBytes, partCount: plan.partCount });
  t.equal((await callApi(stack, 'GET', `/uploads/${videoId}/parts`, { token: bob })).status, 404, 'nobody else sees the upload');

  // Completing now is refused with the parts that are missing.
  const early = await callApi<Problem>(stack, 'POST', `/uploads/${videoId}/complete`, {
    token,
    body: { parts: Array.from({ length: plan.partCount }, (_, index) => ({ partNumber: index + 1, etag: firstEtags.get(index + 1) ?? '"unknown"' })) },
  });
  t.equal(early.status, 409);
  t.equal(early.body.type, '/problems/upload-incomplete');
  t.match(early.body.detail, new RegExp(`part ${half + 1}, ${half + 2}.* not stored`), early.body.detail);

  // Resume: new URLs for the rest (as a client whose URLs expired would), uploaded, completed.
  const rest = Array.from({ length: plan.partCount - half }, (_, index) => half + 1 + index);
  const restEtags = await uploadParts(stack, token, videoId, file, { partSizeBytes: plan.partSizeBytes, parts: [] }, rest);
  const parts = [...firstEtags, ...restEtags].map(([partNumber, etag]) => ({ partNumber, etag })).sort((a, b) => a.partNumber - b.partNumber);
  const completed = await callApi<Video>(stack, 'POST', `/uploads/${videoId}/complete`, { token, body: { parts } });
  t.equal(completed.status, 202, JSON.stringify(completed.body));
  t.equal(completed.body.videoId, videoId);
  t.equal(completed.body.status, 'processing', 'processing from the completion on, not waiting for the notification');
  const again = await callApi<Video>(stack, 'POST', `/uploads/${videoId}/complete`, { token, body: { parts } });
  t.equal(again.status, 202, 'a completion repeated (its answer lost) answers the video again');
  t.same(await pendingUploads(videoId), [], 'no parts left behind');

  const { video } = await waitForStatus(stack, token, videoId, ['ready', 'failed'], 180_000);
  t.equal(video.status, 'ready', JSON.stringify(video.error));
  const jobs = (await (
    await fetch(`${stack.transcoderUrl}/jobs?videoId=${videoId}&since=1970-01-01T00:00:00Z`, {
      headers: { 'x-vod-worker-token': stack.config.TRANSCODE_WORKER_TOKEN! },
    })
  ).json()) as { jobs: unknown[] };
  t.equal(jobs.jobs.length, 1, 'one completion, one conversion');
  const playback = await callApi<Playback>(stack, 'GET', `/videos/${videoId}/playback`, { token });
  t.equal(playback.status, 200);
  const seconds = await decodedDurationSeconds(playback.body.manifestUrl);
  t.ok(Math.abs(seconds - 2) < 0.2, `it plays through the signed CDN path: ${seconds.toFixed(2)} s of 2`);
});

t.test('completions that do not make the declared file are refused with the reason', async (t) => {
  const file = await makeClip({ seconds: 1, width: 160, height: 120, audio: false, faststart: true });
  const sizeBytes = 20 * MiB;
  await padWithFreeBox(file, sizeBytes);
  const { videoId, plan } = await register(sizeBytes, { multipart: true });
  t.same(
    plan.parts.map((part) => part.sizeBytes),
    [16 * MiB, 4 * MiB],
  );
  const first = await putPart(file, plan.partSizeBytes, plan.parts[0]!);
  const complete = (parts: Array<{ partNumber: number; etag: string }>) =>
    callApi<Problem>(stack, 'POST', `/uploads/${videoId}/complete`, { token, body: { parts } });

  const unlisted = await complete([{ partNumber: 1, etag: first }]);
  t.match(unlisted.body, { status: 409, type: '/problems/upload-incomplete', detail: /part 2 is not listed/ });
  const missing = await complete([
    { partNumber: 1, etag: first },
    { partNumber: 2, etag: '"0123"' },
  ]);
  t.match(missing.body, { status: 409, detail: /part 2 is not stored/ });
  const twice = await complete([
    { partNumber: 1, etag: first },
    { partNumber: 1, etag: first },
  ]);
  t.match(twice.body, { status: 400, detail: /listed more than once/ });
  const beyond = await complete([
    { partNumber: 1, etag: first },
    { partNumber: 3, etag: first },
  ]);
  t.match(beyond.body, { status: 400, detail: /has 2 parts; there is no part 3/ });

  // The part URL is bound to its length: more or fewer bytes are refused by storage itself.
  const second = plan.parts[1]!;
  const wrongLength = await fetch(second.url, { method: 'PUT', body: new Uint8Array(await readSlice(file, 0, 5 * MiB)) });
  t.equal(wrongLength.status, 403, 'a part of another length does not match its signed URL');
  // And another upload's part URL is refused for this one (the upload id is signed into it).
  const other = await register(sizeBytes, { multipart: true });
  const foreign = new URL(other.plan.parts[1]!.url);
  foreign.searchParams.set('uploadId', plan.uploadId);
  t.equal(
    (await fetch(foreign, { method: 'PUT', body: new Uint8Array(await readSlice(file, 16 * MiB, 4 * MiB)) })).status,
    403,
    "one upload's part URL is refused for another",
  );

  // A part stored with another length (by a client holding S3 credentials, not through a URL
  // the API signed) is found at completion.
  const short = await s3.send(
    new UploadPartCommand({ Bucket: bucket, Key: sourceKey(videoId), UploadId: plan.uploadId, PartNumber: 2, Body: Buffer.alloc(1000, 1) }),
  );
  const wrongSize = await complete([
    { partNumber: 1, etag: first },
    { partNumber: 2, etag: short.ETag! },
  ]);
  t.match(wrongSize.body, { status: 409, detail: /part 2 is 1000 bytes, not 4194304/ });
  const wrongEtag = await complete([
    { partNumber: 1, etag: '"ffffffffffffffffffffffffffffffff"' },
    { partNumber: 2, etag: short.ETag! },
  ]);
  t.match(wrongEtag.body, { status: 409, detail: /part 1 was stored with ETag/ });

  const video = await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token });
  t.equal(video.body.status, 'awaiting_upload', 'nothing refused moved the video');
  t.same(await objectsOf(videoId), [], 'and no source was made');
  for (const id of [videoId, other.videoId]) t.equal((await callApi(stack, 'DELETE', `/uploads/${id}`, { token })).status, 204);
});

t.test('a cancelled upload leaves no parts and no record', async (t) => {
  const file = await makeClip({ seconds: 1, width: 160, height: 120, audio: false, faststart: true });
  await padWithFreeBox(file, 40 * MiB);
  const { videoId, plan } = await register(40 * MiB, { multipart: true });
  await uploadParts(stack, token, videoId, file, plan, [1, 2]);
  t.equal((await pendingUploads(videoId)).length, 1);
  t.equal((await callApi(stack, 'DELETE', `/uploads/${videoId}`, { token: bob })).status, 404, 'only the owner cancels');
  t.equal((await callApi(stack, 'DELETE', `/uploads/${videoId}`, { token })).status, 204);
  t.same(await pendingUploads(videoId), [], 'the parts are gone');
  t.same(await objectsOf(videoId), []);
  t.equal((await callApi(stack, 'GET', `/videos/${videoId}`, { token })).status, 404, 'the video is gone');
  t.equal((await callApi(stack, 'GET', `/uploads/${videoId}/parts`, { token })).status, 404);
  const late = await fetch(plan.parts[2]!.url, {
    method: 'PUT',
    body: new Uint8Array(await readSlice(file, 2 * plan.partSizeBytes, plan.parts[2]!.sizeBytes)),
  });
  t.equal(late.status, 404, 'a part URL handed out before cannot store anything any more (NoSuchUpload)');
  const listed = await callApi<{ items: Video[] }>(stack, 'GET', '/videos?status=all', { token });
  t.notOk(
    listed.body.items.some((item) => item.videoId === videoId),
    'no record stuck in the list',
  );

  const completedAlready = await register(6 * MiB, { multipart: true });
  const padded = await makeClip({ seconds: 1, width: 160, height: 120, audio: false, faststart: true });
  await padWithFreeBox(padded, 6 * MiB);
  const etag = await putPart(padded, completedAlready.plan.partSizeBytes, completedAlready.plan.parts[0]!);
  t.equal((await callApi(stack, 'POST', `/uploads/${completedAlready.videoId}/complete`, { token, body: { parts: [{ partNumber: 1, etag }] } })).status, 202);
  const refused = await callApi<Problem>(stack, 'DELETE', `/uploads/${completedAlready.videoId}`, { token });
  t.match(refused.body, { status: 409, type: '/problems/upload-not-in-progress', detail: /delete the video instead/ });
  await waitForStatus(stack, token, completedAlready.videoId, ['ready', 'failed']);
});

t.test('an abandoned upload fails with the reason after its expiry, and its parts are removed', async (t) => {
  const clients = createAwsClients(stack.config);
  const catalog = createVideoCatalog({ dynamo: clients.dynamo, tableName: stack.config.TABLE_NAME });
  const storage = createVideoStorage({ s3, bucket });
  const file = await makeClip({ seconds: 1, width: 160, height: 120, audio: false, faststart: true });
  await padWithFreeBox(file, 40 * MiB);
  const { videoId, plan } = await register(40 * MiB, { multipart: true });
  await uploadParts(stack, token, videoId, file, plan, [1]);
  // A multipart upload no video awaits: a crash between S3's CreateMultipartUpload and the record.
  const strayVideoId = randomUUID();
  const stray = await storage.createSourceMultipartUpload({ videoId: strayVideoId, contentType: 'video/mp4' });

  const reconcileAt = stackReconciler(stack, {
    catalog,
    storage,
    transcoder: createFfmpegWorkerTranscoder({
      endpoint: stack.transcoderUrl,
      token: stack.config.TRANSCODE_WORKER_TOKEN!,
      inspect: async () => Promise.reject(new Error('unused')),
    }),
    logger: { info: () => {}, warn: () => {}, error: () => {} },
  });

  const early = await reconcileAt(120);
  t.equal(early.actions['upload-abandoned'], 0, 'an upload still within its time is left alone');
  t.equal(early.actions['multipart-aborted'], 1, 'the upload no video awaits is aborted');
  t.same(await pendingUploads(strayVideoId), [], `stray upload ${stray.uploadId} gone`);
  t.equal((await pendingUploads(videoId)).length, 1, "the video's own upload is kept");

  const ttl = stack.config.MULTIPART_UPLOAD_TTL_SECONDS;
  const late = await reconcileAt(ttl + 120);
  t.equal(late.actions['upload-abandoned'], 1);
  const video = await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token });
  t.match(video.body, { status: 'failed', error: { code: 'upload-abandoned', message: /abandoned.*parts stored were removed/ } });
  t.same(await pendingUploads(videoId), [], 'its parts are gone');
  const tooLate = await callApi<Problem>(stack, 'GET', `/uploads/${videoId}/parts`, { token });
  t.match(tooLate.body, { status: 409, type: '/problems/upload-not-in-progress' });
});
