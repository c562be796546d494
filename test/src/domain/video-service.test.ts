/**
 * The video domain on its own (src/domain/video-service.ts): the state machine of a video from its
 * upload to ready or failed, with duplicate, late and out-of-order events, visibility, playback,
 * delete and uploads in parts. The catalog is the in-memory one that keeps the DynamoDB adapter's
 * semantics (test/src/adapters/dynamodb/video-catalog.test.ts holds them equal), storage an in-memory bucket, the
 * transcoder a recorder, and time an injected clock: nothing sleeps and no server runs. The same
 * handlers on the real local stand-ins are test/events/handlers.test.ts and test/e2e/.
 */
import t from 'tap';
import { createVideoService, type Viewer } from '../../../src/domain/video-service.ts';
import type { VideoCatalog } from '../../../src/domain/ports/video-catalog.ts';
import type { Transcoder, TranscodeJobRequest } from '../../../src/domain/ports/transcoder.ts';
import type { SourceMedia } from '../../../src/schemas/transcode.ts';
import type { TranscodeUpdate } from '../../../src/schemas/transcode-update.ts';
import type { CreateUploadRequest } from '../../../src/schemas/upload.ts';
import { SINGLE_PUT_LIMIT_BYTES } from '../../../src/schemas/upload.ts';
import { JobRefusedError, SourceRejectedError } from '../../../src/domain/errors.ts';
import { masterPlaylistKey, sourceKey } from '../../../src/domain/storage-layout.ts';
import { MultipartCompletionRefusedError, ObjectsNotDeletedError } from '../../../src/domain/ports/video-storage.ts';
import { REDACTED } from '../../../src/shared/redact.ts';
import type { FastStarter, FastStartRequest } from '../../../src/domain/ports/fast-starter.ts';
import { FAST_START_MARGIN_SECONDS } from '../../../src/domain/transcode-plan.ts';
import { createMemoryCatalog } from '../../helpers/memory-catalog.ts';
import { createMemoryStorage } from '../../helpers/memory-storage.ts';
import { webReadyClip } from '../../helpers/sources.ts';

const MiB = 1024 ** 2;
const alice: Viewer = { userId: 'alice' };
const bob: Viewer = { userId: 'bob' };
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

const podcast: SourceMedia = { container: 'mp4', durationSeconds: 60, audio: [{ track: 1, codec: 'aac', channels: 2 }] };

/** The master playlist of the 1080p/720p/360p ladder the MediaConvert fixtures describe. */
const MASTER = [
  '#EXTM3U',
  '#EXT-X-STREAM-INF:BANDWIDTH=5000000,RESOLUTION=1920x1080',
  '1080p/index.m3u8',
  '#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720',
  '720p/index.m3u8',
  '#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360',
  '360p/index.m3u8',
  '',
].join('\n');
const LADDER = [
  { name: '1080p', width: 1920, height: 1080, bandwidth: 5_000_000 },
  { name: '720p', width: 1280, height: 720, bandwidth: 2_500_000 },
  { name: '360p', width: 640, height: 360, bandwidth: 800_000 },
];

/** What an update of `type` carries besides its type, video and job (the job is the video's own unless given). */
type UpdateFields = {
  [K in TranscodeUpdate['type']]: Omit<Extract<TranscodeUpdate, { type: K }>, 'type' | 'videoId' | 'jobId'> & { jobId?: string };
};
/** An update of the job the recorder transcoder makes for this video (`job-{videoId}`). */
function jobUpdate<K extends TranscodeUpdate['type']>(
  type: K,
  videoId: string,
  ...[fields]: object extends UpdateFields[K] ? [UpdateFields[K]?] : [UpdateFields[K]]
): Extract<TranscodeUpdate, { type: K }> {
  return { type, videoId, jobId: `job-${videoId}`, ...fields } as Extract<TranscodeUpdate, { type: K }>;
}

/** One world: a fresh catalog, bucket, transcoder and clock, and the service over them. */
function setup(options: { catalog?: VideoCatalog } = {}) {
  let clock = new Date(T0);
  const now = () => clock;
  let ids = 0;
  const catalog = options.catalog ?? createMemoryCatalog();
  const storage = createMemoryStorage({ now });

  const submitted: TranscodeJobRequest[] = [];
  const canceled: string[] = [];
  /** Jobs the transcoder made, for findJob (a job made by a try that crashed before recording it). */
  const made: Array<{ videoId: string; jobId: string; createdAt: Date }> = [];
  const transcoderState: { source: SourceMedia | Error; submitError?: Error } = { source: webReadyClip };
  const transcoder: Transcoder = {
    async inspect() {
      if (transcoderState.source instanceof Error) throw transcoderState.source;
      return transcoderState.source;
    },
    async submit(request) {
      const error = transcoderState.submitError;
      transcoderState.submitError = undefined;
      if (error) throw error;
      submitted.push(request);
      // Same token, same job: MediaConvert's ClientRequestToken.
      const jobId = `job-${request.clientRequestToken}`;
      if (!made.some((job) => job.jobId === jobId)) made.push({ videoId: request.videoId, jobId, createdAt: now() });
      return { jobId };
    },
    async getJob() {
      return undefined;
    },
    async findJob(videoId, since) {
      const job = made.find((candidate) => candidate.videoId === videoId && candidate.createdAt >= since);
      return job && { jobId: job.jobId };
    },
    async cancel(jobId) {
      canceled.push(jobId);
    },
  };
  const signed: Array<{ videoId: string; durationSeconds?: number; now: Date }> = [];

  /**
   * What fast start was asked for; it lists the first line of the ladder's master (unless the
   * ladder was first), then goes on "encoding": `afterListing` runs before it resolves.
   */
  const fastStarts: FastStartRequest[] = [];
  const fastStarterState: { ladderFirst?: boolean; whilePublishing?: () => Promise<void>; afterListing?: () => Promise<void> } = {};
  const fastStarter: FastStarter = {
    async publish(request) {
      fastStarts.push(request);
      await fastStarterState.whilePublishing?.();
      storage.put(`video-streams/${request.videoId}/fast-start/360p/segment_00000.ts`, 'ts');
      if (fastStarterState.ladderFirst) return undefined;
      storage.put(masterPlaylistKey(request.videoId), MASTER.split('\n').slice(0, 3).join('\n'));
      const news = { type: 'renditions-published' as const, videoRenditions: 1 };
      await request.onListed(news);
      await fastStarterState.afterListing?.();
      return news;
    },
  };

  const serviceOptions = {
    catalog,
    storage,
    transcoder,
    fastStarter,
    playback: {
      async signManifest(input: { videoId: string; durationSeconds?: number; now: Date }) {
        signed.push(input);
        return { manifestUrl: `https://cdn.test/video-streams/${input.videoId}/master.m3u8?Signature=s`, expiresAt: new Date(input.now.getTime() + 3_600_000) };
      },
    },
    maxUploadBytes: 256 * 1024 ** 3,
    uploadUrlTtlSeconds: 900,
    multipart: { thresholdBytes: 64 * MiB, partBytes: 5 * MiB, uploadTtlSeconds: 86_400 },
    now,
    // Shaped like randomUUID's ids (cursors carry them), in the order they are made.
    newVideoId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
  };
  const videos = createVideoService(serviceOptions);

  const request = (overrides: Partial<CreateUploadRequest> = {}): CreateUploadRequest => ({
    title: 'Holiday',
    filename: 'holiday.mp4',
    contentType: 'video/mp4',
    sizeBytes: 10 * MiB,
    ...overrides,
  });
  /** A video registered for one PUT, a second after the last one (each has its own createdAt). */
  async function upload(viewer: Viewer = alice, overrides: Partial<CreateUploadRequest> = {}) {
    clock = new Date(clock.getTime() + 1000);
    return (await videos.requestUpload(viewer, request(overrides))).videoId;
  }
  /** The source arrives and its notification is handled. */
  async function arrive(videoId: string) {
    storage.put(sourceKey(videoId), 'bytes');
    return videos.handleSourceUploaded({ key: sourceKey(videoId), sequencer: `seq-${videoId}` });
  }
  /** A video whose job was submitted and recorded. */
  async function processing(viewer: Viewer = alice) {
    const videoId = await upload(viewer);
    await arrive(videoId);
    return videoId;
  }
  /** A ready video: its outputs are written and its job's completion applied. */
  async function ready(viewer: Viewer = alice) {
    const videoId = await processing(viewer);
    storage.put(masterPlaylistKey(videoId), MASTER);
    await videos.applyTranscodeUpdate(jobUpdate('complete', videoId, { durationSeconds: 180.041 }));
    return videoId;
  }
  const read = async (videoId: string) => (await catalog.get(videoId))!;

  return {
    videos,
    catalog,
    storage,
    transcoder,
    transcoderState,
    submitted,
    canceled,
    signed,
    fastStarts,
    fastStarterState,
    options: serviceOptions,
    now,
    advance: (seconds: number) => void (clock = new Date(clock.getTime() + seconds * 1000)),
    request,
    upload,
    arrive,
    processing,
    ready,
    read,
  };
}

