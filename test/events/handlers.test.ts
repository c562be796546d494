/**
 * The S3 and EventBridge handlers with the AWS-documented events (and the fast-start function's
 * renditions-published reports, as VideoService.startFastStart applies them), against the real
 * DynamoDB and S3 stand-ins. The transcoder here only records submissions (the pipeline tests run the real
 * one): what is under test is that each handler is idempotent and never moves a video backwards.
 */
import t from 'tap';
import { JobRefusedError } from '../../src/domain/errors.ts';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { randomUUID } from 'node:crypto';
import { createAwsClients } from '../../src/app/aws-clients.ts';
import { createVideoCatalog } from '../../src/adapters/dynamodb/video-catalog.ts';
import { createVideoStorage } from '../../src/adapters/s3/video-storage.ts';
import { createVideoService } from '../../src/domain/video-service.ts';
import type { Transcoder, TranscodeJobRequest } from '../../src/domain/ports/transcoder.ts';
import type { SourceMedia } from '../../src/schemas/transcode.ts';
import type { MediaConvertJobStateChangeEvent, S3Event } from '../../src/schemas/events.ts';
import type { TranscodeUpdate } from '../../src/schemas/transcode-update.ts';
import { createS3UploadHandler, decodeS3Key } from '../../events/s3-upload.ts';
import { createJobStateChangeHandler } from '../../events/job-state-change.ts';
import { startTestStack } from '../helpers/stack.ts';
import { loadEventFixture } from '../helpers/fixtures.ts';
import { webReadyClip } from '../helpers/sources.ts';

const stack = await startTestStack(t);
const bucket = stack.config.BUCKET_NAME;
const clients = createAwsClients(stack.config);
const { dynamo } = clients;
const s3 = await clients.s3();
const catalog = createVideoCatalog({ dynamo, tableName: stack.config.TABLE_NAME });

/** What the next inspection finds (each test sets what it uploads), or the error it meets. */
let nextSource: SourceMedia | Error = webReadyClip;

const submissions: TranscodeJobRequest[] = [];
let failNextSubmission = false;
/** The next submission is refused for good, with this reason (MediaConvert's 400 or 403). */
let refuseNextSubmission: string | undefined;
const cancellations: string[] = [];
const recordingTranscoder: Transcoder = {
  async inspect() {
    const found = nextSource;
    nextSource = webReadyClip;
    if (found instanceof Error) throw found;
    return found;
  },
  async submit(request) {
    if (failNextSubmission) {
      failNextSubmission = false;
      throw new Error('MediaConvert is throttling');
    }
    if (refuseNextSubmission) {
      const reason = refuseNextSubmission;
      refuseNextSubmission = undefined;
      throw new JobRefusedError(reason);
    }
    submissions.push(request);
    // Same token, same job: MediaConvert's ClientRequestToken semantics.
    return { jobId: `job-${request.clientRequestToken}` };
  },
  // The job events of these tests are sent by hand; the transcoder itself knows no job and
  // finds none, so every retry submits (and the token makes it the same job).
  async getJob() {
    return undefined;
  },
  async findJob() {
    return undefined;
  },
  async cancel(jobId) {
    cancellations.push(jobId);
  },
};

let nextId = randomUUID();
const videos = createVideoService({
  catalog,
  storage: createVideoStorage({ s3, bucket }),
  transcoder: recordingTranscoder,
  playback: { signManifest: async () => Promise.reject(new Error('event handlers never sign playback')) },
  maxUploadBytes: 10_000_000,
  uploadUrlTtlSeconds: 900,
  multipart: { thresholdBytes: 64 * 1024 ** 2, partBytes: 16 * 1024 ** 2, uploadTtlSeconds: 86_400 },
  newVideoId: () => nextId,
});
const onUpload = createS3UploadHandler(videos);
const onJobEvent = createJobStateChangeHandler(videos);

