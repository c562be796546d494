import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import t, { type Test } from 'tap';
import HLS from 'hls-parser';
import {
  avc1CodecString,
  buildLadderArgs,
  ensureMasterAttributes,
  runLadder,
  TranscodeFailedError,
} from '../../../../deploy/local/transcoder/ffmpeg-ladder.ts';
import { probeSource, SourceUnreadableError } from '../../../../deploy/local/transcoder/probe.ts';
import { planRenditions, SEGMENT_SECONDS } from '../../../../src/ladder.ts';
import {
  decodedDurationSeconds,
  ffprobeJson,
  makeClip,
  makeNotAVideo,
  makeTruncatedMp4,
  tempDir,
  type ClipOptions,
} from '../../../helpers/media.ts';

type Tap = Test;

/** Probes, plans and encodes a generated clip; returns everything a test wants to look at. */
async function encode(t: Tap, clip: Omit<ClipOptions, 'dir'>) {
  const dir = await tempDir(t);
  const input = await makeClip({ ...clip, dir });
  const source = await probeSource(input);
  const renditions = planRenditions(source);
  const outDir = path.join(dir, 'out');
  const progress: number[] = [];
  const result = await runLadder({ input, source, renditions, outDir, onProgress: (p) => progress.push(p) });
  const masterText = await readFile(path.join(outDir, 'master.m3u8'), 'utf8');
  return { source, renditions, outDir, progress, result, masterText };
}

/** Each rendition decodes at its planned size and the clip's duration; the master is complete. */
async function assertPlayableLadder(t: Tap, encoded: Awaited<ReturnType<typeof encode>>, seconds: number) {
  const { outDir, result, masterText, source } = encoded;
  const master = HLS.parse(masterText);
  if (!master.isMasterPlaylist) throw new Error('not a master playlist');
  t.equal(master.variants.length, result.renditions.length, 'one variant per rendition');

  for (const rendition of result.renditions) {
    const variant = master.variants.find((v) => v.uri === rendition.playlist);
    t.ok(variant, `the master lists ${rendition.playlist}`);
    t.ok(variant!.bandwidth > rendition.videoBitrate, `${rendition.name} has BANDWIDTH`);
    t.same(variant!.resolution, { width: rendition.width, height: rendition.height }, `${rendition.name} RESOLUTION`);
    t.match(variant!.codecs, source.hasAudio ? /^avc1\.6400[0-9a-f]{2},mp4a\.40\.2$/ : /^avc1\.6400[0-9a-f]{2}$/, `${rendition.name} CODECS`);

    const playlistPath = path.join(outDir, rendition.playlist);
    const probed = await ffprobeJson(playlistPath);
    const video = probed.streams.find((s) => s.codec_type === 'video');
    t.match(video, { codec_name: 'h264', profile: 'High', width: rendition.width, height: rendition.height });
    t.equal(probed.streams.some((s) => s.codec_type === 'audio'), source.hasAudio, 'audio only when the source has it');
    const decoded = await decodedDurationSeconds(playlistPath);
    t.ok(Math.abs(decoded - seconds) <= 0.5, `${rendition.name} decodes ${decoded.toFixed(2)} s of ${seconds} s`);

    const files = await readdir(path.join(outDir, rendition.name));
    t.same(files.sort(), ['index.m3u8', ...rendition.segments.map((s) => path.basename(s))].sort());
    t.match(rendition.segments[0], new RegExp(`^${rendition.name}/segment_00000\\.ts$`));
  }
}

t.test('a 720p landscape clip with audio becomes an aligned 720p + 360p ladder of 4 s segments', async (t) => {
  const encoded = await encode(t, { seconds: 9, width: 1280, height: 720, audio: true });
  t.same(encoded.result.renditions.map((r) => r.name), ['720p', '360p']);
  await assertPlayableLadder(t, encoded, 9);

  const durations = await Promise.all(
    encoded.result.renditions.map(async (r) => {
      const media = HLS.parse(await readFile(path.join(encoded.outDir, r.playlist), 'utf8'));
      return media.isMasterPlaylist ? [] : media.segments.map((s) => s.duration);
    }),
  );
  t.same(durations[0], durations[1], 'segments cut at the same instants in every rendition');
  t.same(durations[0], [4, 4, 1], 'every segment but the last is SEGMENT_SECONDS long');
  t.equal(SEGMENT_SECONDS, 4);

  const { progress } = encoded;
  t.ok(progress.length >= 2, `progress reported ${progress.length} times`);
  t.ok(progress.every((p, i) => i === 0 || p > progress[i - 1]!), 'progress only increases');
  t.equal(progress.at(-1), 100, 'progress ends at 100');
  t.ok(progress.every((p) => Number.isInteger(p) && p >= 0 && p <= 100));
});