t.test('requestUpload', async (t) => {
  t.test('registers a video awaiting one PUT of its source, for the URL lifetime', async (t) => {
    const { videos, read, now } = setup();
    const created = await videos.requestUpload(alice, { title: 'Holiday', filename: 'holiday.mp4', contentType: 'video/mp4', sizeBytes: 1234 });
    t.match(created, {
      videoId: '00000000-0000-4000-8000-000000000001',
      upload: { method: 'PUT', headers: { 'Content-Type': 'video/mp4', 'If-None-Match': '*' }, expiresAt: '2026-01-01T00:15:00.000Z' },
    });
    t.match(created.upload, { url: /uploads\/00000000-0000-4000-8000-000000000001\/source\?/ });
    t.same(await read(created.videoId), {
      videoId: created.videoId,
      title: 'Holiday',
      ownerId: 'alice',
      filename: 'holiday.mp4',
      contentType: 'video/mp4',
      sizeBytes: 1234,
      createdAt: now().toISOString(),
      updatedAt: now().toISOString(),
      status: 'awaiting_upload',
      sortKey: `${now().toISOString()}#${created.videoId}`,
      ownerStatus: 'alice#awaiting_upload',
    });
  });

  t.test('above the threshold, or when asked, an upload in parts: S3 upload first, then the record naming it', async (t) => {
    const { videos, read, storage } = setup();
    const large = await videos.requestUpload(alice, { title: 'Big', filename: 'big.mov', contentType: 'video/quicktime', sizeBytes: 64 * MiB + 1 });
    if (large.upload.method !== 'multipart') throw new Error('expected an upload in parts');
    t.match(large.upload, {
      uploadId: 'upload-1',
      partSizeBytes: 5 * MiB,
      partCount: 13,
      expiresAt: '2026-01-02T00:00:00.000Z',
      partUrlsExpireAt: '2026-01-01T00:15:00.000Z',
    });
    t.same(
      large.upload.parts.map((part) => part.sizeBytes),
      [...Array(12).fill(5 * MiB), 4 * MiB + 1],
      'the last part is the rest',
    );
    t.same((await read(large.videoId)).multipart, { uploadId: 'upload-1', partSizeBytes: 5 * MiB, partCount: 13, expiresAt: '2026-01-02T00:00:00.000Z' });
    t.equal(storage.uploads.get('upload-1')?.videoId, large.videoId);
    const asked = await videos.requestUpload(alice, { title: 'Small', filename: 's.mp4', contentType: 'video/mp4', sizeBytes: 1000, multipart: true });
    t.match(asked.upload, { method: 'multipart', partCount: 1, parts: [{ partNumber: 1, sizeBytes: 1000 }] });
    const single = await videos.requestUpload(alice, { title: 'One PUT', filename: 'b.mp4', contentType: 'video/mp4', sizeBytes: 100 * MiB, multipart: false });
    t.equal(single.upload.method, 'PUT', "multipart: false keeps one PUT up to S3's limit");
  });

  t.test('refuses what cannot be a video, and sizes over the limits, before anything is made', async (t) => {
    const { videos, catalog, storage, request, options } = setup();
    await t.rejects(videos.requestUpload(alice, request({ sizeBytes: 0 })), { name: 'InvalidInputError', message: /empty/ });
    await t.rejects(videos.requestUpload(alice, request({ contentType: 'image/png' })), {
      name: 'UnsupportedContentTypeError',
      message: /still image \(image\/png\)/,
    });
    await t.rejects(videos.requestUpload(alice, request({ contentType: 'text/plain' })), { name: 'UnsupportedContentTypeError', message: /text file/ });
    await t.rejects(videos.requestUpload(alice, request({ contentType: 'application/pdf' })), {
      name: 'UnsupportedContentTypeError',
      message: /not a video or audio content type/,
    });
    await t.rejects(videos.requestUpload(alice, request({ sizeBytes: options.maxUploadBytes + 1 })), { name: 'UploadTooLargeError' });
    await t.rejects(videos.requestUpload(alice, request({ sizeBytes: SINGLE_PUT_LIMIT_BYTES + 1, multipart: false })), {
      name: 'UploadTooLargeError',
      message: /one PUT/,
    });
    t.equal(storage.uploads.size, 0, 'no S3 upload');
    t.same(await catalog.queryByOwnerStatus('alice', 'awaiting_upload', 10), [], 'no video');
    t.ok(await videos.requestUpload(alice, request({ contentType: 'audio/mpeg' })), 'audio is welcome');
  });
});

