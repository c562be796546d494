/**
 * Fast start through the whole local pipeline (issues 6 and 13): an upload becomes playable
 * before it is ready. The upload handler hands the S3 notification to the fast-start handler, as
 * in AWS: a standard H.264/AAC clip is packaged as it is and published as its top rendition under
 * `fast-start/`, any other source's smallest rendition is encoded and published first; the
 * worker, like MediaConvert, lists its ladder only when the job completes, and every rendition
 * of the ladder cuts its segments at the same instants. Real s3rver, dynalite, ffmpeg; no timing
 * assertions (the bench measures times).
 */
import t, { type Test } from 'tap';
import HLS from 'hls-parser';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createAwsClients } from '../../src/app/aws-clients.ts';
import type { Playback } from '../../src/schemas/playback.ts';
import type { Video } from '../../src/schemas/video.ts';
import { callApi, startTestStack, uploadVideo } from '../helpers/stack.ts';
import { decodedDurationSeconds, ffprobeJson, firstVideoTimestamp, makeClip, tempDir } from '../helpers/media.ts';
import { downloadPrefix } from '../helpers/streams.ts';

const stack = await startTestStack(t);
const token = await stack.token('fast-starter');
const s3 = await createAwsClients(stack.config).s3();

interface Seen {
  at: number;
  video: Video;
}

/**
 * Uploads a clip and follows it until ready, noting every state the API showed; the first time
 * it shows `playable`, asks for a playback URL and reads the master through the CDN.
 */
async function followUpload(t: Test, clip: string, title: string) {
  const { videoId, putStatus } = await uploadVideo(stack, token, clip, { title });
  t.equal(putStatus, 200);
  const uploaded = Date.now();
  const seen: Seen[] = [];
  let early: { playback: number; variants: string[] } | undefined;
  const deadline = uploaded + 180_000;
  for (;;) {
    const { body: video } = await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token });
    seen.push({ at: Date.now() - uploaded, video });
    if (video.status === 'processing' && video.playable && !early) {
      const playback = await callApi<Playback>(stack, 'GET', `/videos/${videoId}/playback`, { token });
      let variants: string[] = [];
      if (playback.status === 200) {
        const master = HLS.parse(await (await fetch(playback.body.manifestUrl)).text());
        if (master.isMasterPlaylist) variants = master.variants.map((variant) => variant.uri.split('?')[0]!);
      }
      early = { playback: playback.status, variants };
    }
    if (video.status === 'ready' || video.status === 'failed' || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const ready = seen.at(-1)!;
  t.equal(ready.video.status, 'ready', JSON.stringify(ready.video.error));
  const playable = seen.find((state) => state.video.playable);
  t.comment(`${title}: playable ${playable ? `${(playable.at / 1000).toFixed(2)} s` : 'never'}, ready ${(ready.at / 1000).toFixed(2)} s after the upload`);
  return { videoId, seen, ready: ready.video, early };
}

/**
 * The fast-start rendition after the ladder took over: still in storage, whole, for a viewer who
 * started on it (the ladder's master no longer lists it).
 */
async function checkFastStartKept(t: Test, video: Video, name: string, seconds: number) {
  const dir = await tempDir(t);
  await downloadPrefix(s3, stack.config.BUCKET_NAME, `video-streams/${video.videoId}/fast-start/`, dir);
  const file = path.join(dir, name, 'index.m3u8');
  const media = HLS.parse(await readFile(file, 'utf8'));
  if (media.isMasterPlaylist) throw new Error('expected a media playlist');
  t.ok(media.endlist, `fast-start/${name}: kept, and ended`);
  t.equal(media.playlistType, 'VOD');
  t.ok(Math.abs((await decodedDurationSeconds(file)) - seconds) < 0.5, `fast-start/${name}: plays to the end`);
}

/** The renditions a 720p source gets, largest first. */
const LADDER_OF_720P: Array<[number, number]> = [
  [1280, 720],
  [960, 540],
  [640, 360],
];

/** Downloads the video's streams; every rendition decodes at its size for the whole duration. */
async function checkRenditions(t: Test, video: Video, sizes: Array<[number, number]>, seconds: number) {
  const dir = await tempDir(t);
  await downloadPrefix(s3, stack.config.BUCKET_NAME, `video-streams/${video.videoId}/`, dir);
  const master = HLS.parse(await readFile(path.join(dir, 'master.m3u8'), 'utf8'));
  if (!master.isMasterPlaylist) throw new Error('not a master playlist');
  t.same(
    master.variants.map((v) => [v.resolution?.width, v.resolution?.height]),
    sizes,
    'the master lists every rendition, largest first',
  );
  t.same(
    video.renditions?.map((r) => [r.width, r.height]),
    sizes,
    'and so does the API',
  );
  const playlists: Record<string, { durations: number[]; starts: number[] }> = {};
  for (const variant of master.variants) {
    t.match(variant.codecs, /^avc1\.[0-9a-f]{6},mp4a\.40\.2$/, `${variant.uri}: CODECS`);
    t.ok(variant.bandwidth > 0, `${variant.uri}: BANDWIDTH ${variant.bandwidth}`);
    const file = path.join(dir, variant.uri);
    const media = HLS.parse(await readFile(file, 'utf8'));
    if (media.isMasterPlaylist) throw new Error('expected a media playlist');
    t.equal(media.playlistType, 'VOD');
    t.ok(media.endlist);
    const probed = await ffprobeJson(file);
    t.match(
      probed.streams.find((s) => s.codec_type === 'video'),
      { codec_name: 'h264', width: variant.resolution?.width, height: variant.resolution?.height },
    );
    const decoded = await decodedDurationSeconds(file);
    t.ok(Math.abs(decoded - seconds) < 0.5, `${variant.uri} decodes ${decoded.toFixed(2)} s of ${seconds}`);
    const starts: number[] = [];
    for (const segment of media.segments) starts.push(await firstVideoTimestamp(path.join(path.dirname(file), segment.uri)));
    playlists[variant.uri] = { durations: media.segments.map((s) => s.duration), starts };
  }
  return playlists;
}

