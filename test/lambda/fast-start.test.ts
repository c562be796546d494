/**
 * Fast start as AWS runs it (issue 13): the upload function (events/s3-upload.ts) hands its S3
 * notification to the fast-start function with one asynchronous Invoke, and the fast-start
 * function (events/fast-start.ts) publishes the video's first rendition while MediaConvert makes
 * the ladder. Both are their `handler` exports, with services built from the environment as
 * template.yaml sets it (TRANSCODER mediaconvert, FAST_START_FUNCTION_NAME); S3, DynamoDB and
 * CloudFront are the local stand-ins, MediaConvert and Lambda HTTP stand-ins that record what the
 * SDK sends. MediaConvert's stand-in never completes on its own: each test says when it does.
 */
import t, { type Test } from 'tap';
import HLS from 'hls-parser';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { MediaConvertJobStateChangeEvent, S3Event } from '../../src/schemas/events.ts';
import type { Playback } from '../../src/schemas/playback.ts';
import type { Video } from '../../src/schemas/video.ts';
import { FAST_START_TIMEOUT_SECONDS } from '../../deploy/local/stack.ts';
import { callApi, startTestStack } from '../helpers/stack.ts';
import { loadEventFixture } from '../helpers/fixtures.ts';
import { makeClip } from '../helpers/media.ts';
import { startAwsHandlers } from '../helpers/aws-handlers.ts';
import { startFakeLambda } from '../helpers/fake-lambda.ts';
import { loadServiceModel, validateOperationInput } from '../helpers/aws-model.ts';
import { urisOf } from '../helpers/playback.ts';

const FUNCTION_NAME = 'vod-test-FastStartFunction-1A2B3C4D5E6F';

const stack = await startTestStack(t);
const lambda = await startFakeLambda(t);
const owner = 'fast-start-owner';
const aws = await startAwsHandlers(t, stack, { FAST_START_FUNCTION_NAME: FUNCTION_NAME, AWS_ENDPOINT_URL_LAMBDA: lambda.url });
const { bucket, s3, catalog } = aws;
const { handler: onS3Event } = await import('../../events/s3-upload.ts');
const { handler: onFastStart } = await import('../../events/fast-start.ts');
const { handler: onJobEvent } = await import('../../events/job-state-change.ts');
const token = await stack.token(owner);

/** Lambda's context: the time left of the function's timeout. */
const lambdaContext = (seconds: number = FAST_START_TIMEOUT_SECONDS) => {
  const deadline = Date.now() + seconds * 1000;
  return { getRemainingTimeInMillis: () => deadline - Date.now() };
};

/** A source uploaded and handed to the upload function; the fast-start event it sent on. */
async function uploaded(t: Test, clip: string): Promise<{ videoId: string; fastStartEvent: S3Event }> {
  const videoId = await aws.uploadedVideo(clip, owner);
  const before = lambda.invocations.length;
  t.same(await onS3Event(await loadEventFixture<S3Event>('s3/object-created-put', { bucket, videoId })), ['applied']);
  t.equal(lambda.invocations.length, before + 1, 'one Invoke of the fast-start function');
  const invocation = lambda.invocations.at(-1)!;
  return { videoId, fastStartEvent: JSON.parse(invocation.payload) as S3Event };
}

/** Keys under a prefix of the bucket. */
async function keysUnder(prefix: string): Promise<string[]> {
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (listed.Contents ?? []).map((object) => object.Key!);
}

/** Plays through the signed CDN path as a player starts: the master, the first variant's playlist, its first segment. */
async function playFirstSegment(t: Test, videoId: string): Promise<{ variants: string[] }> {
  const playback = await callApi<Playback>(stack, 'GET', `/videos/${videoId}/playback`, { token });
  t.equal(playback.status, 200, 'a playback URL for its owner');
  const masterResponse = await fetch(playback.body.manifestUrl);
  t.equal(masterResponse.status, 200, 'the master, through the CDN');
  const masterText = await masterResponse.text();
  const variants = urisOf(masterText);
  const playlistUrl = new URL(variants[0]!, playback.body.manifestUrl);
  const playlist = await fetch(playlistUrl);
  t.equal(playlist.status, 200, `${playlistUrl.pathname}, through the CDN`);
  const segmentUrl = new URL(urisOf(await playlist.text())[0]!, playlistUrl);
  const segment = await fetch(segmentUrl);
  t.equal(segment.status, 200, `its first segment ${segmentUrl.pathname}`);
  t.ok((await segment.arrayBuffer()).byteLength > 1000, 'with video in it');
  return { variants: variants.map((uri) => uri.split('?')[0]!) };
}