t.test('handleSourceUploaded', async (t) => {
  t.test('claims the video, records the intent, submits one job with the plan and records it; a redelivery is a no-op', async (t) => {
    const { upload, arrive, read, submitted, now } = setup();
    const videoId = await upload();
    t.equal(await arrive(videoId), 'applied');
    t.match(await read(videoId), { status: 'processing', jobId: `job-${videoId}`, sourceSequencer: `seq-${videoId}`, jobRequestedAt: now().toISOString() });
    t.notOk((await read(videoId)).audioOnly);
    t.equal(submitted.length, 1);
    t.match(submitted[0], { videoId, sourceKey: sourceKey(videoId), outputPrefix: `video-streams/${videoId}/`, clientRequestToken: videoId });
    t.same(
      submitted[0]!.plan.video?.renditions.map((rendition) => rendition.name),
      ['720p', '540p', '360p'],
    );
    t.equal(await arrive(videoId), 'duplicate');
    t.equal(submitted.length, 1, 'no second job');
  });

  t.test('an audio-only source makes an audio-only video', async (t) => {
    const { upload, arrive, read, transcoderState } = setup();
    transcoderState.source = podcast;
    const videoId = await upload(alice, { contentType: 'audio/mp4' });
    t.equal(await arrive(videoId), 'applied');
    t.match(await read(videoId), { status: 'processing', audioOnly: true });
  });

  t.test('ignores keys that are no source and videos it does not know', async (t) => {
    const { videos, submitted } = setup();
    t.equal(await videos.handleSourceUploaded({ key: 'video-streams/x/master.m3u8', sequencer: '1' }), 'ignored');
    t.equal(await videos.handleSourceUploaded({ key: sourceKey('unknown'), sequencer: '1' }), 'ignored');
    t.equal(submitted.length, 0);
  });

  t.test('a late upload to a deleted video is removed, and nothing is submitted', async (t) => {
    const { videos, upload, arrive, storage, submitted, read } = setup();
    const videoId = await upload();
    await videos.deleteVideo(alice, videoId);
    t.equal(await arrive(videoId), 'applied');
    t.same(storage.keysOf(videoId), []);
    t.equal(submitted.length, 0);
    t.equal((await read(videoId)).status, 'deleted');
  });

  t.test('a source that cannot become a stream fails the video with its reason; no job', async (t) => {
    const { upload, arrive, read, submitted, transcoderState } = setup();
    transcoderState.source = new SourceRejectedError('still-image', 'This is a still image, not a video.');
    const videoId = await upload();
    t.equal(await arrive(videoId), 'applied');
    t.match(await read(videoId), { status: 'failed', error: { code: 'still-image', message: 'This is a still image, not a video.' } });
    t.equal(submitted.length, 0);
    t.equal(await arrive(videoId), 'duplicate', 'redelivered: the failed video stays failed');
  });

  t.test('the plan refuses what the probe found (a still image): the video fails, no job', async (t) => {
    const { upload, arrive, read, submitted, transcoderState } = setup();
    transcoderState.source = { mimeType: 'image/png', sizeBytes: 8828, audio: [] };
    const videoId = await upload();
    t.equal(await arrive(videoId), 'applied');
    t.match(await read(videoId), { status: 'failed', error: { code: 'still-image' } });
    t.equal(submitted.length, 0);
  });

  t.test('a job the transcoder refuses for good fails the video with its reason, redacted', async (t) => {
    const { upload, arrive, read, transcoderState } = setup();
    transcoderState.submitError = new JobRefusedError('Access denied reading https://b.s3.amazonaws.com/k?X-Amz-Signature=abcdef');
    const videoId = await upload();
    t.equal(await arrive(videoId), 'applied');
    const { error, status } = await read(videoId);
    t.equal(status, 'failed');
    t.equal(error?.code, 'transcoder-refused');
    t.equal(error?.message, `Access denied reading https://b.s3.amazonaws.com/k?X-Amz-Signature=${REDACTED}`);
  });

  t.test('a transient submit error is thrown for a retry; the retry submits, the intent kept from the first try', async (t) => {
    const { upload, arrive, read, submitted, transcoderState, advance } = setup();
    transcoderState.submitError = new Error('MediaConvert is throttling');
    const videoId = await upload();
    await t.rejects(arrive(videoId), { message: 'MediaConvert is throttling' });
    const firstTry = (await read(videoId)).jobRequestedAt;
    t.match(await read(videoId), { status: 'processing', jobId: undefined });
    advance(30);
    t.equal(await arrive(videoId), 'applied');
    t.match(await read(videoId), { jobId: `job-${videoId}`, jobRequestedAt: firstTry });
    t.equal(submitted.length, 1);
  });

  t.test('after a crash between submitting and recording, the retry finds the job instead of making another', async (t) => {
    const catalog = createMemoryCatalog();
    // The first try's catalog loses the job: the process dies right after CreateJob answered.
    const crashing: VideoCatalog = { ...catalog, recordJob: async () => Promise.reject(new Error('process killed')) };
    const world = setup({ catalog: crashing });
    const videoId = await world.upload();
    await t.rejects(world.arrive(videoId), { message: 'process killed' });
    t.equal(world.submitted.length, 1);
    t.match(await catalog.get(videoId), { status: 'processing', jobId: undefined });
    // A new process (the same bucket and transcoder) long after ClientRequestToken's one minute.
    world.advance(3600);
    const retry = createVideoService({ ...world.options, catalog });
    t.equal(await retry.handleSourceUploaded({ key: sourceKey(videoId), sequencer: 'seq' }), 'applied');
    t.equal((await catalog.get(videoId))?.jobId, `job-${videoId}`);
    t.equal(world.submitted.length, 1, 'no second job');
  });

  // Known domain bugs, each a test of what should happen. tap does not run a todo test: remove
  // `todo` to see it fail, and once the domain is fixed.
  t.test('after a crash between submit and record, an audio-only video keeps audioOnly though a PROGRESSING event records its job', async (t) => {
    const catalog = createMemoryCatalog();
    const crashing: VideoCatalog = { ...catalog, recordJob: async () => Promise.reject(new Error('process killed')) };
    const world = setup({ catalog: crashing });
    world.transcoderState.source = podcast;
    const videoId = await world.upload(alice, { contentType: 'audio/mp4' });
    await t.rejects(world.arrive(videoId));
    const restarted = createVideoService({ ...world.options, catalog });
    await restarted.applyTranscodeUpdate(jobUpdate('started', videoId));
    await restarted.handleSourceUploaded({ key: sourceKey(videoId), sequencer: 'seq' });
    t.equal((await catalog.get(videoId))?.audioOnly, true);
  });
});