t.test('a portrait clip keeps its orientation', async (t) => {
  const encoded = await encode(t, { seconds: 3, width: 360, height: 640, audio: true });
  t.same(encoded.renditions.map((r) => `${r.name} ${r.width}x${r.height}`), ['360p 360x640']);
  await assertPlayableLadder(t, encoded, 3);
});

t.test('a clip rotated by its display matrix is encoded upright at its display size', async (t) => {
  const encoded = await encode(t, { seconds: 3, width: 640, height: 360, audio: true, rotate: 90 });
  t.match(encoded.source, { width: 360, height: 640 }, 'probe reports display dimensions');
  t.same(encoded.renditions.map((r) => `${r.width}x${r.height}`), ['360x640']);
  await assertPlayableLadder(t, encoded, 3);
});

t.test('a clip without audio gets video-only renditions', async (t) => {
  const encoded = await encode(t, { seconds: 3, width: 640, height: 360, audio: false });
  t.equal(encoded.source.hasAudio, false);
  t.notMatch(encoded.masterText, /mp4a/);
  await assertPlayableLadder(t, encoded, 3);
});

t.test('a clip with odd dimensions (641x361) is encoded at even dimensions', async (t) => {
  const encoded = await encode(t, { seconds: 3, width: 641, height: 361, audio: true });
  t.same(encoded.renditions.map((r) => `${r.width}x${r.height}`), ['640x360']);
  await assertPlayableLadder(t, encoded, 3);
});

t.test('a clip smaller than 360p is encoded once at its own size', async (t) => {
  const encoded = await encode(t, { seconds: 2, width: 320, height: 240, audio: false, fps: 25 });
  t.same(encoded.renditions.map((r) => r.name), ['240p']);
  await assertPlayableLadder(t, encoded, 2);
});

t.test('the command decodes once and fixes the GOP at one segment of frames', async (t) => {
  const args = buildLadderArgs({
    input: 'in.mp4',
    source: { durationSeconds: 10, hasAudio: true, frameRate: 25 },
    renditions: planRenditions({ width: 1920, height: 1080 }),
    outDir: '/out',
  });
  const value = (flag: string) => args[args.indexOf(flag) + 1];
  t.equal(args.filter((a) => a === '-i').length, 1, 'one input');
  t.match(value('-filter_complex'), /^\[0:V:0\]split=3\[s0\]\[s1\]\[s2\];/);
  t.equal(value('-g'), '100');
  t.equal(value('-keyint_min'), '100');
  t.equal(value('-sc_threshold'), '0');
  t.equal(value('-var_stream_map'), 'v:0,a:0,name:1080p v:1,a:1,name:720p v:2,a:2,name:360p');
  t.equal(value('-b:v:1'), '2800k');
  t.equal(value('-maxrate:v:1'), '2800k');
  t.equal(value('-bufsize:v:1'), '5600k');
});

t.test('a speed limit keeps the encode from going faster than that many times real time', async (t) => {
  const dir = await tempDir(t);
  const input = await makeClip({ seconds: 4, width: 320, height: 240, audio: true, fps: 25, dir });
  const source = await probeSource(input);
  const renditions = planRenditions(source);
  const timed = async (outDir: string, speedLimit?: number) => {
    const started = performance.now();
    await runLadder({ input, source, renditions, outDir: path.join(dir, outDir), ...(speedLimit ? { speedLimit } : {}) });
    return (performance.now() - started) / 1000;
  };
  const free = await timed('free');
  const limited = await timed('limited', 2);
  // 4 s of media read at 2x takes 2 s at least; unlimited, this tiny clip takes a fraction of that.
  t.ok(limited >= 1.9, `4 s at 2x took ${limited.toFixed(2)} s`);
  t.ok(free < limited, `unlimited it took ${free.toFixed(2)} s`);
  const args = buildLadderArgs({ input: 'in.mp4', source, renditions, outDir: '/out', speedLimit: 2 });
  t.equal(args[args.indexOf('-readrate') + 1], '2', 'read at 2x');
  t.ok(args.indexOf('-readrate') < args.indexOf('-i'), 'an input option');
});

t.test('a master playlist without CODECS is rewritten from what the segments contain', async (t) => {
  const encoded = await encode(t, { seconds: 2, width: 640, height: 360, audio: true });
  const masterPath = path.join(encoded.outDir, 'master.m3u8');
  await writeFile(masterPath, '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=1020800\n360p/index.m3u8\n');
  await ensureMasterAttributes(encoded.outDir, encoded.renditions, true);
  const master = HLS.parse(await readFile(masterPath, 'utf8'));
  if (!master.isMasterPlaylist) throw new Error('not a master playlist');
  t.match(master.variants[0], {
    uri: '360p/index.m3u8',
    bandwidth: 1020800,
    resolution: { width: 640, height: 360 },
    codecs: 'avc1.64001e,mp4a.40.2',
  });
});