async function newVideo(): Promise<string> {
  nextId = randomUUID();
  await videos.requestUpload({ userId: 'alice' }, { title: 't', filename: 'f.mp4', contentType: 'video/mp4', sizeBytes: 10 });
  return nextId;
}
const jobEvent = (name: string, videoId: string) => loadEventFixture<MediaConvertJobStateChangeEvent>(`eventbridge/mediaconvert-${name}`, { bucket, videoId });
const uploadEvent = (videoId: string) => loadEventFixture<S3Event>('s3/object-created-put', { bucket, videoId });

/** A new video whose upload notification was handled: processing, with its job `job-<videoId>` submitted. */
async function processingVideo(): Promise<string> {
  const videoId = await newVideo();
  await onUpload(await uploadEvent(videoId));
  return videoId;
}

/** A MediaConvert event of `name` about the job the video's upload submitted (the fixture names another). */
async function ownJobEvent(name: string, videoId: string): Promise<MediaConvertJobStateChangeEvent> {
  const event = await jobEvent(name, videoId);
  event.detail.jobId = `job-${videoId}`;
  return event;
}

t.test('an upload notification claims the video and submits exactly one job', async (t) => {
  const videoId = await newVideo();
  const event = await uploadEvent(videoId);
  const before = submissions.length;
  t.same(await onUpload(event), ['applied']);
  const video = await catalog.get(videoId);
  t.equal(video?.status, 'processing');
  t.equal(video?.jobId, `job-${videoId}`);
  t.match(submissions.at(-1), { videoId, sourceKey: `uploads/${videoId}/source`, outputPrefix: `video-streams/${videoId}/`, clientRequestToken: videoId });
  t.same(
    submissions.at(-1)?.plan.video?.renditions.map((r) => r.name),
    ['720p', '540p', '360p'],
    'the job carries the plan of what was found',
  );
  t.same(await onUpload(event), ['duplicate'], 'a redelivered notification is a no-op');
  t.equal(submissions.length, before + 1, 'no second job');
});

t.test('a source that cannot become a stream fails at once with its reason, and no job is started', async (t) => {
  const videoId = await newVideo();
  const before = submissions.length;
  nextSource = { mimeType: 'image/png', sizeBytes: 8828, audio: [] };
  const event = await uploadEvent(videoId);
  t.same(await onUpload(event), ['applied']);
  t.match(await catalog.get(videoId), { status: 'failed', error: { code: 'still-image', message: 'This is a still image, not a video.' } });
  t.equal(submissions.length, before, 'no job');
  t.same(await onUpload(event), ['duplicate'], 'a redelivered notification changes nothing');
});

t.test('an inspection that fails (MediaConvert throttling Probe) throws for a retry', async (t) => {
  const videoId = await newVideo();
  nextSource = Object.assign(new Error('Too many requests'), { name: 'TooManyRequestsException' });
  const event = await uploadEvent(videoId);
  await t.rejects(onUpload(event), { name: 'TooManyRequestsException' });
  t.match(await catalog.get(videoId), { status: 'processing' });
  t.same(await onUpload(event), ['applied'], 'the retry plans and submits');
});

t.test('an audio-only upload is recorded as such when its job starts', async (t) => {
  const videoId = await newVideo();
  nextSource = { container: 'mp4', durationSeconds: 30, audio: [{ track: 1, codec: 'aac', channels: 2 }] };
  await onUpload(await uploadEvent(videoId));
  t.match(await catalog.get(videoId), { status: 'processing', audioOnly: true });
  t.equal(submissions.at(-1)?.plan.audioLayout, 'audio-only');
});