t.test('applyTranscodeUpdate', async (t) => {
  t.test('ignores updates for unknown videos', async (t) => {
    const { videos, processing, read } = setup();
    const videoId = await processing();
    t.equal(await videos.applyTranscodeUpdate(jobUpdate('started', 'unknown')), 'ignored');
    t.equal(await videos.applyTranscodeUpdate(jobUpdate('complete', 'unknown')), 'ignored');
    t.equal((await read(videoId)).status, 'processing');
  });

  t.test('started records the job when it beats the submitter, and is a duplicate after', async (t) => {
    const { videos, upload, catalog, read, now } = setup();
    const videoId = await upload();
    const started = jobUpdate('started', videoId);
    t.equal(await videos.applyTranscodeUpdate(started), 'duplicate', 'an update for a video still awaiting its upload');
    await catalog.claimForProcessing({ videoId, ownerId: 'alice' }, 'seq', now().toISOString());
    t.equal(await videos.applyTranscodeUpdate(started), 'applied');
    t.equal((await read(videoId)).jobId, `job-${videoId}`);
    t.equal(await videos.applyTranscodeUpdate(started), 'applied', 'the same job again is applied: the write is idempotent');
    t.equal(await videos.applyTranscodeUpdate({ ...started, jobId: 'another-job' }), 'duplicate', 'never a second job');
    t.equal((await read(videoId)).jobId, `job-${videoId}`);
  });

  t.test('progress is raised, never lowered, clamped at 99, and another job is ignored', async (t) => {
    const { videos, processing, read, advance } = setup();
    const videoId = await processing();
    const at = (percent: number) => jobUpdate('progress', videoId, { percent });
    t.equal(await videos.applyTranscodeUpdate(at(7)), 'applied');
    t.equal((await read(videoId)).progressPercent, 7);
    t.equal(await videos.applyTranscodeUpdate(at(7)), 'duplicate');
    advance(1);
    t.equal(await videos.applyTranscodeUpdate(at(50.7)), 'applied');
    t.equal((await read(videoId)).progressPercent, 50, 'whole percents');
    t.equal(await videos.applyTranscodeUpdate(at(20)), 'duplicate', 'a late, lower update');
    t.equal(await videos.applyTranscodeUpdate({ ...at(80), jobId: 'old-job' }), 'duplicate');
    t.equal(await videos.applyTranscodeUpdate(at(100)), 'applied');
    t.equal((await read(videoId)).progressPercent, 99, '100 is kept for ready');
    t.equal((await read(videoId)).status, 'processing');
  });

  t.test('renditions published make the video playable for its owner, with the renditions so far', async (t) => {
    const { videos, processing, read, storage, signed } = setup();
    const videoId = await processing();
    const published = jobUpdate('renditions-published', videoId, { videoRenditions: 1, durationSeconds: 180.041 });
    storage.put(masterPlaylistKey(videoId), MASTER.split('\n').slice(0, 3).join('\n'));
    await t.rejects(videos.getPlayback(alice, videoId), { name: 'VideoNotReadyError' });
    t.equal(await videos.applyTranscodeUpdate(published), 'applied');
    t.match(await read(videoId), { status: 'processing', playable: true, renditions: [LADDER[0]], durationSeconds: 180.041 });
    t.match(await videos.getVideo(alice, videoId), { status: 'processing', playable: true });
    t.match(await videos.getPlayback(alice, videoId), { manifestUrl: /master\.m3u8/ });
    t.match(signed.at(-1), { videoId, durationSeconds: 180.041 });
    await t.rejects(videos.getPlayback(bob, videoId), { name: 'VideoNotFoundError' }, 'nobody else sees it yet');
    // Repeated with no more renditions than recorded: nothing is read (the master may be mid-rewrite).
    storage.objects.delete(masterPlaylistKey(videoId));
    t.equal(await videos.applyTranscodeUpdate(published), 'duplicate');
    storage.put(masterPlaylistKey(videoId), MASTER);
    t.equal(await videos.applyTranscodeUpdate({ ...published, videoRenditions: 3 }), 'applied');
    t.same((await read(videoId)).renditions, LADDER);
    t.equal(await videos.applyTranscodeUpdate({ ...published, videoRenditions: 2 }), 'duplicate', 'a late report of fewer renditions');
    t.same((await read(videoId)).renditions, LADDER);
  });

  t.test('one timeline whichever transcoder reports: uploaded, playable at the first publication, ready; failed', async (t) => {
    const { videos, upload, arrive, read, storage, now, advance } = setup();
    const at = () => now().toISOString();
    // Fast start: a rendition published before the job ends.
    const early = await upload();
    await arrive(early);
    const uploadedAt = at();
    advance(2);
    storage.put(masterPlaylistKey(early), MASTER.split('\n').slice(0, 3).join('\n'));
    await videos.applyTranscodeUpdate(jobUpdate('renditions-published', early, { videoRenditions: 1 }));
    const playableAt = at();
    advance(30);
    storage.put(masterPlaylistKey(early), MASTER);
    await videos.applyTranscodeUpdate(jobUpdate('renditions-published', early, { videoRenditions: 3 }));
    t.match(await read(early), { uploadedAt, playableAt }, 'more renditions later leave the first playable time');
    advance(5);
    await videos.applyTranscodeUpdate(jobUpdate('complete', early));
    t.match(await videos.getVideo(alice, early), { uploadedAt, playableAt, readyAt: at() }, 'the API shows the timeline');
    t.notOk((await read(early)).failedAt);

    // MediaConvert: nothing to watch before the job completes, so playable and ready are one instant.
    const whole = await upload();
    await arrive(whole);
    advance(40);
    storage.put(masterPlaylistKey(whole), MASTER);
    await videos.applyTranscodeUpdate(jobUpdate('complete', whole));
    t.match(await read(whole), { playableAt: at(), readyAt: at() });

    const broken = await upload();
    await arrive(broken);
    advance(3);
    await videos.applyTranscodeUpdate(jobUpdate('failed', broken, { code: '1040', message: 'Example error message' }));
    const failed = await videos.getVideo(alice, broken);
    t.match(failed, { status: 'failed', failedAt: at() });
    t.notOk(failed.playableAt ?? failed.readyAt, 'never playable, never ready');
    const waiting = await upload();
    t.notOk((await videos.getVideo(alice, waiting)).uploadedAt, 'nothing but createdAt before the upload is complete');
  });

  t.test('renditions published with a master that lists nothing yet change nothing', async (t) => {
    const { videos, processing, read, storage } = setup();
    const videoId = await processing();
    // An alternate audio track declared, no variant yet.
    storage.put(masterPlaylistKey(videoId), '#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",URI="audio/index.m3u8"\n');
    t.equal(await videos.applyTranscodeUpdate(jobUpdate('renditions-published', videoId, { videoRenditions: 1 })), 'ignored');
    t.notOk((await read(videoId)).playable);
  });

  t.test('complete: ready, with the renditions of the master in storage and the duration reported; repeated, a duplicate', async (t) => {
    const { videos, processing, read, storage, now } = setup();
    const videoId = await processing();
    const complete = jobUpdate('complete', videoId, { durationSeconds: 180.041 });
    storage.put(masterPlaylistKey(videoId), MASTER);
    t.equal(await videos.applyTranscodeUpdate(complete), 'applied');
    t.match(await read(videoId), {
      status: 'ready',
      playable: true,
      progressPercent: 100,
      renditions: LADDER,
      durationSeconds: 180.041,
      updatedAt: now().toISOString(),
    });
    t.match(await videos.getVideo(bob, videoId), { status: 'ready', renditions: LADDER }, "ready videos are everybody's");
    storage.objects.delete(masterPlaylistKey(videoId));
    t.equal(await videos.applyTranscodeUpdate(complete), 'duplicate', 'no read of the master for a repeat');
  });

  t.test('out of order: complete before started and progress; the late ones never move a ready video back', async (t) => {
    const { videos, upload, arrive, read, storage, catalog, now } = setup();
    const videoId = await upload();
    // The notification's job recording races the job's updates: complete wins.
    await catalog.claimForProcessing({ videoId, ownerId: 'alice' }, 'seq', now().toISOString());
    storage.put(masterPlaylistKey(videoId), MASTER);
    t.equal(await videos.applyTranscodeUpdate(jobUpdate('complete', videoId)), 'applied');
    const readyRecord = await read(videoId);
    t.equal(readyRecord.status, 'ready');
    t.equal(await videos.applyTranscodeUpdate(jobUpdate('started', videoId)), 'duplicate');
    t.equal(await videos.applyTranscodeUpdate(jobUpdate('progress', videoId, { percent: 7 })), 'duplicate');
    t.equal(await videos.applyTranscodeUpdate(jobUpdate('renditions-published', videoId, { videoRenditions: 3 })), 'duplicate');
    t.equal(await videos.applyTranscodeUpdate(jobUpdate('failed', videoId, { code: '1040', message: 'Example error message' })), 'duplicate');
    t.equal(await videos.applyTranscodeUpdate(jobUpdate('canceled', videoId)), 'duplicate');
    t.equal(await arrive(videoId), 'duplicate', 'the late notification submits nothing');
    t.same(await read(videoId), readyRecord, 'unchanged');
  });

  t.test('failed: the video fails with the code and a redacted message; late updates never move it back', async (t) => {
    const { videos, processing, read, storage } = setup();
    const videoId = await processing();
    const failed = jobUpdate('failed', videoId, { code: '1040', message: 'Example error message' });
    t.equal(await videos.applyTranscodeUpdate(failed), 'applied');
    t.match(await read(videoId), { status: 'failed', error: { code: '1040', message: 'Example error message' } });
    t.equal(await videos.applyTranscodeUpdate(failed), 'duplicate');
    storage.put(masterPlaylistKey(videoId), MASTER);
    t.equal(await videos.applyTranscodeUpdate(jobUpdate('complete', videoId)), 'duplicate');
    t.equal(await videos.applyTranscodeUpdate(jobUpdate('progress', videoId, { percent: 7 })), 'duplicate');
    t.equal((await read(videoId)).status, 'failed');

    const other = await processing();
    const signedUrl = 'https://bucket.s3.amazonaws.com/uploads/x/source?X-Amz-Credential=AKIA%2F&X-Amz-Signature=0123abcd';
    t.equal(await videos.applyTranscodeUpdate(jobUpdate('failed', other, { code: 'unknown', message: `Unable to open ${signedUrl}` })), 'applied');
    const failedRecord = await read(other);
    t.equal(failedRecord.error?.code, 'unknown');
    t.notMatch(failedRecord.error?.message, /0123abcd|AKIA/, 'no signature or credential reaches the owner');
    t.match(failedRecord.error?.message, /Unable to open https:\/\/bucket\.s3\.amazonaws\.com\/uploads\/x\/source/);
  });

  t.test('canceled fails the video as canceled; a failure of another job does not', async (t) => {
    const { videos, processing, read } = setup();
    const videoId = await processing();
    t.equal(await videos.applyTranscodeUpdate(jobUpdate('failed', videoId, { jobId: 'old-job', code: '1040', message: 'Old' })), 'duplicate');
    t.equal(await videos.applyTranscodeUpdate(jobUpdate('canceled', videoId)), 'applied');
    t.match(await read(videoId), { status: 'failed', error: { code: 'canceled', message: 'The transcode job was canceled' } });
  });

  t.test('a warning is kept once, while processing and after ready; not for another job', async (t) => {
    const { videos, processing, read, storage } = setup();
    const videoId = await processing();
    const warning = jobUpdate('warning', videoId, { code: '000000', message: 'Example warning message' });
    t.equal(await videos.applyTranscodeUpdate(warning), 'applied');
    t.equal(await videos.applyTranscodeUpdate(warning), 'duplicate');
    t.equal(await videos.applyTranscodeUpdate({ ...warning, code: '230005', message: 'Damaged frames', jobId: 'old-job' }), 'duplicate');
    storage.put(masterPlaylistKey(videoId), MASTER);
    await videos.applyTranscodeUpdate(jobUpdate('complete', videoId));
    t.equal(await videos.applyTranscodeUpdate({ ...warning, code: '230005', message: 'Damaged frames' }), 'applied', 'a warning after complete');
    const expected = [
      { code: '000000', message: 'Example warning message' },
      { code: '230005', message: 'Damaged frames' },
    ];
    t.same((await read(videoId)).warnings, expected);
    t.same((await videos.getVideo(bob, videoId)).warnings, expected);
  });

  t.test('a warning that beats the recording of its job is kept', async (t) => {
    const { videos, upload, read, catalog, now } = setup();
    const videoId = await upload();
    await catalog.claimForProcessing({ videoId, ownerId: 'alice' }, 'seq', now().toISOString());
    t.equal(await videos.applyTranscodeUpdate(jobUpdate('warning', videoId, { code: '000000', message: 'Example warning message' })), 'applied');
    t.equal((await read(videoId)).warnings?.length, 1);
  });

  t.test('for a deleted video: outputs are removed when the job ends, never before', async (t) => {
    const { videos, processing, storage, read } = setup();
    const finals = [
      (videoId: string) => jobUpdate('complete', videoId),
      (videoId: string) => jobUpdate('failed', videoId, { code: '1040', message: 'Example error message' }),
      (videoId: string) => jobUpdate('canceled', videoId),
    ];
    for (const final of finals) {
      const videoId = await processing();
      t.same(await videos.deleteVideo(alice, videoId), {});
      // The job kept writing after the delete.
      storage.put(`video-streams/${videoId}/720p/segment_00000.ts`);
      for (const update of [
        jobUpdate('started', videoId),
        jobUpdate('progress', videoId, { percent: 50 }),
        jobUpdate('renditions-published', videoId, { videoRenditions: 1 }),
        jobUpdate('warning', videoId, { code: '000000', message: 'Example warning message' }),
      ]) {
        t.equal(await videos.applyTranscodeUpdate(update), 'ignored', update.type);
      }
      t.equal(storage.keysOf(videoId).length, 1, 'a job still running may write more');
      t.equal(await videos.applyTranscodeUpdate(final(videoId)), 'applied', final(videoId).type);
      t.same(storage.keysOf(videoId), []);
      t.equal((await read(videoId)).status, 'deleted');
    }
  });
});