t.test('a web-ready H.264/AAC clip plays from its packaged top rendition before the rest is encoded', async (t) => {
  // Within the ladder's contract (a keyframe every 3 s, 2 Mbit/s for 720p): segments follow the
  // source's keyframes (6 s: the first keyframe at or after each 4 s), within the 6 s target.
  const clip = await makeClip({ seconds: 12, width: 1280, height: 720, audio: true, keyframeSeconds: 3, videoBitrate: 2_000_000 });
  const { seen, ready, early } = await followUpload(t, clip, 'Standard');

  const firstPlayable = seen.find((state) => state.video.playable);
  t.ok(firstPlayable, 'was playable');
  t.equal(firstPlayable?.video.status, 'processing', 'while still processing');
  t.same(
    firstPlayable?.video.renditions?.map((r) => r.name),
    ['720p'],
    'with its packaged top rendition only',
  );
  // Packaged within half a second it is announced finished, with its duration; on a busy machine
  // it may be announced while still being written, without.
  if (firstPlayable?.video.durationSeconds !== undefined) t.equal(firstPlayable.video.durationSeconds, 12, 'whose duration is known at once');
  t.ok(seen.indexOf(firstPlayable!) < seen.length - 1, 'before ready');
  t.ok(ready.playableAt! < ready.readyAt!, `and the timeline says so: playable ${ready.playableAt}, ready ${ready.readyAt}`);
  t.equal(ready.playableAt, firstPlayable?.video.playableAt, 'since the first publication');
  t.ok(
    seen.filter((state) => state.video.status === 'processing' && state.video.playable).length >= 2,
    'and for a while: the rungs below were still being encoded',
  );
  t.equal(early?.playback, 200, 'its owner got a playback URL then');
  t.same(early?.variants, ['fast-start/720p/index.m3u8'], 'for a master listing what was published: the fast-start folder');
  const renditionCounts = seen.map((state) => state.video.renditions?.length ?? 0);
  t.same(
    renditionCounts,
    [...renditionCounts].sort((a, b) => a - b),
    'renditions only grow',
  );

  const playlists = await checkRenditions(t, ready, LADDER_OF_720P, 12);
  const top = playlists['720p/index.m3u8']!;
  for (const rung of ['540p', '360p']) {
    const lower = playlists[`${rung}/index.m3u8`]!;
    t.same(lower.durations, top.durations, `${rung}: segment durations align (${top.durations.join(', ')})`);
    t.same(lower.starts, top.starts, `${rung}: segment start times align (${top.starts.join(', ')})`);
  }
  // ffmpeg cuts at the first keyframe at or past each multiple of 4 s (6, 9), then at the end (12).
  t.same(top.durations, [6, 3, 3], 'cut at the source keyframes, not a fixed 4 s, within the 6 s target');
  await checkFastStartKept(t, ready, '720p', 12);
});

t.test('an HEVC clip plays from its smallest rendition first, then becomes ready with the full ladder', async (t) => {
  const clip = await makeClip({ seconds: 12, width: 1280, height: 720, audio: true, fps: 15, videoCodec: 'hevc' });
  const { seen, ready, early } = await followUpload(t, clip, 'HEVC');
  const firstPlayable = seen.find((state) => state.video.playable);
  t.equal(firstPlayable?.video.status, 'processing', 'playable while processing');
  t.same(
    firstPlayable?.video.renditions?.map((r) => r.name),
    ['360p'],
    'with the smallest rendition',
  );
  t.equal(early?.playback, 200);
  t.same(early?.variants, ['fast-start/360p/index.m3u8']);
  const playlists = await checkRenditions(t, ready, LADDER_OF_720P, 12);
  t.same(playlists['360p/index.m3u8']!.durations, [4, 4, 4]);
  t.same(playlists['720p/index.m3u8']!.starts, playlists['360p/index.m3u8']!.starts, 'aligned');
  t.same(playlists['540p/index.m3u8']!.starts, playlists['360p/index.m3u8']!.starts, 'aligned');
  await checkFastStartKept(t, ready, '360p', 12);
});