/** What MediaConvert does at the end: writes the ladder's master, then reports COMPLETE. */
async function mediaConvertCompletes(videoId: string, ladder: string) {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `video-streams/${videoId}/master.m3u8`, Body: ladder }));
  const complete = await loadEventFixture<MediaConvertJobStateChangeEvent>('eventbridge/mediaconvert-complete', { bucket, videoId });
  complete.detail.jobId = (await catalog.get(videoId))!.jobId!;
  return onJobEvent(complete);
}

t.test('the upload function hands the notification on with one asynchronous Invoke, valid by the Lambda API model', async (t) => {
  const clip = await makeClip({ seconds: 2, width: 320, height: 240, audio: false });
  const { videoId, fastStartEvent } = await uploaded(t, clip);
  const invocation = lambda.invocations.at(-1)!;
  t.equal(invocation.functionName, FUNCTION_NAME, 'the function the template named');
  t.equal(invocation.headers['x-amz-invocation-type'], 'Event', 'asynchronous: Lambda queues it and retries it itself');
  t.match(invocation.headers.authorization, /^AWS4-HMAC-SHA256 .*\/lambda\/aws4_request/);
  const notification = await loadEventFixture<S3Event>('s3/object-created-put', { bucket, videoId });
  t.same(fastStartEvent, notification, "the S3 notification's record, as received");
  const model = loadServiceModel('lambda');
  t.same(
    validateOperationInput(model, 'Invoke', {
      FunctionName: invocation.functionName,
      InvocationType: invocation.headers['x-amz-invocation-type'],
      Payload: invocation.payload,
    }),
    [],
    'a valid Invoke',
  );
  t.same(await onS3Event(notification), ['duplicate'], 'a repeated notification starts no second job');
  t.equal(lambda.invocations.at(-1)!.payload, invocation.payload, 'and hands it on again: the fast-start function is idempotent');
});

t.test('a standard source: packaged by the fast-start function, playable through the signed CDN path before MediaConvert completes', async (t) => {
  const clip = await makeClip({ seconds: 12, width: 1280, height: 720, audio: true, keyframeSeconds: 3, videoBitrate: 2_000_000 });
  const { videoId, fastStartEvent } = await uploaded(t, clip);
  t.match(await catalog.get(videoId), { status: 'processing', jobId: String }, 'MediaConvert has the job');
  t.notOk((await catalog.get(videoId))?.playable, 'not playable yet');

  t.same(await onFastStart(fastStartEvent, lambdaContext()), ['applied']);
  const { body: video } = await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token });
  t.match(video, { status: 'processing', playable: true, playableAt: String }, 'playable while MediaConvert works');
  t.same(
    video.renditions?.map((r) => [r.name, r.width, r.height]),
    [['720p', 1280, 720]],
    'with the source packaged as its top rendition',
  );
  const { variants } = await playFirstSegment(t, videoId);
  t.same(variants, ['fast-start/720p/index.m3u8'], 'the master lists the fast-start folder');

  t.same(await onFastStart(fastStartEvent, lambdaContext()), ['duplicate'], 'a repeat finds it playable');

  // MediaConvert's ladder replaces the master; the fast-start rendition stays for whoever is on it.
  const ladder =
    '#EXTM3U\n#EXT-X-VERSION:3\n' +
    '#EXT-X-STREAM-INF:BANDWIDTH=3200000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"\nmaster_720p.m3u8\n' +
    '#EXT-X-STREAM-INF:BANDWIDTH=1020800,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"\nmaster_360p.m3u8\n';
  t.equal(await mediaConvertCompletes(videoId, ladder), 'applied');
  // From the catalog: the stack's API may still hold its short-lived read of the processing video.
  const ready = (await catalog.get(videoId))!;
  t.match(ready, { status: 'ready', playableAt: video.playableAt }, 'ready; playable since the fast start');
  t.same(
    ready.renditions?.map((r) => r.name),
    ['720p', '360p'],
    "the ladder's renditions",
  );
  const kept = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `video-streams/${videoId}/fast-start/720p/index.m3u8` }));
  const media = HLS.parse(await kept.Body!.transformToString());
  t.ok(!media.isMasterPlaylist && media.endlist && media.segments.length > 0, 'the fast-start rendition is still there, whole');
});