t.test('a NEW_WARNING is kept with the video, once, while processing and after ready', async (t) => {
  const videoId = await processingVideo();
  const warning = await ownJobEvent('new-warning', videoId);
  t.equal(await onJobEvent(warning), 'applied');
  t.equal(await onJobEvent(warning), 'duplicate', 'the same warning again adds nothing');
  t.same((await catalog.get(videoId))?.warnings, [{ code: '000000', message: 'Example warning message' }]);
  const other = structuredClone(warning);
  other.detail.warningCode = 230001;
  other.detail.warningMessage = 'Another condition';
  t.equal(await onJobEvent(other), 'applied', 'a late warning of the same job still counts');
  t.same(
    (await catalog.get(videoId))?.warnings?.map((w) => w.code),
    ['000000', '230001'],
  );
  const foreign = structuredClone(other);
  foreign.detail.jobId = 'another-job';
  foreign.detail.warningMessage = 'Not ours';
  t.equal(await onJobEvent(foreign), 'duplicate', "another job's warning is not this video's");
});

t.test('a multipart upload completion starts the job too', async (t) => {
  const videoId = await newVideo();
  t.same(await onUpload(await loadEventFixture<S3Event>('s3/object-created-multipart', { bucket, videoId })), ['applied']);
});

t.test('keys are URL-decoded; keys that are not a source upload are ignored', async (t) => {
  t.equal(decodeS3Key('uploads/some+id%3Dx/source'), 'uploads/some id=x/source');
  const event = await loadEventFixture<S3Event>('s3/object-created-encoded-key', { bucket });
  t.same(await onUpload(event), ['ignored'], 'no such video');
  const videoId = await newVideo();
  const put = await uploadEvent(videoId);
  put.Records[0]!.s3.object.key = `video-streams/${videoId}/master.m3u8`;
  t.same(await onUpload(put), ['ignored']);
  put.Records[0]!.eventName = 'ObjectRemoved:Delete';
  t.same(await onUpload(put), ['ignored']);
  t.equal((await catalog.get(videoId))?.status, 'awaiting_upload');
});

t.test('a failed submission throws for a retry, and the retry submits once', async (t) => {
  const videoId = await newVideo();
  const event = await uploadEvent(videoId);
  failNextSubmission = true;
  await t.rejects(onUpload(event), /throttling/);
  const stuck = await catalog.get(videoId);
  t.equal(stuck?.status, 'processing');
  t.notOk(stuck?.jobId, 'claimed but no job yet');
  t.same(await onUpload(event), ['applied'], 'the retry submits the job');
  t.equal(submissions.filter((request) => request.videoId === videoId).length, 1);
});

t.test('job events move the video forward and never back', async (t) => {
  const videoId = await processingVideo();
  const progressing = await jobEvent('progressing', videoId);
  const statusUpdate = await jobEvent('status-update', videoId);
  const complete = await jobEvent('complete', videoId);
  // The fixtures carry MediaConvert's job id; the video's job is the one the handler recorded.
  for (const event of [progressing, statusUpdate, complete]) event.detail.jobId = `job-${videoId}`;

  t.equal(await onJobEvent(progressing), 'applied');
  t.equal(await onJobEvent(statusUpdate), 'applied');
  t.equal((await catalog.get(videoId))?.progressPercent, 7);
  const lower = structuredClone(statusUpdate);
  lower.detail.jobProgress!.jobPercentComplete = 3;
  t.equal(await onJobEvent(lower), 'duplicate', 'progress never goes down');
  t.equal((await catalog.get(videoId))?.progressPercent, 7);

  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `video-streams/${videoId}/master.m3u8`,
      Body: [
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-STREAM-INF:BANDWIDTH=5640800,RESOLUTION=1920x1080,CODECS="avc1.640028,mp4a.40.2"',
        '1080p/index.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=1020800,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"',
        '360p/index.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=3220800,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"',
        '720p/index.m3u8',
        '',
      ].join('\n'),
    }),
  );
  t.equal(await onJobEvent(complete), 'applied');
  const ready = await videos.getVideo({ userId: 'bob' }, videoId);
  t.match(ready, {
    status: 'ready',
    progressPercent: 100,
    durationSeconds: 180.041,
    renditions: [
      { name: '1080p', width: 1920, height: 1080, bandwidth: 5640800 },
      { name: '720p', width: 1280, height: 720, bandwidth: 3220800 },
      { name: '360p', width: 640, height: 360, bandwidth: 1020800 },
    ],
  });

  t.equal(await onJobEvent(complete), 'duplicate', 'a repeated COMPLETE');
  t.equal(await onJobEvent(progressing), 'duplicate', 'a late PROGRESSING');
  t.equal(await onJobEvent(statusUpdate), 'duplicate', 'a late STATUS_UPDATE');
  const error = await ownJobEvent('error', videoId);
  t.equal(await onJobEvent(error), 'duplicate', 'an ERROR after ready');
  t.equal((await catalog.get(videoId))?.status, 'ready', 'still ready');
});

