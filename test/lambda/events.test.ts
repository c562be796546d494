/**
 * The S3 and EventBridge Lambda entry points (events/s3-upload.ts, events/job-state-change.ts:
 * their `handler` exports, which build their services from the environment as in AWS) invoked
 * with the AWS-documented events, configured as template.yaml configures them: TRANSCODER is
 * mediaconvert. S3 and DynamoDB are the local stand-ins; MediaConvert is an HTTP endpoint that
 * records the CreateJob request the SDK really sends, and passes Probe to the local worker.
 */
import t from 'tap';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { planRenditions } from '../../src/domain/ladder.ts';
import { fromWire, loadServiceModel, validateOperationInput } from '../helpers/aws-model.ts';
import type { MediaConvertJobStateChangeEvent, S3Event } from '../../src/schemas/events.ts';
import type { Video } from '../../src/schemas/video.ts';
import { callApi, startTestStack } from '../helpers/stack.ts';
import { loadEventFixture } from '../helpers/fixtures.ts';
import { makeClip } from '../helpers/media.ts';
import { ROLE_ARN, startAwsHandlers } from '../helpers/aws-handlers.ts';

const stack = await startTestStack(t);
const owner = 'event-owner';
const aws = await startAwsHandlers(t, stack);
const { mediaConvert, bucket, s3, catalog } = aws;
const uploadedVideo = (file: string) => aws.uploadedVideo(file, owner);
const { handler: onS3Event } = await import('../../events/s3-upload.ts');
const { handler: onJobEvent } = await import('../../events/job-state-change.ts');
const token = await stack.token(owner);

const jobEvent = (name: string, videoId: string) => loadEventFixture<MediaConvertJobStateChangeEvent>(`eventbridge/mediaconvert-${name}`, { bucket, videoId });

const outputsOf = (body: any) =>
  body.settings.outputGroups[0].outputs.map((output: any) => [output.nameModifier, output.videoDescription.width, output.videoDescription.height]);

const sources = [
  { name: 'a landscape 1080p source', clip: { width: 1920, height: 1080, audio: true }, display: { width: 1920, height: 1080 } },
  {
    name: 'a portrait phone clip (rotation flag)',
    clip: { width: 1280, height: 720, audio: true, rotate: 90 as const },
    display: { width: 720, height: 1280 },
  },
  { name: 'a small silent source', clip: { width: 320, height: 240, audio: false }, display: { width: 320, height: 240 } },
];

for (const source of sources) {
  t.test(`the S3 handler submits the CreateJob MediaConvert needs for ${source.name}`, async (t) => {
    const videoId = await uploadedVideo(await makeClip({ seconds: 1, ...source.clip }));
    const before = mediaConvert.requests.length;
    const event = await loadEventFixture<S3Event>('s3/object-created-put', { bucket, videoId });
    t.same(await onS3Event(event), ['applied']);
    t.equal(mediaConvert.requests.length, before + 1, 'one CreateJob');
    t.match(mediaConvert.probes.at(-1)?.body, { inputFiles: [{ fileUrl: `s3://${bucket}/uploads/${videoId}/source` }] }, 'the source was probed first');

    const sent = mediaConvert.requests.at(-1)!;
    t.equal(sent.method, 'POST');
    t.equal(sent.url, '/2017-08-29/jobs', 'to the configured regional endpoint, no DescribeEndpoints first');
    t.match(sent.headers.authorization, /^AWS4-HMAC-SHA256 .*\/mediaconvert\/aws4_request/);
    t.equal(sent.body.role, ROLE_ARN, 'the job runs as the MediaConvert role');
    t.notOk('queue' in sent.body, 'no queue configured: the Default queue');
    t.equal(sent.body.clientRequestToken, videoId, 'a retried notification gets the same job');
    t.same(sent.body.userMetadata, { videoId, bucket }, 'the videoId for the events, the bucket for the rule');
    t.equal(sent.body.settings.inputs[0].fileInput, `s3://${bucket}/uploads/${videoId}/source`);
    t.equal(sent.body.settings.outputGroups[0].outputGroupSettings.hlsGroupSettings.destination, `s3://${bucket}/video-streams/${videoId}/master`);
    t.same(
      outputsOf(sent.body),
      planRenditions(source.display).map((rendition) => [`_${rendition.name}`, rendition.width, rendition.height]),
      'one output per planned rendition of the probed display size',
    );
    t.equal(Boolean(sent.body.settings.inputs[0].audioSelectors), source.clip.audio, 'audio only when the source has some');

    const video = await catalog.get(videoId);
    t.match(video, { status: 'processing', jobId: mediaConvert.jobIds.at(-1) }, 'the job MediaConvert answered is recorded');
    t.same(await onS3Event(event), ['duplicate'], 'a redelivered notification is a no-op');
    t.equal(mediaConvert.requests.length, before + 1);
  });
}