t.test('a non-standard source (HEVC): the smallest rung is encoded, and playable while it still is', async (t) => {
  const clip = await makeClip({ seconds: 24, width: 1280, height: 720, audio: true, fps: 15, videoCodec: 'hevc' });
  const { videoId, fastStartEvent } = await uploaded(t, clip);
  let finished = false;
  const running = onFastStart(fastStartEvent, lambdaContext()).finally(() => (finished = true));
  while (!finished && !(await catalog.get(videoId))?.playable) await new Promise((resolve) => setTimeout(resolve, 20));
  const growing = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `video-streams/${videoId}/fast-start/360p/index.m3u8` }));
  const growingText = await growing.Body!.transformToString();
  t.notOk(finished, 'playable before the function is done: as soon as the master lists the growing rendition');
  t.ok(growingText.includes('#EXT-X-PLAYLIST-TYPE:EVENT') && !growingText.includes('#EXT-X-ENDLIST'), 'which was still being encoded');
  t.same(await running, ['applied']);
  const { body: video } = await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token });
  t.match(video, { status: 'processing', playable: true });
  t.same(
    video.renditions?.map((r) => [r.name, r.width, r.height]),
    [['360p', 640, 360]],
    'the smallest rendition of its ladder',
  );
  const { variants } = await playFirstSegment(t, videoId);
  t.same(variants, ['fast-start/360p/index.m3u8']);
});

t.test('MediaConvert first: a fast start that comes after the ladder lists nothing', async (t) => {
  const clip = await makeClip({ seconds: 4, width: 640, height: 360, audio: true, keyframeSeconds: 2 });
  const { videoId, fastStartEvent } = await uploaded(t, clip);
  const ladder = '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=1020800,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"\nmaster_360p.m3u8\n';
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `video-streams/${videoId}/master.m3u8`, Body: ladder }));
  t.same(await onFastStart(fastStartEvent, lambdaContext()), ['duplicate'], 'the master was there: nothing recorded');
  const master = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: `video-streams/${videoId}/master.m3u8` }));
  t.equal(await master.Body!.transformToString(), ladder, "the ladder's master is untouched (S3's conditional write)");
  t.notOk((await catalog.get(videoId))?.playable, 'nothing recorded as playable');
});

t.test('too little time left in the function: nothing is published, the video waits for MediaConvert', async (t) => {
  const clip = await makeClip({ seconds: 8, width: 1280, height: 720, audio: true, fps: 15, videoCodec: 'hevc' });
  const { videoId, fastStartEvent } = await uploaded(t, clip);
  t.same(await onFastStart(fastStartEvent, lambdaContext(20.5)), ['ignored']);
  t.same(await keysUnder(`video-streams/${videoId}/`), [], 'nothing written');
  t.notOk((await catalog.get(videoId))?.playable);
});

t.test('a video whose job is not recorded yet, or that failed, is left alone', async (t) => {
  const clip = await makeClip({ seconds: 2, width: 320, height: 240, audio: false });
  const videoId = await aws.uploadedVideo(clip, owner);
  const event = await loadEventFixture<S3Event>('s3/object-created-put', { bucket, videoId });
  t.same(await onFastStart(event, lambdaContext()), ['ignored'], 'awaiting its upload: no job to report as');
  t.same(await keysUnder(`video-streams/${videoId}/`), []);
  const notAnUpload = await loadEventFixture<S3Event>('s3/object-created-put', { bucket });
  notAnUpload.Records[0]!.s3.object.key = 'video-streams/x/master.m3u8';
  t.same(await onFastStart(notAnUpload, lambdaContext()), ['ignored'], 'a key that is no upload');
  await t.rejects(
    onFastStart({ Records: [{ nonsense: true }] } as unknown as S3Event, lambdaContext()),
    { name: 'MalformedEventError' },
    'a malformed event is refused',
  );
});