t.test('startFastStart', async (t) => {
  const run = (secondsLeft = 300) => ({ secondsLeft, signal: new AbortController().signal, logger: { info() {}, warn() {} } });
  /** The web-ready clip as Probe and the MP4 header describe it: a sample table that keeps the ladder's promises. */
  const packagable = {
    ...webReadyClip,
    video: { ...webReadyClip.video!, bitRate: 2_000_000, segmentsAsPackaged: { count: 3, longestSeconds: 4, peakBitrate: 2_600_000 } },
  };

  t.test("publishes the first rendition and reports it as the recorded job's; a repeat is a duplicate", async (t) => {
    const { videos, processing, read, fastStarts, transcoder, transcoderState, fastStarterState } = setup();
    transcoderState.source = packagable;
    let inspections = 0;
    const inspect = transcoder.inspect.bind(transcoder);
    transcoder.inspect = async (key) => (inspections++, inspect(key));
    const videoId = await processing();
    let whileStillEncoding: unknown;
    fastStarterState.afterListing = async () => void (whileStillEncoding = (await read(videoId)).playable);
    t.equal(await videos.startFastStart({ key: sourceKey(videoId) }, run()), 'applied');
    t.equal(whileStillEncoding, true, 'playable as soon as the master lists it, before the work ends');
    t.match(
      fastStarts,
      [{ videoId, sourceKey: sourceKey(videoId), how: 'package', plan: { packaging: { eligible: true } } }],
      'packaged: its sample table keeps the promises',
    );
    t.match(await read(videoId), { status: 'processing', playable: true, playableAt: String, renditions: [LADDER[0]], jobId: `job-${videoId}` });
    t.equal(await videos.startFastStart({ key: sourceKey(videoId) }, run()), 'duplicate', 'playable already');
    t.equal(fastStarts.length, 1, 'nothing published twice');
    t.equal(inspections, 1, 'planned from what the upload handler found: the source inspected once');
  });

  t.test('any other source: its smallest rung, encoded, when the work fits the time left; else nothing', async (t) => {
    const { videos, processing, read, fastStarts } = setup();
    const videoId = await processing();
    t.equal(await videos.startFastStart({ key: sourceKey(videoId) }, run(FAST_START_MARGIN_SECONDS + 1)), 'ignored', 'no time for it');
    t.same(fastStarts, []);
    t.notOk((await read(videoId)).playable);
    t.equal(await videos.startFastStart({ key: sourceKey(videoId) }, run()), 'applied');
    t.match(fastStarts, [{ how: 'encode' }], 'no sample table to measure: encoded');
  });

  t.test('left alone: no job recorded yet, a key that is no upload, a video no longer processing, a refused source', async (t) => {
    const { videos, upload, processing, ready, fastStarts, transcoderState } = setup();
    const awaiting = await upload();
    t.equal(await videos.startFastStart({ key: sourceKey(awaiting) }, run()), 'ignored', 'awaiting its upload: no job to report as');
    t.equal(await videos.startFastStart({ key: 'video-streams/x/master.m3u8' }, run()), 'ignored');
    const done = await ready();
    t.equal(await videos.startFastStart({ key: sourceKey(done) }, run()), 'ignored', 'ready: the ladder is there');
    transcoderState.source = new SourceRejectedError('still-image', 'This is a still image, not a video.');
    const refused = await processing();
    t.equal(await videos.startFastStart({ key: sourceKey(refused) }, run()), 'ignored', 'the upload handler failed it');
    t.same(fastStarts, []);
  });

  t.test('the ladder first: nothing is recorded', async (t) => {
    const { videos, processing, read, fastStarterState } = setup();
    const videoId = await processing();
    fastStarterState.ladderFirst = true;
    t.equal(await videos.startFastStart({ key: sourceKey(videoId) }, run()), 'duplicate');
    t.notOk((await read(videoId)).playable);
  });

  t.test('deleted while it published: what it wrote is removed', async (t) => {
    const { videos, processing, storage, fastStarterState } = setup();
    const videoId = await processing();
    fastStarterState.whilePublishing = async () => void (await videos.deleteVideo(alice, videoId));
    t.equal(await videos.startFastStart({ key: sourceKey(videoId) }, run()), 'ignored');
    t.same(storage.keysOf(videoId), [], 'nothing of it stays');
  });

  t.test('without a fast starter, fast start is off', async (t) => {
    const world = setup();
    const videoId = await world.processing();
    const { fastStarter: _off, ...options } = world.options;
    t.equal(await createVideoService(options).startFastStart({ key: sourceKey(videoId) }, run()), 'ignored');
    t.same(world.fastStarts, []);
  });
});