t.test('an ERROR marks the video failed with the reason', async (t) => {
  const videoId = await processingVideo();
  const error = await ownJobEvent('error', videoId);
  t.equal(await onJobEvent(error), 'applied');
  t.match(await videos.getVideo({ userId: 'alice' }, videoId), {
    status: 'failed',
    error: { code: '1040', message: 'Example error message' },
  });
  t.equal(await onJobEvent(error), 'duplicate');
});

t.test('a refused job fails the video at once with the reason (no retry, no dead letter)', async (t) => {
  const videoId = await newVideo();
  refuseNextSubmission = 'MediaConvert refused the job: User is not authorized to perform: iam:PassRole';
  t.same(await onUpload(await uploadEvent(videoId)), ['applied']);
  t.match(await catalog.get(videoId), {
    status: 'failed',
    error: { code: 'transcoder-refused', message: 'MediaConvert refused the job: User is not authorized to perform: iam:PassRole' },
  });
});

t.test("a transcoder's error message reaches the owner without a URL's signature", async (t) => {
  const videoId = await processingVideo();
  const error = await ownJobEvent('error', videoId);
  error.detail.errorMessage = `Could not read https://${bucket}.s3.amazonaws.com/uploads/${videoId}/source?X-Amz-Credential=AKIA%2F20261129&X-Amz-Signature=abcdef0123`;
  t.equal(await onJobEvent(error), 'applied');
  const failed = await catalog.get(videoId);
  t.equal(
    failed?.error?.message,
    `Could not read https://${bucket}.s3.amazonaws.com/uploads/${videoId}/source?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]`,
  );
});

t.test('events of another job or of an unknown video change nothing', async (t) => {
  const videoId = await processingVideo();
  const foreign = await jobEvent('error', videoId);
  foreign.detail.jobId = 'some-older-job';
  t.equal(await onJobEvent(foreign), 'duplicate');
  t.equal((await catalog.get(videoId))?.status, 'processing');
  t.equal(await onJobEvent(await jobEvent('complete', randomUUID())), 'ignored');
  const noMetadata = await jobEvent('progressing', videoId);
  noMetadata.detail.userMetadata = {};
  t.equal(await onJobEvent(noMetadata), 'ignored');
});