t.test('a still image fails with its reason before any job: no CreateJob is sent', async (t) => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { tempDir } = await import('../helpers/media.ts');
  const png = `${await tempDir(t)}/photo.png`;
  await promisify(execFile)('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1', png]);
  const videoId = await uploadedVideo(png);
  const before = mediaConvert.requests.length;
  t.same(await onS3Event(await loadEventFixture<S3Event>('s3/object-created-put', { bucket, videoId })), ['applied']);
  t.equal(mediaConvert.requests.length, before, 'no CreateJob');
  const { body } = await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token });
  t.match(body, { status: 'failed', error: { code: 'still-image', message: 'This is a still image, not a video.' } });
});

t.test('what the SDK sent for every source is a valid CreateJob by the MediaConvert API model', async (t) => {
  const model = loadServiceModel('mediaconvert');
  t.ok(mediaConvert.requests.length >= 3);
  for (const sent of mediaConvert.requests) {
    t.same(validateOperationInput(model, 'CreateJob', fromWire(model, 'CreateJobRequest', sent.body)), [], `CreateJob for ${sent.body.userMetadata.videoId}`);
  }
});

t.test("the job handler follows MediaConvert's events to ready, reading the master it wrote", async (t) => {
  const videoId = await uploadedVideo(await makeClip({ seconds: 1, width: 640, height: 360, audio: true }));
  await onS3Event(await loadEventFixture<S3Event>('s3/object-created-put', { bucket, videoId }));
  const { jobId } = (await catalog.get(videoId))!;

  const progressing = await jobEvent('progressing', videoId);
  const statusUpdate = await jobEvent('status-update', videoId);
  const complete = await jobEvent('complete', videoId);
  for (const event of [progressing, statusUpdate, complete]) event.detail.jobId = jobId!;
  t.equal(await onJobEvent(progressing), 'applied');
  t.equal(await onJobEvent(statusUpdate), 'applied');

  // What MediaConvert leaves in the bucket before it reports COMPLETE.
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `video-streams/${videoId}/master.m3u8`,
      Body: '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=1020800,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"\nmaster_360p.m3u8\n',
    }),
  );
  t.equal(complete.detail.outputGroupDetails?.[0]?.playlistFilePaths?.[0], `s3://${bucket}/video-streams/${videoId}/master.m3u8`);
  t.equal(await onJobEvent(complete), 'applied');
  t.equal(await onJobEvent(progressing), 'duplicate', 'a late PROGRESSING never undoes ready');

  const { status, body } = await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token });
  t.equal(status, 200);
  t.match(body, { status: 'ready', renditions: [{ name: '360p', width: 640, height: 360, bandwidth: 1020800 }], durationSeconds: Number });
  // MediaConvert reports outputs only at COMPLETE: watchable when ready, after the upload.
  t.ok(body.uploadedAt && body.readyAt && body.uploadedAt <= body.readyAt, `uploaded ${body.uploadedAt}, ready ${body.readyAt}`);
  t.equal(body.playableAt, body.readyAt, 'playable when ready');
});

t.test("an ERROR event fails the video with MediaConvert's code and message", async (t) => {
  const videoId = await uploadedVideo(await makeClip({ seconds: 1, width: 320, height: 240, audio: false }));
  await onS3Event(await loadEventFixture<S3Event>('s3/object-created-put', { bucket, videoId }));
  const error = await jobEvent('error', videoId);
  error.detail.jobId = (await catalog.get(videoId))!.jobId!;
  t.equal(await onJobEvent(error), 'applied');
  const { body } = await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token });
  t.match(body, { status: 'failed', error: { code: String(error.detail.errorCode), message: error.detail.errorMessage }, failedAt: String });
  t.notOk(body.playableAt ?? body.readyAt, 'never playable');
});