t.test('visibility and listing', async (t) => {
  t.test("others' unfinished videos do not exist for a viewer; ready ones are everybody's", async (t) => {
    const { videos, upload, processing, ready } = setup();
    const awaiting = await upload();
    const converting = await processing();
    const failed = await processing();
    await videos.applyTranscodeUpdate(jobUpdate('failed', failed, { code: '1040', message: 'Example error message' }));
    const done = await ready();
    for (const videoId of [awaiting, converting, failed]) {
      await t.rejects(videos.getVideo(bob, videoId), { name: 'VideoNotFoundError' });
      t.ok(await videos.getVideo(alice, videoId));
    }
    t.match(await videos.getVideo(bob, done), { status: 'ready', ownerId: 'alice' });
    t.same(
      (await videos.listVideos(bob, { status: 'all' })).items.map((video) => video.videoId),
      [done],
    );
    t.same(
      (await videos.listVideos(alice, { status: 'all' })).items.map((video) => video.videoId),
      [done, failed, converting, awaiting],
      'newest first',
    );
    t.same(
      (await videos.listVideos(alice, { status: 'failed' })).items.map((video) => video.videoId),
      [failed],
    );
    t.same((await videos.listVideos(bob, { status: 'processing' })).items, []);
  });

  t.test('pages: a cursor continues after the last item; a cursor the API did not make is refused', async (t) => {
    const { videos, ready } = setup();
    const made: string[] = [];
    for (let n = 0; n < 5; n++) made.push(await ready(n % 2 ? bob : alice));
    const first = await videos.listVideos(bob, { limit: 2 });
    t.same(
      first.items.map((video) => video.videoId),
      [made[4], made[3]],
    );
    const second = await videos.listVideos(bob, { limit: 2, cursor: first.nextCursor });
    t.same(
      second.items.map((video) => video.videoId),
      [made[2], made[1]],
    );
    const third = await videos.listVideos(bob, { limit: 2, cursor: second.nextCursor });
    t.same(
      third.items.map((video) => video.videoId),
      [made[0]],
    );
    t.equal(third.nextCursor, undefined);
    await t.rejects(videos.listVideos(bob, { cursor: Buffer.from('nonsense').toString('base64url') }), { name: 'InvalidInputError' });
  });

  t.test('a deleted video is gone for everybody, its owner included', async (t) => {
    const { videos, ready } = setup();
    const videoId = await ready();
    await videos.deleteVideo(alice, videoId);
    await t.rejects(videos.getVideo(alice, videoId), { name: 'VideoNotFoundError' });
    t.same((await videos.listVideos(alice, { status: 'all' })).items, []);
  });
});

