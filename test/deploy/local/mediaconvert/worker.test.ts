import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Value } from '@sinclair/typebox/value';
import S3rver from 's3rver';
import t, { type Test } from 'tap';
import { startTranscodeWorkerServer } from '../../../../deploy/local/mediaconvert/server.ts';
import {
  createTranscodeWorker,
  MAX_ATTEMPTS,
  INTERRUPTED_TOO_OFTEN,
  type JobRecord,
  type TranscodeWorker,
  type TranscodeWorkerLogger,
  type TranscodeWorkerOptions,
} from '../../../../deploy/local/mediaconvert/worker.ts';
import { MediaConvertClient, ProbeCommand } from '@aws-sdk/client-mediaconvert';
import { MediaConvertJobStateChangeEvent } from '../../../../src/schemas/events.ts';
import { createFfmpegWorkerTranscoder, WORKER_TOKEN_HEADER } from '../../../../src/adapters/ffmpeg-worker/ffmpeg-worker-transcoder.ts';
import { sendWorkerToken } from '../../../../src/app/aws-clients.ts';
import { createS3RangeReader, readIsoHeader } from '../../../../src/adapters/mediaconvert/iso-header.ts';
import { sourceMediaOfProbe } from '../../../../src/adapters/mediaconvert/source-inspector.ts';
import { planTranscode } from '../../../../src/domain/transcode-plan.ts';
import type { TranscodeJobRequest } from '../../../../src/domain/ports/transcoder.ts';
import { decodedDurationSeconds, ffprobeJson, firstVideoTimestamp, makeClip, tempDir, type ClipOptions } from '../../../helpers/media.ts';
import { makeSource } from '../../../helpers/real-world-media.ts';
import { loadServiceModel, validateOperationOutput } from '../../../helpers/aws-model.ts';

const BUCKET = 'test-bucket';
const REGION = 'us-east-1';
const ACCOUNT = '111122223333';

// One S3 stand-in for the whole file; every test uses its own video ids and data dir.
const s3Dir = await mkdtemp(path.join(tmpdir(), 'worker-test-s3-'));
const s3rver = new S3rver({
  port: 0,
  address: '127.0.0.1',
  silent: true,
  directory: s3Dir,
  configureBuckets: [{ name: BUCKET }],
});
const { port } = await s3rver.run();
const s3Url = `http://127.0.0.1:${port}`;
const s3 = new S3Client({
  endpoint: s3Url,
  forcePathStyle: true,
  region: REGION,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  requestChecksumCalculation: 'WHEN_REQUIRED',
  responseChecksumValidation: 'WHEN_REQUIRED',
});
const putKeys: string[] = [];
s3rver.on('event', (event: { Records: Array<{ eventName: string; s3: { object: { key: string } } }> }) => {
  for (const record of event.Records) if (record.eventName.startsWith('ObjectCreated')) putKeys.push(record.s3.object.key);
});
t.teardown(async () => {
  s3.destroy();
  await s3rver.close();
  await rm(s3Dir, { recursive: true, force: true });
});

let videoCounter = 0;
const newVideoId = () => `video-${process.pid}-${++videoCounter}`;

const silent: TranscodeWorkerLogger = { info() {}, warn() {}, error() {} };

interface Harness {
  worker: TranscodeWorker;
  /** MediaConvert's job events, as the worker stands in for it. */
  events: MediaConvertJobStateChangeEvent[];
  dataDir: string;
  logged: Array<{ level: string; message: string }>;
}

/** A worker over the shared bucket with its own data dir; every event it publishes is kept. */
async function harness(t: Test, options: Partial<TranscodeWorkerOptions> & { dataDir?: string; start?: boolean } = {}): Promise<Harness> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'worker-test-data-')));
  if (!options.dataDir) t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const events: MediaConvertJobStateChangeEvent[] = [];
  const logged: Harness['logged'] = [];
  const worker = createTranscodeWorker({
    s3,
    bucket: BUCKET,
    dataDir,
    region: REGION,
    accountId: ACCOUNT,
    publish: async (event) => {
      events.push(event);
    },
    logger: {
      info: (_, message) => logged.push({ level: 'info', message }),
      warn: (_, message) => logged.push({ level: 'warn', message }),
      error: (_, message) => logged.push({ level: 'error', message }),
    },
    ...options,
  });
  t.teardown(() => worker.stop());
  if (options.start !== false) await worker.start();
  return { worker, events, dataDir, logged };
}

async function uploadSource(videoId: string, file: string): Promise<string> {
  const key = `uploads/${videoId}/source`;
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: await readFile(file) }));
  return key;
}

async function uploadClip(videoId: string, clip: ClipOptions): Promise<string> {
  return uploadSource(videoId, await makeClip(clip));
}

/**
 * The job the app would submit for an uploaded source: inspected as the app inspects it (this
 * worker's Probe and the MP4 header), planned by the shared rules. A missing source gets the plan
 * of a small clip, to see the worker find it gone.
 */
async function requestFor(worker: TranscodeWorker, videoId: string, sourceKey = `uploads/${videoId}/source`): Promise<TranscodeJobRequest> {
  const exists = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: sourceKey })).then(
    () => true,
    () => false,
  );
  const key = exists ? sourceKey : await uploadClip(`${videoId}-stand-in`, { seconds: 1, width: 320, height: 240, audio: false });
  const [probe, header] = await Promise.all([worker.probe(`s3://${BUCKET}/${key}`), readIsoHeader(createS3RangeReader({ s3, bucket: BUCKET }, key))]);
  return {
    videoId,
    sourceKey,
    outputPrefix: `video-streams/${videoId}/`,
    clientRequestToken: `token-${videoId}`,
    plan: planTranscode(sourceMediaOfProbe(probe, header)),
  };
}