/** A master playlist as the local worker publishes it, for the given `name WxH bandwidth` rungs. */
function masterWith(...variants: Array<[string, number, number, number]>): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS', '#EXT-X-START:TIME-OFFSET=0'];
  for (const [name, width, height, bandwidth] of variants) {
    lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${bandwidth},RESOLUTION=${width}x${height},CODECS="avc1.640028,mp4a.40.2"`, `${name}/index.m3u8`);
  }
  return `${lines.join('\n')}\n`;
}

async function putMaster(videoId: string, text: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `video-streams/${videoId}/master.m3u8`, Body: text }));
}

/** The report that the first `count` renditions of the job `job-<videoId>` are published (fast start). */
function published(videoId: string, count: number): Extract<TranscodeUpdate, { type: 'renditions-published' }> {
  // A packaged rendition is complete when announced (with a duration); one still being encoded has none.
  return {
    type: 'renditions-published',
    videoId,
    jobId: `job-${videoId}`,
    videoRenditions: count,
    ...(count === 1 ? { durationSeconds: 180.041 } : {}),
  };
}

const FULL_HD: [string, number, number, number] = ['1080p', 1920, 1080, 5_640_800];
const HD: [string, number, number, number] = ['720p', 1280, 720, 3_220_800];
const SD: [string, number, number, number] = ['360p', 640, 360, 1_020_800];

t.test('renditions published before the job ends make the video playable while processing', async (t) => {
  const videoId = await processingVideo();
  await putMaster(videoId, masterWith(FULL_HD));
  const update = published(videoId, 1);
  t.equal(await videos.applyTranscodeUpdate(update), 'applied');
  t.match(await videos.getVideo({ userId: 'alice' }, videoId), {
    status: 'processing',
    playable: true,
    durationSeconds: 180.041,
    renditions: [{ name: '1080p', width: 1920, height: 1080, bandwidth: 5_640_800 }],
  });
  t.equal(await videos.applyTranscodeUpdate(update), 'duplicate', 'the same announcement again changes nothing');
  await t.rejects(videos.getVideo({ userId: 'bob' }, videoId), { name: 'VideoNotFoundError' }, 'still only its owner sees it');
});

t.test("MediaConvert's STATUS_UPDATE only moves the progress, even were it to name outputs", async (t) => {
  const videoId = await processingVideo();
  await putMaster(videoId, masterWith(FULL_HD));
  const event = await ownJobEvent('status-update', videoId);
  // MediaConvert reports outputs at COMPLETE only: outputs on a STATUS_UPDATE are not its news.
  event.detail.outputGroupDetails = (await jobEvent('complete', videoId)).detail.outputGroupDetails;
  t.equal(await onJobEvent(event), 'applied');
  const video = await videos.getVideo({ userId: 'alice' }, videoId);
  t.equal(video.progressPercent, 7);
  t.notOk(video.playable, 'not playable until COMPLETE');
  t.equal(video.renditions, undefined);
});

t.test('announcements out of order never take renditions away; late ones after ready are no-ops', async (t) => {
  const videoId = await processingVideo();
  const first = published(videoId, 1);
  const second = published(videoId, 3);
  // The second announcement is delivered first: the master already lists all three.
  await putMaster(videoId, masterWith(FULL_HD, HD, SD));
  t.equal(await videos.applyTranscodeUpdate(second), 'applied');
  t.same(
    (await catalog.get(videoId))?.renditions?.map((r) => r.name),
    ['1080p', '720p', '360p'],
  );
  t.equal(await videos.applyTranscodeUpdate(first), 'duplicate', 'the first announcement, late: fewer renditions');
  t.same(
    (await catalog.get(videoId))?.renditions?.map((r) => r.name),
    ['1080p', '720p', '360p'],
    'the renditions stay',
  );

  // A master that lists fewer renditions than recorded (a retried job republishing) is not applied.
  await putMaster(videoId, masterWith(FULL_HD));
  await videos.applyTranscodeUpdate(published(videoId, 4));
  t.same(
    (await catalog.get(videoId))?.renditions?.map((r) => r.name),
    ['1080p', '720p', '360p'],
  );

  await putMaster(videoId, masterWith(FULL_HD, HD, SD));
  const complete = await ownJobEvent('complete', videoId);
  t.equal(await onJobEvent(complete), 'applied');
  t.equal(await videos.applyTranscodeUpdate(published(videoId, 1)), 'duplicate', 'an announcement after ready');
  t.match(await catalog.get(videoId), { status: 'ready', playable: true, progressPercent: 100 });
  t.equal((await catalog.get(videoId))?.renditions?.length, 3);
});

t.test('an announcement of another job or of an unknown video changes nothing', async (t) => {
  const videoId = await processingVideo();
  await putMaster(videoId, masterWith(SD));
  const foreign = published(videoId, 1);
  foreign.jobId = 'some-older-job';
  t.equal(await videos.applyTranscodeUpdate(foreign), 'duplicate');
  const video = await catalog.get(videoId);
  t.notOk(video?.playable);
  t.equal(await videos.applyTranscodeUpdate(published(randomUUID(), 1)), 'ignored');
});
