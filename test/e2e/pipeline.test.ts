/**
 * The whole pipeline as a user drives it: POST /uploads, PUT the bytes to the pre-signed URL with
 * plain fetch, wait for ready, then check with ffprobe that the master playlist and every
 * rendition decode with the expected sizes and duration. Real s3rver, dynalite, ffmpeg.
 */
import t, { type Test } from 'tap';
import HLS from 'hls-parser';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createAwsClients } from '../../src/app/aws-clients.ts';
import type { Video } from '../../src/schemas/video.ts';
import { callApi, startTestStack, uploadVideo, waitForStatus } from '../helpers/stack.ts';
import { decodedDurationSeconds, ffprobeJson, makeClip, makeNotAVideo, makeTruncatedMp4, tempDir } from '../helpers/media.ts';
import { downloadPrefix } from '../helpers/streams.ts';

const stack = await startTestStack(t, { transcodeConcurrency: 2 });
const token = await stack.token('uploader');
const s3 = await createAwsClients(stack.config).s3();

/** Every rendition in the master decodes, at its advertised size, for the clip's duration. */
async function checkLadder(t: Test, video: Video, expected: { sizes: Array<[number, number]>; seconds: number; audio: boolean }) {
  const dir = await tempDir(t);
  const files = await downloadPrefix(s3, stack.config.BUCKET_NAME, `video-streams/${video.videoId}/`, dir);
  t.ok(files.includes('master.m3u8'), 'master playlist written');
  const master = HLS.parse(await readFile(path.join(dir, 'master.m3u8'), 'utf8'));
  if (!master.isMasterPlaylist) throw new Error('not a master playlist');
  t.same(
    master.variants.map((variant) => [variant.resolution?.width, variant.resolution?.height]),
    expected.sizes,
    'one variant per expected rendition, largest first',
  );
  t.same(
    video.renditions?.map((rendition) => [rendition.width, rendition.height]),
    expected.sizes,
    'the API reports the same renditions',
  );
  t.ok(Math.abs((video.durationSeconds ?? 0) - expected.seconds) < 0.5, `duration ${video.durationSeconds} ≈ ${expected.seconds}`);
  for (const variant of master.variants) {
    t.ok(variant.bandwidth > 0, 'BANDWIDTH');
    t.match(variant.codecs, expected.audio ? /^avc1\.[0-9a-f]{6},mp4a\.40\.2$/ : /^avc1\.[0-9a-f]{6}$/, 'CODECS');
    const playlistFile = path.join(dir, variant.uri);
    const media = HLS.parse(await readFile(playlistFile, 'utf8'));
    if (media.isMasterPlaylist) throw new Error('expected a media playlist');
    t.ok(media.segments.length >= 1);
    for (const segment of media.segments.slice(0, -1)) {
      t.ok(Math.abs(segment.duration - 4) < 0.1, `segments are ~4 s (${segment.duration})`);
    }
    const probed = await ffprobeJson(playlistFile);
    const videoStream = probed.streams.find((stream) => stream.codec_type === 'video');
    t.match(videoStream, { codec_name: 'h264', width: variant.resolution?.width, height: variant.resolution?.height });
    t.equal(
      probed.streams.some((stream) => stream.codec_type === 'audio' && stream.codec_name === 'aac'),
      expected.audio,
      'audio as in the source',
    );
    const decoded = await decodedDurationSeconds(playlistFile);
    t.ok(Math.abs(decoded - expected.seconds) < 0.5, `${variant.uri} decodes ${decoded.toFixed(2)} s of ${expected.seconds}`);
  }
}

t.test('a landscape clip with audio becomes a playable ladder, never above the source', async (t) => {
  const clip = await makeClip({ seconds: 6, width: 1280, height: 720, audio: true });
  const { videoId, putStatus } = await uploadVideo(stack, token, clip, { title: 'Landscape' });
  t.equal(putStatus, 200, 'plain fetch PUT to the pre-signed URL');
  const { video, seen } = await waitForStatus(stack, token, videoId, ['ready', 'failed']);
  t.equal(video.status, 'ready', JSON.stringify(video.error));
  t.ok(
    seen.some((state) => state.status === 'processing'),
    'was seen processing',
  );
  // In order; playable before ready when the worker published a rendition while encoding (fast
  // start), which a short clip encoded quickly may not need.
  const { createdAt, uploadedAt, playableAt, readyAt } = video;
  t.ok(
    uploadedAt && playableAt && readyAt && createdAt <= uploadedAt && uploadedAt <= playableAt && playableAt <= readyAt,
    `the timeline: created ${createdAt}, uploaded ${uploadedAt}, playable ${playableAt}, ready ${readyAt}`,
  );
  await checkLadder(t, video, {
    sizes: [
      [1280, 720],
      [960, 540],
      [640, 360],
    ],
    seconds: 6,
    audio: true,
  });
  const list = await callApi<{ items: Video[] }>(stack, 'GET', '/videos', { token: await stack.token('someone-else') });
  t.ok(
    list.body.items.some((item) => item.videoId === videoId),
    'listed as ready for every signed-in user',
  );
});

t.test('a portrait phone video (rotated) keeps its shape', async (t) => {
  // Coded 1280x720 with a 90° display rotation, as phones record portrait video.
  const clip = await makeClip({ seconds: 3, width: 1280, height: 720, audio: true, rotate: 90 });
  const { videoId } = await uploadVideo(stack, token, clip, { title: 'Portrait' });
  const { video } = await waitForStatus(stack, token, videoId, ['ready', 'failed']);
  t.equal(video.status, 'ready', JSON.stringify(video.error));
  await checkLadder(t, video, {
    sizes: [
      [720, 1280],
      [540, 960],
      [360, 640],
    ],
    seconds: 3,
    audio: true,
  });
});

t.test('a clip with no audio and odd dimensions', async (t) => {
  const clip = await makeClip({ seconds: 3, width: 641, height: 361, audio: false });
  const { videoId } = await uploadVideo(stack, token, clip, { title: 'Silent odd' });
  const { video } = await waitForStatus(stack, token, videoId, ['ready', 'failed']);
  t.equal(video.status, 'ready', JSON.stringify(video.error));
  await checkLadder(t, video, { sizes: [[640, 360]], seconds: 3, audio: false });
});

t.test('a file that is not a video, and a truncated MP4, end as failed with a readable reason', async (t) => {
  for (const [label, file] of [
    ['not a video', await makeNotAVideo()],
    ['truncated', await makeTruncatedMp4()],
  ] as const) {
    const { videoId, putStatus } = await uploadVideo(stack, token, file, { title: label });
    t.equal(putStatus, 200);
    const { video } = await waitForStatus(stack, token, videoId, ['ready', 'failed']);
    t.equal(video.status, 'failed', label);
    t.match(video.error, { code: String, message: String }, label);
    t.notMatch(video.error?.message, /ffprobe|ffmpeg|http:|\n/, `${label}: "${video.error?.message}" reads as a reason, not a dump`);
    t.match(video.error?.message, /video|read|corrupt|truncated/i);
  }
  // Nothing crashed: the next upload still works.
  const clip = await makeClip({ seconds: 2, width: 320, height: 240, audio: true });
  const { videoId } = await uploadVideo(stack, token, clip, { title: 'After failures' });
  const { video } = await waitForStatus(stack, token, videoId, ['ready', 'failed']);
  t.equal(video.status, 'ready');
  await checkLadder(t, video, { sizes: [[320, 240]], seconds: 2, audio: true });
});