async function readRecord(dataDir: string, jobId: string): Promise<JobRecord> {
  return JSON.parse(await readFile(path.join(dataDir, 'jobs', `${jobId}.json`), 'utf8')) as JobRecord;
}

async function listKeys(prefix: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
  return (listed.Contents ?? []).map((o) => o.Key!.slice(prefix.length)).sort();
}

function assertValidEvents(t: Test, events: MediaConvertJobStateChangeEvent[]) {
  for (const event of events) {
    t.ok(Value.Check(MediaConvertJobStateChangeEvent, event), `${event.detail.status} matches the EventBridge schema`);
  }
}

t.test('transcodes an upload into the HLS ladder, reporting PROGRESSING, STATUS_UPDATEs and COMPLETE', async (t) => {
  const { worker, events, dataDir } = await harness(t);
  const videoId = newVideoId();
  // A keyframe every 2 s at a web bitrate: packaged as it is, its segments are 4 + 2 s, like the
  // encoded ladder's.
  await uploadClip(videoId, { seconds: 6, width: 1280, height: 720, audio: true, keyframeSeconds: 2, videoBitrate: 2_000_000 });
  const putsBefore = putKeys.length;

  const request = await requestFor(worker, videoId);
  const { jobId } = await worker.submit(request);
  t.match(jobId, /^\d{13}-[0-9a-z]{6}$/, 'a MediaConvert-like job id');
  await worker.idle();

  assertValidEvents(t, events);
  const statuses = events.map((e) => e.detail.status);
  t.equal(statuses[0], 'PROGRESSING');
  t.equal(statuses.at(-1), 'COMPLETE');
  const updates = events.filter((e) => e.detail.status === 'STATUS_UPDATE');
  t.ok(updates.length >= 1, `${updates.length} STATUS_UPDATE events`);
  t.same(
    statuses.slice(1, -1),
    updates.map(() => 'STATUS_UPDATE'),
    'only STATUS_UPDATEs in between',
  );
  const percents = updates.map((e) => e.detail.jobProgress?.jobPercentComplete ?? -1);
  t.ok(
    percents.every((p, i) => p >= 0 && p <= 100 && (i === 0 || p >= percents[i - 1]!)),
    `percent never falls: ${percents.join(',')}`,
  );
  t.ok(updates.every((e) => e.detail.jobProgress?.currentPhase === 'TRANSCODING'));
  // Progress goes out at most about once a second, and never carries outputs (MediaConvert's never do).
  t.ok(
    updates.every((e) => e.detail.outputGroupDetails === undefined),
    'no STATUS_UPDATE names outputs',
  );
  const times = updates.map((e) => e.detail.timestamp);
  t.ok(
    times.every((time, i) => i === 0 || time - times[i - 1]! >= 900),
    'at most about one progress update a second',
  );
  const progressPercents = updates.map((e) => e.detail.jobProgress?.jobPercentComplete ?? -1);
  t.ok(
    progressPercents.every((p, i) => i === 0 || p > progressPercents[i - 1]!),
    `progress rises: ${progressPercents.join(',')}`,
  );
  const complete = events.at(-1)!;
  t.match(complete, {
    version: '0',
    'detail-type': 'MediaConvert Job State Change',
    source: 'aws.mediaconvert',
    account: ACCOUNT,
    region: REGION,
    resources: [`arn:aws:mediaconvert:${REGION}:${ACCOUNT}:jobs/${jobId}`],
    detail: {
      accountId: ACCOUNT,
      queue: `arn:aws:mediaconvert:${REGION}:${ACCOUNT}:queues/Default`,
      jobId,
      status: 'COMPLETE',
      userMetadata: { videoId },
    },
  });
  t.match(complete.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  t.match(complete.id, /^[0-9a-f-]{36}$/);
  t.same(complete.detail.outputGroupDetails, [
    {
      type: 'HLS_GROUP',
      playlistFilePaths: [`s3://${BUCKET}/video-streams/${videoId}/master.m3u8`],
      outputDetails: [
        {
          outputFilePaths: [`s3://${BUCKET}/video-streams/${videoId}/720p/index.m3u8`],
          durationInMs: 6000,
          videoDetails: { widthInPx: 1280, heightInPx: 720 },
        },
        {
          outputFilePaths: [`s3://${BUCKET}/video-streams/${videoId}/540p/index.m3u8`],
          durationInMs: 6000,
          videoDetails: { widthInPx: 960, heightInPx: 540 },
        },
        {
          outputFilePaths: [`s3://${BUCKET}/video-streams/${videoId}/360p/index.m3u8`],
          durationInMs: 6000,
          videoDetails: { widthInPx: 640, heightInPx: 360 },
        },
      ],
    },
    {
      type: 'FILE_GROUP',
      outputDetails: [
        {
          outputFilePaths: [`s3://${BUCKET}/video-streams/${videoId}/poster.0000000.jpg`],
          videoDetails: { widthInPx: 640, heightInPx: 360 },
        },
      ],
    },
  ]);

  const prefix = `video-streams/${videoId}/`;
  t.same(await listKeys(prefix), [
    '360p/index.m3u8',
    '360p/segment_00000.ts',
    '360p/segment_00001.ts',
    '540p/index.m3u8',
    '540p/segment_00000.ts',
    '540p/segment_00001.ts',
    '720p/index.m3u8',
    '720p/segment_00000.ts',
    '720p/segment_00001.ts',
    'master.m3u8',
    'poster.0000000.jpg',
  ]);
  const contentType = async (key: string) => (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: prefix + key }))).ContentType;
  t.equal(await contentType('master.m3u8'), 'application/vnd.apple.mpegurl');
  t.equal(await contentType('720p/index.m3u8'), 'application/vnd.apple.mpegurl');
  t.equal(await contentType('720p/segment_00000.ts'), 'video/mp2t');
  t.equal(await contentType('poster.0000000.jpg'), 'image/jpeg');
  const poster = await ffprobeJson(`${s3Url}/${BUCKET}/${prefix}poster.0000000.jpg`);
  t.match(poster.streams[0], { codec_name: 'mjpeg', width: 640, height: 360 }, 'the poster is a JPEG at the smallest rendition size');
  const ourPuts = putKeys.slice(putsBefore).filter((k) => k.startsWith(prefix));
  // As MediaConvert: nothing is listed before the job completes (fast start is the fast-start
  // function's); the media playlists, then the master, are written once, after every segment.
  const playlists = ourPuts.filter((k) => k.endsWith('.m3u8'));
  t.same(
    [...playlists].sort(),
    ['360p/index.m3u8', '540p/index.m3u8', '720p/index.m3u8', 'master.m3u8'].map((k) => prefix + k),
    'each playlist is written once',
  );
  t.same(ourPuts.slice(-playlists.length), playlists, 'after every segment and the poster');
  t.equal(ourPuts.at(-1), `${prefix}master.m3u8`, 'the master playlist is uploaded last');

  // The ladder plays from the bucket over HTTP (s3rver needs no signature).
  const master = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${prefix}master.m3u8` }));
  t.match(await master.Body!.transformToString(), /CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
  const played = await decodedDurationSeconds(`${s3Url}/${BUCKET}/${prefix}720p/index.m3u8`);
  t.ok(Math.abs(played - 6) <= 0.5, `720p plays ${played} s from the bucket`);
  const probed = await ffprobeJson(`${s3Url}/${BUCKET}/${prefix}360p/index.m3u8`);
  t.match(
    probed.streams.find((s) => s.codec_type === 'video'),
    { width: 640, height: 360 },
  );

  t.same((await readRecord(dataDir, jobId)).request, request, 'the job record keeps the whole request, plan included');
  t.match(await readRecord(dataDir, jobId), { jobId, status: 'COMPLETE', attempts: 1 });
  const leftovers = (await readdir(tmpdir())).filter((name) => name.startsWith(`transcode-${jobId}-`));
  t.same(leftovers, [], 'the temp dir is removed');

  const again = await worker.submit(request);
  await worker.idle();
  t.equal(again.jobId, jobId, 'resubmitting with the same token returns the same job');
  t.equal(events.length, statuses.length, 'and starts no second job');
});

t.test('submit persists the job before returning and queues it until start', async (t) => {
  const { worker, events, dataDir } = await harness(t, { start: false });
  const videoId = newVideoId();
  await uploadClip(videoId, { seconds: 1, width: 320, height: 240, audio: false });

  const request = await requestFor(worker, videoId);
  const [first, second] = await Promise.all([worker.submit(request), worker.submit(request)]);
  t.equal(first.jobId, second.jobId, 'concurrent submits with one token make one job');
  t.match(await readRecord(dataDir, first.jobId), { status: 'SUBMITTED', attempts: 0 });
  t.same(
    (await readdir(path.join(dataDir, 'jobs'))).filter((f) => !f.endsWith('.json')),
    [],
    'no temp files left behind',
  );
  t.same(events, [], 'nothing runs before start');

  await worker.start();
  await worker.idle();
  t.same(
    events.map((e) => e.detail.status).filter((s) => s !== 'STATUS_UPDATE'),
    ['PROGRESSING', 'COMPLETE'],
  );
});

t.test('a portrait, rotated, silent clip is encoded upright without audio', async (t) => {
  const { worker, events } = await harness(t);
  const videoId = newVideoId();
  await uploadClip(videoId, { seconds: 2, width: 640, height: 360, audio: false, rotate: 90 });
  await worker.submit(await requestFor(worker, videoId));
  await worker.idle();
  assertValidEvents(t, events);
  const complete = events.at(-1)!;
  t.equal(complete.detail.status, 'COMPLETE');
  t.match(complete.detail.outputGroupDetails?.[0]?.outputDetails, [{ videoDetails: { widthInPx: 360, heightInPx: 640 }, durationInMs: 2000 }]);
  const master = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `video-streams/${videoId}/master.m3u8` }));
  t.match(await master.Body!.transformToString(), /RESOLUTION=360x640,FRAME-RATE=30\.000,CODECS="avc1\.[0-9a-f]{6}"\n/);
});

t.test('a source too damaged to decode ends in ERROR with a reason a person can read', async (t) => {
  const { worker, events, dataDir } = await harness(t);
  const videoId = newVideoId();
  await uploadSource(videoId, (await makeSource('corrupt-most', await tempDir(t))).file);
  const { jobId } = await worker.submit(await requestFor(worker, videoId));
  await worker.idle();
  assertValidEvents(t, events);
  t.equal(events.at(-1)?.detail.status, 'ERROR');
  t.match(events.at(-1)!.detail.errorMessage, /^The video is too damaged to convert: (about \d+%|most) of its pictures could not be decoded\.$/);
  t.match(await readRecord(dataDir, jobId), { status: 'ERROR' });
});

t.test('damage in the middle of a source is a NEW_WARNING with its words, then COMPLETE lists it by code', async (t) => {
  const { worker, events } = await harness(t);
  const videoId = newVideoId();
  await uploadSource(videoId, (await makeSource('corrupt-middle', await tempDir(t))).file);
  await worker.submit(await requestFor(worker, videoId));
  await worker.idle();
  assertValidEvents(t, events);
  const warning = events.find((e) => e.detail.status === 'NEW_WARNING');
  t.match(warning?.detail, {
    warningCode: 'LOCAL_DECODE_DAMAGE',
    warningMessage: /^Part of the video is damaged: \d+ pictures? .*could not be decoded and may show as glitches\.$/,
  });
  t.match(events.at(-1)?.detail, { status: 'COMPLETE', warnings: [{ code: 'LOCAL_DECODE_DAMAGE', count: 1 }] });
  t.ok(events.indexOf(warning!) < events.length - 1, 'the warning comes before COMPLETE');
});

t.test('a missing upload ends in ERROR 1010 saying the file was not found', async (t) => {
  const { worker, events } = await harness(t);
  await worker.submit(await requestFor(worker, newVideoId()));
  await worker.idle();
  t.match(events.at(-1)!.detail, { status: 'ERROR', errorCode: 1010, errorMessage: 'The uploaded file was not found' });
});

t.test('a final state a crash left unpublished is published at the next start, once; half-written records are removed', async (t) => {
  const first = await harness(t);
  const videoId = newVideoId();
  await uploadClip(videoId, { seconds: 1, width: 320, height: 240, audio: false });
  const { jobId } = await first.worker.submit(await requestFor(first.worker, videoId));
  await first.worker.idle();
  await first.worker.stop();
  // What SIGKILL between the record's write and the publication leaves ('job-complete' in the
  // chaos run): the final state and its event on disk, not yet published; and a save cut short.
  const record = await readRecord(first.dataDir, jobId);
  t.match(record, { status: 'COMPLETE', finalEventPublished: true, finalEvent: { detail: { status: 'COMPLETE', jobId } } });
  await writeFile(path.join(first.dataDir, 'jobs', `${jobId}.json`), JSON.stringify({ ...record, finalEventPublished: false }));
  await writeFile(path.join(first.dataDir, 'jobs', `${jobId}.json.1234.cut-short.tmp`), '{"jobId":');

  const second = await harness(t, { dataDir: first.dataDir });
  await second.worker.idle();
  t.same(
    second.events.map((event) => [event.detail.jobId, event.detail.status]),
    [[jobId, 'COMPLETE']],
    'published once, by the next start, without running the job again',
  );
  t.same(second.events[0], record.finalEvent, 'the event as it was recorded with the state');
  t.match(await readRecord(first.dataDir, jobId), { finalEventPublished: true });
  t.same(
    (await readdir(path.join(first.dataDir, 'jobs'))).filter((name) => name.endsWith('.tmp')),
    [],
    'the cut-short save is gone',
  );

  const third = await harness(t, { dataDir: first.dataDir });
  await third.worker.idle();
  t.same(third.events, [], 'a published final event is not published again');
});

t.test('jobs run one at a time with the default concurrency', async (t) => {
  const { worker, events } = await harness(t);
  const ids = [newVideoId(), newVideoId()];
  for (const id of ids) await uploadClip(id, { seconds: 1, width: 320, height: 240, audio: true });
  const requests = await Promise.all(ids.map((id) => requestFor(worker, id)));
  const jobs = await Promise.all(requests.map((request) => worker.submit(request)));
  t.not(jobs[0]!.jobId, jobs[1]!.jobId);
  await worker.idle();
  const milestones = events.filter((e) => e.detail.status !== 'STATUS_UPDATE').map((e) => `${e.detail.userMetadata.videoId} ${e.detail.status}`);
  t.same(milestones, [`${ids[0]} PROGRESSING`, `${ids[0]} COMPLETE`, `${ids[1]} PROGRESSING`, `${ids[1]} COMPLETE`]);
});

t.test('a job stopped mid-transcode is finished by the next worker on the same data dir', async (t) => {
  // Read at real time, as MediaConvert takes about that long: still encoding when stopped.
  const first = await harness(t, { speedLimit: 1 });
  const videoId = newVideoId();
  // 4:4:4 is encoded (a 4:2:0 H.264 source of this size would only be packaged, in a blink).
  await uploadClip(videoId, { seconds: 6, width: 640, height: 360, audio: true, pixelFormat: 'yuv444p' });

  const request = await requestFor(first.worker, videoId);
  const { jobId } = await first.worker.submit(request);
  while (!first.events.some((e) => e.detail.status === 'STATUS_UPDATE')) await new Promise((r) => setTimeout(r, 20));
  await first.worker.stop();
  t.notOk(
    first.events.some((e) => e.detail.status === 'COMPLETE' || e.detail.status === 'ERROR'),
    'no outcome yet',
  );
  t.match(await readRecord(first.dataDir, jobId), { status: 'PROGRESSING', attempts: 1, stopsOnPurpose: 1 }, 'a stop on purpose is no strike against the job');
  const leftovers = (await readdir(tmpdir())).filter((name) => name.startsWith(`transcode-${jobId}-`));
  t.same(leftovers, [], 'the interrupted attempt cleaned up its temp dir');

  const second = await harness(t, { dataDir: first.dataDir });
  await second.worker.idle();
  assertValidEvents(t, second.events);
  t.equal(second.events[0]?.detail.status, 'PROGRESSING');
  t.match(second.events.at(-1), { detail: { status: 'COMPLETE', jobId } });
  t.match(await readRecord(first.dataDir, jobId), { status: 'COMPLETE', attempts: 2 });
  t.equal((await second.worker.submit(request)).jobId, jobId, 'the token still maps to the job');
});

/** A submitted job whose record says what earlier runs left (`left`), and a worker starting on it. */
async function restartOn(t: Test, left: Partial<JobRecord>): Promise<{ jobId: string; dataDir: string; second: Harness }> {
  const first = await harness(t, { start: false });
  const videoId = newVideoId();
  await uploadClip(videoId, { seconds: 1, width: 320, height: 240, audio: false });
  const { jobId } = await first.worker.submit(await requestFor(first.worker, videoId));
  const record = await readRecord(first.dataDir, jobId);
  await writeFile(path.join(first.dataDir, 'jobs', `${jobId}.json`), JSON.stringify({ ...record, status: 'PROGRESSING', ...left }));
  return { jobId, dataDir: first.dataDir, second: await harness(t, { dataDir: first.dataDir }) };
}

t.test(`a job interrupted ${MAX_ATTEMPTS} times ends in ERROR instead of running forever`, async (t) => {
  // As if three earlier runs had each been killed mid-transcode.
  const { jobId, dataDir, second } = await restartOn(t, { attempts: MAX_ATTEMPTS });
  await second.worker.idle();
  assertValidEvents(t, second.events);
  t.same(
    second.events.map((e) => e.detail.status),
    ['ERROR'],
  );
  t.match(second.events[0]!.detail, { errorMessage: INTERRUPTED_TOO_OFTEN, jobId });
  t.match(await readRecord(dataDir, jobId), { status: 'ERROR', attempts: MAX_ATTEMPTS });
});

t.test(`a job stopped on purpose ${MAX_ATTEMPTS} times still runs: only crashes count`, async (t) => {
  const { jobId, second } = await restartOn(t, { attempts: MAX_ATTEMPTS, stopsOnPurpose: MAX_ATTEMPTS });
  await second.worker.idle();
  t.match(second.events.at(-1)!.detail, { status: 'COMPLETE', jobId });
});

t.test('publishing is retried, and a publisher that keeps failing never stops the job', async (t) => {
  const videoId = newVideoId();
  await uploadClip(videoId, { seconds: 1, width: 320, height: 240, audio: false });
  let calls = 0;
  const delivered: string[] = [];
  // Retried at once: what is tested is that a failed publish is tried again, not p-retry's waits.
  const publishRetry = { retries: 3, minTimeoutMs: 1, factor: 1 };
  const flaky = await harness(t, {
    publishRetry,
    publish: async (event) => {
      if (++calls % 2 === 1) throw new Error('event bus unavailable');
      delivered.push(event.detail.status);
    },
  });
  const { jobId } = await flaky.worker.submit(await requestFor(flaky.worker, videoId));
  await flaky.worker.idle();
  t.equal(delivered[0], 'PROGRESSING');
  t.equal(delivered.at(-1), 'COMPLETE', 'every event got through on a retry');

  const otherId = newVideoId();
  await uploadClip(otherId, { seconds: 1, width: 320, height: 240, audio: false });
  const broken = await harness(t, {
    publishRetry,
    publish: async () => {
      throw new Error('event bus gone');
    },
  });
  const other = await broken.worker.submit(await requestFor(broken.worker, otherId));
  await broken.worker.idle();
  t.match(await readRecord(broken.dataDir, other.jobId), { status: 'COMPLETE' });
  t.ok(
    broken.logged.some((l) => l.level === 'error' && /Could not publish/.test(l.message)),
    'the lost event is logged',
  );
  t.not(other.jobId, jobId);
});

t.test('the HTTP front and its client', async (t) => {
  const { worker, dataDir } = await harness(t, { start: false, logger: silent });
  const token = 'a-stack-secret-of-at-least-32-characters';
  const server = await startTranscodeWorkerServer({ worker, token, host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close());
  const withToken = { [WORKER_TOKEN_HEADER]: token };
  const videoId = newVideoId();
  await uploadClip(videoId, { seconds: 1, width: 320, height: 240, audio: false });
  const request = await requestFor(worker, videoId);
  const inspect = async () => {
    throw new Error('not inspected here');
  };

  t.test('POST /jobs answers 201 with the job id, the same one for the same token', async (t) => {
    const post = () =>
      fetch(`${server.url}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...withToken },
        body: JSON.stringify(request),
      });
    const first = await post();
    t.equal(first.status, 201);
    const { jobId } = (await first.json()) as { jobId: string };
    t.match(await readRecord(dataDir, jobId), { status: 'SUBMITTED', request });
    t.same(await (await post()).json(), { jobId });
  });

  t.test('a bad body gets 400 problem+json naming the field', async (t) => {
    const response = await fetch(`${server.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...withToken },
      body: JSON.stringify({ ...request, sourceKey: 42 }),
    });
    t.equal(response.status, 400);
    t.equal(response.headers.get('content-type'), 'application/problem+json');
    t.match(await response.json(), { status: 400, title: 'Bad Request', detail: /\/sourceKey/ });

    const notJson = await fetch(`${server.url}/jobs`, { method: 'POST', headers: withToken, body: '{' });
    t.equal(notJson.status, 400);
    t.match(await notJson.json(), { detail: 'The request body is not valid JSON' });

    const badPlan = await fetch(`${server.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...withToken },
      body: JSON.stringify({ ...request, plan: { ...request.plan, audioLayout: 'surround' } }),
    });
    t.equal(badPlan.status, 400, 'the plan is checked against its schema too');
    t.match(await badPlan.json(), { detail: /\/plan\/audioLayout/ });
  });

  t.test("POST /2017-08-29/probe answers the SDK's Probe in MediaConvert's own shape", async (t) => {
    const client = new MediaConvertClient({ endpoint: server.url, region: REGION, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    sendWorkerToken(client, token);
    t.teardown(() => client.destroy());
    const model = loadServiceModel('mediaconvert');
    const dir = await tempDir(t);
    const answers: Record<string, unknown> = {};
    for (const kind of ['two-languages', 'hlg', 'interlaced', 'audio-mp3', 'still-png'] as const) {
      const key = await uploadSource(`${videoId}-${kind}`, (await makeSource(kind, dir)).file);
      const response = await client.send(new ProbeCommand({ InputFiles: [{ FileUrl: `s3://${BUCKET}/${key}` }] }));
      const { $metadata: _metadata, ...output } = response;
      t.same(validateOperationOutput(model, 'Probe', output), [], `${kind}: the answer fits the API model`);
      answers[kind] = response.ProbeResults?.[0];
    }
    t.match(answers['two-languages'], {
      Container: {
        Format: 'mp4',
        Duration: Number,
        Tracks: [
          {
            Index: 1,
            TrackType: 'video',
            Codec: 'AVC',
            VideoProperties: { Width: 640, Height: 360, CodecMetadata: { Profile: String, ScanType: 'progressive', ChromaSubsampling: '4:2:0', BitDepth: 8 } },
          },
          { Index: 2, TrackType: 'audio', Codec: 'AAC', AudioProperties: { Channels: 1, SampleRate: 48_000, LanguageCode: 'eng' } },
          { Index: 3, TrackType: 'audio', Codec: 'AAC', AudioProperties: { Channels: 1, SampleRate: 44_100, LanguageCode: 'fra' } },
        ],
      },
      Metadata: { MimeType: 'video/mp4', FileSize: Number, LastModified: Date },
      TrackMappings: [{ VideoTrackIndexes: [1], AudioTrackIndexes: [2, 3] }],
    });
    t.match(answers.hlg, {
      Container: { Tracks: [{ Codec: 'HEVC', VideoProperties: { TransferCharacteristics: 'ARIB_B67', ColorPrimaries: 'ITU_2020', BitDepth: 10 } }] },
    });
    t.match(answers.interlaced, { Container: { Tracks: [{ VideoProperties: { CodecMetadata: { ScanType: 'interlaced' } } }] } });
    t.match(answers['audio-mp3'], { Container: { Tracks: [{ TrackType: 'audio', Codec: 'MP3' }] } });
    t.notOk((answers['audio-mp3'] as { Container: { Format?: string } }).Container.Format, 'a format Probe does not name is blank');
    t.match(answers['still-png'], { Metadata: { MimeType: 'image/png' } });

    await t.rejects(client.send(new ProbeCommand({ InputFiles: [{ FileUrl: `s3://${BUCKET}/uploads/nothing/source` }] })), {
      name: 'NotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    await t.rejects(client.send(new ProbeCommand({ InputFiles: [{ FileUrl: 's3://another-bucket/uploads/x/source' }] })), { name: 'BadRequestException' });
  });

  t.test('other routes and methods are refused', async (t) => {
    t.equal((await fetch(`${server.url}/nope`, { headers: withToken })).status, 404);
    t.equal((await fetch(`${server.url}/jobs`, { method: 'PUT', headers: withToken })).status, 405);
    const undecodable = await fetch(`${server.url}/jobs/%E0%A4%A`, { headers: withToken });
    t.equal(undecodable.status, 400, 'a path that does not percent-decode');
    t.equal(undecodable.headers.get('content-type'), 'application/problem+json');
  });

  t.test('a body over 256 KiB is refused: 413 on /jobs, BadRequestException on Probe', async (t) => {
    const body = JSON.stringify({ ...request, padding: 'x'.repeat(256 * 1024) });
    const headers = { 'content-type': 'application/json', ...withToken };
    const job = await fetch(`${server.url}/jobs`, { method: 'POST', headers, body });
    t.equal(job.status, 413);
    t.match(await job.json(), { title: 'Payload Too Large', detail: 'The request body is too large' });
    const probe = await fetch(`${server.url}/2017-08-29/probe`, { method: 'POST', headers, body });
    t.equal(probe.status, 400);
    t.equal(probe.headers.get('x-amzn-errortype'), 'BadRequestException');
    t.same(await probe.json(), { message: 'The request body is too large' });
  });

  t.test('nobody but its own stack may use it: every route answers 401 without the token', async (t) => {
    const jobsBefore = (await readdir(path.join(dataDir, 'jobs'))).length;
    const intruders: Array<Record<string, string>> = [
      {},
      { [WORKER_TOKEN_HEADER]: 'guessed' },
      { [WORKER_TOKEN_HEADER]: `${token}x` },
      { authorization: `Bearer ${token}` },
    ];
    for (const headers of intruders) {
      const attempts = [
        fetch(`${server.url}/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ ...request, clientRequestToken: 'intruder' }),
        }),
        fetch(`${server.url}/jobs?videoId=${videoId}&since=1970-01-01T00:00:00Z`, { headers }),
        fetch(`${server.url}/jobs/anything`, { headers }),
        fetch(`${server.url}/jobs/anything/cancel`, { method: 'POST', headers }),
        fetch(`${server.url}/2017-08-29/probe`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ inputFiles: [{ fileUrl: `s3://${BUCKET}/${request.sourceKey}` }] }),
        }),
      ];
      for (const response of await Promise.all(attempts)) {
        t.equal(response.status, 401, `${response.url} with ${JSON.stringify(Object.keys(headers))}`);
        t.match(await response.json(), { title: 'Unauthorized' });
      }
    }
    t.equal((await readdir(path.join(dataDir, 'jobs'))).length, jobsBefore, 'no job was recorded');
    const sdk = new MediaConvertClient({ endpoint: server.url, region: REGION, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    t.teardown(() => sdk.destroy());
    const refused = await sdk.send(new ProbeCommand({ InputFiles: [{ FileUrl: `s3://${BUCKET}/${request.sourceKey}` }] })).catch((error: unknown) => error);
    t.match(refused, { $metadata: { httpStatusCode: 401 } }, 'a MediaConvert client without the token');
  });

  t.test('the app-side transcoder submits through it, finds, reads and cancels the job', async (t) => {
    const transcoder = createFfmpegWorkerTranscoder({ endpoint: server.url, token, inspect });
    const other = newVideoId();
    const before = new Date(Date.now() - 1000);
    const { jobId } = await transcoder.submit({ ...request, videoId: other, clientRequestToken: `token-${other}` });
    t.match(await readRecord(dataDir, jobId), { request: { videoId: other } });
    t.same(await transcoder.findJob(other, before), { jobId }, 'found by its video');
    t.equal(await transcoder.findJob(other, new Date(Date.now() + 60_000)), undefined, 'not among later jobs');
    t.equal(await transcoder.findJob(newVideoId(), before), undefined, 'another video has none');
    t.same(await transcoder.getJob(jobId), { finished: false }, 'queued: the worker is not started');
    // The worker answers as MediaConvert's GetJob, in its event's shape; the app reads it with MediaConvert's adapter.
    const raw = await fetch(`${server.url}/jobs/${jobId}`, { headers: { [WORKER_TOKEN_HEADER]: token } });
    t.match(await raw.json(), { detail: { jobId, status: 'SUBMITTED', userMetadata: { videoId: other } } });
    t.equal(await transcoder.getJob('1700000000000-nojob'), undefined);
    await transcoder.cancel(jobId);
    t.same(await transcoder.getJob(jobId), { finished: true, update: { type: 'canceled', videoId: other, jobId } }, 'canceled before it started');
    t.match(await readRecord(dataDir, jobId), { status: 'CANCELED', finalEventPublished: true });
    await transcoder.cancel(jobId);
    await transcoder.cancel('1700000000000-nojob');
    t.pass('cancelling a finished or unknown job is a no-op');
  });

  t.test('the app-side transcoder throws a clear error on a refusal or when the worker is down', async (t) => {
    const transcoder = createFfmpegWorkerTranscoder({ endpoint: server.url, token, inspect });
    await t.rejects(transcoder.submit({ ...request, clientRequestToken: 'another', videoId: '' }), {
      name: 'JobRefusedError',
      message: /refused the job .*: 400 Invalid transcode job request: \/videoId/,
    });
    const down = createFfmpegWorkerTranscoder({ endpoint: 'http://127.0.0.1:1', token, inspect });
    await t.rejects(down.submit(request), {
      name: 'TranscoderSubmitError',
      message: /Could not reach the ffmpeg transcode worker at http:\/\/127\.0\.0\.1:1 to submit a job/,
    });
  });
});

async function getText(key: string): Promise<string> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return object.Body!.transformToString();
}

const extinfs = (playlist: string) => [...playlist.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));

/** The first video timestamp of every segment of a rendition, read from the bucket over HTTP. */
async function segmentStarts(prefix: string, rendition: string): Promise<number[]> {
  const playlist = await getText(`${prefix}${rendition}/index.m3u8`);
  const starts: number[] = [];
  for (const uri of playlist.split('\n').filter((line) => line.endsWith('.ts'))) {
    starts.push(await firstVideoTimestamp(`${s3Url}/${BUCKET}/${prefix}${rendition}/${uri}`));
  }
  return starts;
}

/** MD5 of every decoded video frame, timestamps left out: equal lists mean the same pictures. */
async function frameHashes(input: string): Promise<string[]> {
  const { execFile } = await import('node:child_process');
  const out = await new Promise<string>((resolve, reject) =>
    execFile('ffmpeg', ['-v', 'error', '-i', input, '-map', '0:v:0', '-f', 'framehash', '-hash', 'md5', '-'], { maxBuffer: 64 * 1024 * 1024 }, (e, stdout) =>
      e ? reject(e) : resolve(stdout),
    ),
  );
  return out
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => line.split(',').at(-1)!.trim());
}