t.test('getPlayback', async (t) => {
  t.test('409 until the video can be watched; then a signed URL for its duration, at the injected time', async (t) => {
    const { videos, upload, processing, ready, signed, now } = setup();
    const awaiting = await upload();
    const converting = await processing();
    const failed = await processing();
    await videos.applyTranscodeUpdate(jobUpdate('failed', failed, { code: '1040', message: 'Example error message' }));
    await t.rejects(videos.getPlayback(alice, awaiting), { name: 'VideoNotReadyError', message: /is awaiting upload/ });
    await t.rejects(videos.getPlayback(alice, converting), { name: 'VideoNotReadyError', message: /is processing/ });
    await t.rejects(videos.getPlayback(alice, failed), { name: 'VideoNotReadyError', message: /is failed/ });
    t.equal(signed.length, 0);
    const done = await ready();
    t.same(await videos.getPlayback(bob, done), {
      manifestUrl: `https://cdn.test/video-streams/${done}/master.m3u8?Signature=s`,
      expiresAt: new Date(now().getTime() + 3_600_000).toISOString(),
    });
    t.same(signed, [{ videoId: done, durationSeconds: 180.041, now: now() }]);
  });
});

t.test('deleteVideo', async (t) => {
  t.test('the owner only: a tombstone at once, the job canceled, every object removed', async (t) => {
    const { videos, processing, ready, storage, canceled, read, now } = setup();
    const videoId = await processing();
    storage.put(`video-streams/${videoId}/720p/index.m3u8`);
    await t.rejects(videos.deleteVideo(bob, videoId), { name: 'VideoNotFoundError' }, "another user's unfinished video is not there");
    t.same(await videos.deleteVideo(alice, videoId), {});
    t.match(await read(videoId), { status: 'deleted', deletedAt: now().toISOString(), ownerStatus: 'alice#deleted' });
    t.same(canceled, [`job-${videoId}`]);
    t.same(storage.keysOf(videoId), []);
    await t.rejects(videos.deleteVideo(alice, videoId), { name: 'VideoNotFoundError' }, 'twice');
    const shared = await ready();
    await t.rejects(videos.deleteVideo(bob, shared), { name: 'ForbiddenError' }, 'a ready video of someone else');
    t.equal((await read(shared)).status, 'ready');
  });

  t.test('a cleanup that fails is returned for the caller to log, never thrown; the tombstone stays for the reconciler', async (t) => {
    const { videos, ready, storage, read } = setup();
    const videoId = await ready();
    storage.failDeletes = true;
    const { cleanupError } = await videos.deleteVideo(alice, videoId);
    t.type(cleanupError, ObjectsNotDeletedError);
    t.equal((await read(videoId)).status, 'deleted');
    t.ok(storage.keysOf(videoId).length > 0);
    storage.failDeletes = false;
    t.ok((await videos.clearDeleted(await read(videoId))) > 0, "the reconciler's repeat removes them");
    t.same(storage.keysOf(videoId), []);
  });

  t.test('a job that cannot be canceled now is a cleanup error too; the objects wait for the reconciler', async (t) => {
    const { videos, processing, transcoder, storage, read } = setup();
    const videoId = await processing();
    transcoder.cancel = async () => Promise.reject(new Error('MediaConvert is throttling'));
    const { cleanupError } = await videos.deleteVideo(alice, videoId);
    t.match(cleanupError, { message: 'MediaConvert is throttling' });
    t.equal((await read(videoId)).status, 'deleted');
    t.ok(storage.keysOf(videoId).length > 0);
  });
});