t.test('avc1 codec strings carry profile, constraints and level in hex', async (t) => {
  t.equal(avc1CodecString('High', 40), 'avc1.640028');
  t.equal(avc1CodecString('High', 31), 'avc1.64001f');
  t.equal(avc1CodecString('Main', 30), 'avc1.4d401e');
  t.equal(avc1CodecString('Constrained Baseline', 30), 'avc1.42e01e');
});

t.test('aborting kills ffmpeg and rejects with the abort reason', async (t) => {
  const dir = await tempDir(t);
  const input = await makeClip({ seconds: 20, width: 640, height: 360, audio: true, dir });
  const source = await probeSource(input);
  const controller = new AbortController();
  const reason = new Error('stop now');
  const started = Date.now();
  const run = runLadder({
    input, source, renditions: planRenditions(source), outDir: path.join(dir, 'out'),
    signal: controller.signal,
    onProgress: (p) => p > 0 && controller.abort(reason),
  });
  await t.rejects(run, reason);
  t.ok(Date.now() - started < 15_000, 'stopped well before the end');
  t.rejects(
    runLadder({ input, source, renditions: planRenditions(source), outDir: dir, signal: controller.signal }),
    reason,
    'an already-aborted signal never starts ffmpeg',
  );
});

t.test('an ffmpeg failure is reported as one readable line', async (t) => {
  const dir = await tempDir(t);
  const input = await makeNotAVideo(dir);
  const error = await runLadder({
    input, source: { durationSeconds: 3, hasAudio: false, frameRate: 30 },
    renditions: planRenditions({ width: 640, height: 360 }), outDir: path.join(dir, 'out'),
  }).catch((e: unknown) => e);
  t.type(error, TranscodeFailedError);
  const message = (error as Error).message;
  t.match(message, /^Transcoding failed: .+ \(ffmpeg exited with code \d+\)$/);
  t.notMatch(message, /\n/, 'one line');
  t.notMatch(message, input, 'no file path');
});

t.test('probing', async (t) => {
  t.test('reports size, duration, frame rate and streams of a readable clip', async (t) => {
    const clip = await makeClip({ seconds: 2, width: 320, height: 240, audio: true, fps: 25 });
    t.same(await probeSource(clip), {
      width: 320, height: 240, durationSeconds: 2, hasAudio: true, frameRate: 25,
      videoCodec: 'h264', audioCodec: 'aac', audioProfile: 'LC',
      rotation: 0, videoStartSeconds: 0, pixelFormat: 'yuv420p', videoProfile: 'Constrained Baseline', videoLevel: 13,
      fieldOrder: 'progressive', sampleAspectRatio: '1:1',
    });
  });

  t.test('swaps width and height for a 90° rotated clip', async (t) => {
    const clip = await makeClip({ seconds: 1, width: 320, height: 240, audio: false, rotate: 90 });
    t.match(await probeSource(clip), { width: 240, height: 320, hasAudio: false, rotation: 90 });
  });

  t.test('calls a text file an unreadable file', async (t) => {
    const error = await probeSource(await makeNotAVideo()).catch((e: unknown) => e);
    t.type(error, SourceUnreadableError);
    t.match(error, { code: 1010, message: /^The file (could not be read|is not a video we can read)/ });
  });

  t.test('calls a truncated MP4 truncated or corrupt, with the short reason', async (t) => {
    const file = await makeTruncatedMp4();
    await t.rejects(probeSource(file), {
      name: 'SourceUnreadableError',
      code: 1010,
      message: 'The file could not be read; it may be truncated or corrupt (moov atom not found)',
    });
  });

  t.test('says an audio-only file has no video stream', async (t) => {
    const dir = await tempDir(t);
    const clip = await makeClip({ seconds: 1, width: 320, height: 240, audio: true, dir });
    const { execFile } = await import('node:child_process');
    const audioOnly = path.join(dir, 'audio.m4a');
    await new Promise((resolve, reject) =>
      execFile('ffmpeg', ['-v', 'error', '-i', clip, '-vn', '-c', 'copy', audioOnly], (e) => (e ? reject(e) : resolve(null))),
    );
    await t.rejects(probeSource(audioOnly), {
      code: 1010,
      message: 'The file is not a video we can read: it has no video stream',
    });
  });
});