t.test('an H.264/AAC source is packaged as its top rendition; the encoded rungs cut at the same frames', async (t) => {
  const { worker, events } = await harness(t);
  const videoId = newVideoId();
  // Keyframes every 3 s: the packaged segments start at 0, 6 and 9 s (the first keyframe at or
  // after each 4 s), not on a 4 s grid, and the encoded 360p must follow them.
  const clip = await makeClip({ seconds: 10, width: 1280, height: 720, audio: true, keyframeSeconds: 3, videoBitrate: 2_000_000 });
  await uploadSource(videoId, clip);
  await worker.submit(await requestFor(worker, videoId));
  await worker.idle();
  assertValidEvents(t, events);
  t.equal(events.at(-1)?.detail.status, 'COMPLETE');

  const prefix = `video-streams/${videoId}/`;
  const master = await getText(`${prefix}master.m3u8`);
  t.match(
    master,
    /^#EXT-X-STREAM-INF:[^\n]*RESOLUTION=1280x720,FRAME-RATE=30\.000,CODECS="avc1\.42e0[0-9a-f]{2},mp4a\.40\.2"\n720p\/index\.m3u8$/m,
    'the master lists the packaged rendition with the source profile in CODECS',
  );
  t.match(master, /^#EXTM3U\n#EXT-X-VERSION:6\n/, 'the same EXT-X-VERSION as the media playlists');
  const top = await getText(`${prefix}720p/index.m3u8`);
  t.match(top, /^#EXTM3U\n#EXT-X-VERSION:6\n/);
  t.same(extinfs(top), [6, 3, 1], 'the packaged rendition cuts at the source keyframes');
  t.match(top, /#EXT-X-PLAYLIST-TYPE:VOD\n[\s\S]*#EXT-X-ENDLIST\n$/);
  const topStarts = await segmentStarts(prefix, '720p');
  for (const rung of ['540p', '360p']) {
    t.same(extinfs(await getText(`${prefix}${rung}/index.m3u8`)), extinfs(top), `the encoded ${rung} cuts at the same instants`);
    t.same(await segmentStarts(prefix, rung), topStarts, `and at the same timestamps (${topStarts.join(', ')})`);
  }

  const [sourceFrames, packagedFrames] = await Promise.all([frameHashes(clip), frameHashes(`${s3Url}/${BUCKET}/${prefix}720p/index.m3u8`)]);
  t.equal(packagedFrames.length, 300);
  t.same(packagedFrames, sourceFrames, 'the top rendition is the source, not re-encoded');
  const probed = await ffprobeJson(`${s3Url}/${BUCKET}/${prefix}360p/index.m3u8`);
  t.match(
    probed.streams.find((s) => s.codec_type === 'video'),
    { codec_name: 'h264', profile: 'High', width: 640, height: 360 },
  );

  const bandwidths = [...master.matchAll(/BANDWIDTH=(\d+),AVERAGE-BANDWIDTH=(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]);
  t.equal(bandwidths.length, 3);
  t.ok(
    bandwidths.every(([peak, average]) => peak! >= average! && average! > 0),
    `BANDWIDTH is the peak, at least the average: ${JSON.stringify(bandwidths)}`,
  );
  t.ok(master.indexOf('720p/index.m3u8') < master.indexOf('360p/index.m3u8'), 'largest first');
  t.same(await listKeys(prefix), [
    '360p/index.m3u8',
    '360p/segment_00000.ts',
    '360p/segment_00001.ts',
    '360p/segment_00002.ts',
    '540p/index.m3u8',
    '540p/segment_00000.ts',
    '540p/segment_00001.ts',
    '540p/segment_00002.ts',
    '720p/index.m3u8',
    '720p/segment_00000.ts',
    '720p/segment_00001.ts',
    '720p/segment_00002.ts',
    'master.m3u8',
    'poster.0000000.jpg',
  ]);
});

t.test('any other source is encoded by one command for the whole ladder, its poster from the smallest rendition', async (t) => {
  const { worker, events, logged } = await harness(t);
  const videoId = newVideoId();
  // 4:4:4 cannot be packaged for browsers.
  await uploadClip(videoId, { seconds: 12, width: 1280, height: 720, audio: true, fps: 15, pixelFormat: 'yuv444p' });
  await worker.submit(await requestFor(worker, videoId));
  await worker.idle();
  assertValidEvents(t, events);
  t.ok(
    logged.some((l) => /Encoding every rendition: its H\.264 profile is High 4:4:4/.test(l.message)),
    'says why it encodes',
  );
  t.equal(events.at(-1)?.detail.status, 'COMPLETE');
  t.same(
    events.at(-1)?.detail.outputGroupDetails?.[0]?.outputDetails.map((o) => o.videoDetails),
    [
      { widthInPx: 1280, heightInPx: 720 },
      { widthInPx: 960, heightInPx: 540 },
      { widthInPx: 640, heightInPx: 360 },
    ],
  );

  t.match(
    events.at(-1)?.detail.outputGroupDetails?.[1],
    { type: 'FILE_GROUP', outputDetails: [{ videoDetails: { widthInPx: 640, heightInPx: 360 } }] },
    'a poster at the smallest rendition size',
  );

  const prefix = `video-streams/${videoId}/`;
  t.match(
    await getText(`${prefix}master.m3u8`),
    /RESOLUTION=640x360,FRAME-RATE=15\.000,CODECS="avc1\.6400[0-9a-f]{2},mp4a\.40\.2"\n360p\/index\.m3u8\n$/,
    'encoded (High profile), the smallest rendition last',
  );
  const final = await getText(`${prefix}360p/index.m3u8`);
  t.match(final, /#EXT-X-PLAYLIST-TYPE:VOD\n/, 'listed only once ended');
  t.notMatch(final, /#EXT-X-START/);
  t.match(final, /#EXT-X-ENDLIST\n$/);
  t.same(extinfs(final), [4, 4, 4]);
  t.same(extinfs(await getText(`${prefix}720p/index.m3u8`)), [4, 4, 4]);
});

t.test('a source with keyframes too far apart to stream well is encoded, not packaged, as its sample table shows', async (t) => {
  const { worker, events, logged } = await harness(t);
  const videoId = newVideoId();
  await uploadClip(videoId, { seconds: 9, width: 640, height: 360, audio: false, keyframeSeconds: 30, videoBitrate: 500_000 });
  await worker.submit(await requestFor(worker, videoId));
  await worker.idle();
  assertValidEvents(t, events);
  t.equal(events.at(-1)?.detail.status, 'COMPLETE');
  t.ok(
    logged.some((l) => /Encoding every rendition: its keyframes are too far apart \(a segment of 9\.0 s; at most 6 s\)/.test(l.message)),
    'says why',
  );
  const playlist = await getText(`video-streams/${videoId}/360p/index.m3u8`);
  t.same(extinfs(playlist), [4, 4, 1], "the ladder's own 4 s segments");
  t.notMatch(await getText(`video-streams/${videoId}/master.m3u8`), /avc1\.42/, 'encoded (High profile), not the source');
});