t.test('uploads in parts', async (t) => {
  /** A 12 MiB upload in parts of 5, 5 and 2 MiB. */
  async function inParts(world: ReturnType<typeof setup>) {
    const created = await world.videos.requestUpload(alice, world.request({ sizeBytes: 12 * MiB, multipart: true }));
    if (created.upload.method !== 'multipart') throw new Error('expected an upload in parts');
    return { videoId: created.videoId, uploadId: created.upload.uploadId };
  }
  const sizes = [5 * MiB, 5 * MiB, 2 * MiB];

  t.test("listUploadedParts: what is stored, to resume; only the owner's upload in progress", async (t) => {
    const world = setup();
    const { videos, storage } = world;
    const { videoId, uploadId } = await inParts(world);
    const etag = storage.putPart(uploadId, 2, 5 * MiB);
    t.match(await videos.listUploadedParts(alice, videoId), {
      videoId,
      uploadId,
      sizeBytes: 12 * MiB,
      partSizeBytes: 5 * MiB,
      partCount: 3,
      parts: [{ partNumber: 2, sizeBytes: 5 * MiB, etag }],
      storedBytes: 5 * MiB,
      expiresAt: '2026-01-02T00:00:00.000Z',
    });
    await t.rejects(videos.listUploadedParts(bob, videoId), { name: 'VideoNotFoundError' });
    const single = await world.upload();
    await t.rejects(videos.listUploadedParts(alice, single), { name: 'UploadNotInProgressError', message: /one PUT/ });
  });

  t.test('signUploadParts: URLs sized by the plan, never outliving the upload; refusals with reasons', async (t) => {
    const world = setup();
    const { videos, advance } = world;
    const { videoId } = await inParts(world);
    const signed = await videos.signUploadParts(alice, videoId, [{ partNumber: 3 }, { partNumber: 1, contentMd5: 'bWQ1' }]);
    t.match(signed, {
      parts: [
        { partNumber: 3, sizeBytes: 2 * MiB },
        { partNumber: 1, sizeBytes: 5 * MiB, headers: { 'Content-MD5': 'bWQ1' } },
      ],
      partUrlsExpireAt: '2026-01-01T00:15:00.000Z',
    });
    advance(86_400 - 60);
    t.equal((await videos.signUploadParts(alice, videoId, [{ partNumber: 2 }])).partUrlsExpireAt, '2026-01-02T00:00:00.000Z', "cut to the upload's expiry");
    await t.rejects(videos.signUploadParts(alice, videoId, [{ partNumber: 2 }, { partNumber: 2 }]), {
      name: 'InvalidInputError',
      message: /Part 2 is asked for more than once/,
    });
    await t.rejects(videos.signUploadParts(alice, videoId, [{ partNumber: 4 }]), { name: 'InvalidInputError', message: /3 parts; there is no part 4/ });
    advance(60);
    await t.rejects(videos.signUploadParts(alice, videoId, [{ partNumber: 2 }]), {
      name: 'UploadNotInProgressError',
      message: /abandoned at 2026-01-02T00:00:00.000Z/,
    });
    await t.rejects(videos.listUploadedParts(alice, videoId), { name: 'UploadNotInProgressError', message: /abandoned/ });
    await t.rejects(
      videos.completeUpload(
        alice,
        videoId,
        [1, 2, 3].map((partNumber) => ({ partNumber, etag: '"x"' })),
      ),
      { name: 'UploadNotInProgressError', message: /abandoned/ },
    );
  });

  t.test('completeUpload refuses parts that do not make the declared file, naming them, and joins nothing', async (t) => {
    const world = setup();
    const { videos, storage, read } = world;
    const { videoId, uploadId } = await inParts(world);
    const etag1 = storage.putPart(uploadId, 1, 5 * MiB);
    const etag2 = storage.putPart(uploadId, 2, 4 * MiB);
    await t.rejects(
      videos.completeUpload(alice, videoId, [
        { partNumber: 1, etag: etag1 },
        { partNumber: 1, etag: etag1 },
      ]),
      { name: 'InvalidInputError', message: /Part 1 is listed more than once/ },
    );
    await t.rejects(videos.completeUpload(alice, videoId, [{ partNumber: 4, etag: etag1 }]), { name: 'InvalidInputError', message: /no part 4/ });
    await t.rejects(videos.completeUpload(alice, videoId, [{ partNumber: 1, etag: etag1 }]), {
      name: 'UploadIncompleteError',
      message: /part 2 and 3 are not listed/,
    });
    await t.rejects(
      videos.completeUpload(alice, videoId, [
        { partNumber: 1, etag: '"other"' },
        { partNumber: 2, etag: etag2 },
        { partNumber: 3, etag: '"e3"' },
      ]),
      {
        name: 'UploadIncompleteError',
        message: /part 3 is not stored: upload it; part 1 was stored with ETag .*, not "other"; part 2 is 4194304 bytes, not 5242880/,
      },
    );
    t.equal(await storage.hasSource(videoId), false);
    t.equal((await read(videoId)).status, 'awaiting_upload');
    await t.rejects(videos.completeUpload(bob, videoId, []), { name: 'VideoNotFoundError' });
  });

  t.test('completeUpload joins the parts once; the notification submits the one job; a repeat answers the video again', async (t) => {
    const world = setup();
    const { videos, storage, read, arrive, submitted } = world;
    const { videoId, uploadId } = await inParts(world);
    const parts = sizes.map((size, index) => ({ partNumber: index + 1, etag: storage.putPart(uploadId, index + 1, size) }));
    const completed = await videos.completeUpload(alice, videoId, [...parts].reverse());
    t.match(completed, { videoId, status: 'processing' });
    t.equal(await storage.hasSource(videoId), true);
    t.equal(storage.uploads.size, 0, 'S3 no longer holds the upload');
    t.match(await read(videoId), { status: 'processing', sourceSequencer: 'complete-multipart-upload', jobId: undefined });
    t.match(await videos.completeUpload(alice, videoId, parts), { videoId, status: 'processing' }, 'a repeat after its answer was lost');
    t.equal(await videos.handleSourceUploaded({ key: sourceKey(videoId), sequencer: 'seq' }), 'applied');
    t.equal(submitted.length, 1);
    t.equal(await arrive(videoId), 'duplicate');
    t.match(await videos.completeUpload(alice, videoId, parts), { status: 'processing' });
    await t.rejects(videos.abortUpload(alice, videoId), { name: 'UploadNotInProgressError', message: /completed already: delete the video instead/ });
    await t.rejects(videos.listUploadedParts(alice, videoId), { name: 'UploadNotInProgressError', message: /completed already/ });
    t.equal((await read(videoId)).status, 'processing');
  });

  t.test('completeUpload when storage joined the parts but the claim was lost: the video is claimed', async (t) => {
    const world = setup();
    const { videos, storage, read } = world;
    const { videoId, uploadId } = await inParts(world);
    const parts = sizes.map((size, index) => ({ partNumber: index + 1, etag: storage.putPart(uploadId, index + 1, size) }));
    await storage.completeSourceUpload(videoId, uploadId, parts);
    t.match(await videos.completeUpload(alice, videoId, parts), { status: 'processing' });
    t.equal((await read(videoId)).status, 'processing');
  });

  t.test('abortUpload: the parts and the video are gone; refused once the source is stored', async (t) => {
    const world = setup();
    const { videos, storage, read } = world;
    const { videoId, uploadId } = await inParts(world);
    storage.putPart(uploadId, 1, 5 * MiB);
    await t.rejects(videos.abortUpload(bob, videoId), { name: 'VideoNotFoundError' });
    t.same(await videos.abortUpload(alice, videoId), {});
    t.equal(storage.uploads.has(uploadId), false);
    t.equal((await read(videoId)).status, 'deleted');
    await t.rejects(videos.abortUpload(alice, videoId), { name: 'VideoNotFoundError' });
    await t.rejects(videos.completeUpload(alice, videoId, []), { name: 'VideoNotFoundError' });

    // A source stored whose notification is still on its way is a completed upload.
    const other = await inParts(world);
    storage.put(sourceKey(other.videoId));
    await t.rejects(videos.abortUpload(alice, other.videoId), { name: 'UploadNotInProgressError' });
  });

  t.test('completeUpload: storage that no longer holds the upload, or refuses to join, is a refusal with its reason', async (t) => {
    const world = setup();
    const { videos, storage, read } = world;
    const gone = await inParts(world);
    const parts = sizes.map((size, index) => ({ partNumber: index + 1, etag: storage.putPart(gone.uploadId, index + 1, size) }));
    storage.uploads.delete(gone.uploadId); // S3's lifecycle rule removed it
    await t.rejects(videos.completeUpload(alice, gone.videoId, parts), { name: 'UploadNotInProgressError', message: /no longer held by storage/ });
    t.equal((await read(gone.videoId)).status, 'awaiting_upload');

    const refused = await inParts(world);
    const refusedParts = sizes.map((size, index) => ({ partNumber: index + 1, etag: storage.putPart(refused.uploadId, index + 1, size) }));
    storage.completeSourceUpload = async () =>
      Promise.reject(new MultipartCompletionRefusedError('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size'));
    await t.rejects(videos.completeUpload(alice, refused.videoId, refusedParts), {
      name: 'UploadIncompleteError',
      message: /Storage refused to join the parts \(EntityTooSmall\)/,
    });
    t.equal((await read(refused.videoId)).status, 'awaiting_upload');
  });

  t.test('abortUpload: a cleanup that fails is returned, never thrown', async (t) => {
    const world = setup();
    const { videoId } = await inParts(world);
    world.storage.put(`video-streams/${videoId}/stray`);
    world.storage.failDeletes = true;
    const { cleanupError } = await world.videos.abortUpload(alice, videoId);
    t.type(cleanupError, ObjectsNotDeletedError);
    t.equal((await world.read(videoId)).status, 'deleted');
  });

  t.test('deleting a video during its upload in parts aborts the upload', async (t) => {
    const world = setup();
    const { videoId, uploadId } = await inParts(world);
    world.storage.putPart(uploadId, 1, 5 * MiB);
    t.same(await world.videos.deleteVideo(alice, videoId), {});
    t.equal(world.storage.uploads.has(uploadId), false);
  });

  t.test('a failed upload (abandoned by the reconciler) refuses completion with its reason', async (t) => {
    const world = setup();
    const { videos, catalog, now } = world;
    const { videoId } = await inParts(world);
    await catalog.markFailed({ videoId, ownerId: 'alice' }, undefined, { code: 'upload-abandoned', message: 'The upload was abandoned.' }, now().toISOString());
    await t.rejects(videos.completeUpload(alice, videoId, []), { name: 'UploadNotInProgressError', message: /The upload was abandoned/ });
    await t.rejects(videos.signUploadParts(alice, videoId, [{ partNumber: 1 }]), { name: 'UploadNotInProgressError', message: /The upload was abandoned/ });
  });
});
