/**
 * The local worker's ffmpeg commands, built from plans the shared rules made for real generated
 * clips (probed through the Probe stand-in and the MP4 header, as the app probes them), and run.
 */
import { readdir, readFile } from 'node:fs/promises';
import { getPriority } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import t, { type Test } from 'tap';
import {
  audioFilter,
  avc1CodecString,
  buildEncodeArgs,
  buildPackageArgs,
  colourFilters,
  forcedKeyframes,
  runFfmpeg,
  TranscodeFailedError,
  type AudioOutput,
} from '../../../../src/adapters/ffmpeg-hls/ffmpeg-ladder.ts';
import { probeAsMediaConvert, sniffType } from '../../../../deploy/local/mediaconvert/probe.ts';
import { countInterlacedFrames, looksInterlaced } from '../../../../src/adapters/ffmpeg-hls/interlace-check.ts';
import { TRANSCODE_NICENESS } from '../../../../src/adapters/ffmpeg-hls/priority.ts';
import { makeSource } from '../../../helpers/real-world-media.ts';
import type { TranscodePlan } from '../../../../src/schemas/transcode.ts';
import { planForFile } from '../../../helpers/plans.ts';
import { decodedDurationSeconds, ffprobeJson, makeClip, makeNotAVideo, makeTruncatedMp4, tempDir, type ClipOptions } from '../../../helpers/media.ts';

const planFor = planForFile;

const audioOf = (plan: TranscodePlan): AudioOutput => (plan.audioLayout === 'muxed' ? 'muxed' : plan.audioLayout === 'none' ? 'none' : 'renditions');

/** Plans and encodes a generated clip with one command; returns what a test looks at. */
async function encode(t: Test, clip: Omit<ClipOptions, 'dir'>) {
  const dir = await tempDir(t);
  const input = await makeClip({ ...clip, dir });
  const plan = await planFor(input);
  const outDir = path.join(dir, 'out');
  const frames: number[] = [];
  await runFfmpeg(buildEncodeArgs({ input, plan, renditions: plan.video!.renditions, audio: audioOf(plan), outDir }), {
    input,
    onFrames: (f) => frames.push(f),
  });
  return { plan, outDir, frames };
}

/** Each rendition decodes at its planned size and the clip's duration, in 4 s segments. */
async function assertPlayableLadder(t: Test, encoded: Awaited<ReturnType<typeof encode>>, seconds: number, audio: boolean) {
  for (const rendition of encoded.plan.video!.renditions) {
    const playlist = path.join(encoded.outDir, rendition.name, 'index.m3u8');
    const probed = await ffprobeJson(playlist);
    const video = probed.streams.find((s) => s.codec_type === 'video');
    t.match(video, { codec_name: 'h264', profile: 'High', width: rendition.width, height: rendition.height }, rendition.name);
    t.equal(
      probed.streams.some((s) => s.codec_type === 'audio'),
      audio,
      'audio only when the source has it',
    );
    const decoded = await decodedDurationSeconds(playlist);
    t.ok(Math.abs(decoded - seconds) <= 0.1, `${rendition.name} decodes ${decoded.toFixed(2)} s of ${seconds} s`);
    const durations = [...(await readFile(playlist, 'utf8')).matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));
    t.ok(
      durations.slice(0, -1).every((d) => Math.abs(d - 4) < 0.01),
      `${rendition.name}: 4 s segments (${durations.join(',')})`,
    );
    const files = await readdir(path.join(encoded.outDir, rendition.name));
    t.ok(files.includes('segment_00000.ts'));
  }
}

t.test('a 720p landscape clip with audio becomes an aligned 720p + 540p + 360p ladder of 4 s segments', async (t) => {
  const encoded = await encode(t, { seconds: 6, width: 1280, height: 720, audio: true });
  t.same(
    encoded.plan.video!.renditions.map((r) => r.name),
    ['720p', '540p', '360p'],
  );
  await assertPlayableLadder(t, encoded, 6, true);
  t.ok(encoded.frames.length > 0 && encoded.frames.at(-1)! >= 170, `frames are reported as ffmpeg goes (${encoded.frames.at(-1)})`);
});

// Sources with one rung, each at its display size: the rendition's size, then a playable ladder.
for (const { name, clip, size, rung } of [
  {
    name: 'a clip rotated by its display matrix is encoded upright at its display size',
    clip: { width: 640, height: 360, audio: false, rotate: 90 },
    size: [360, 640],
  },
  { name: 'a clip with odd dimensions (641x361) is encoded at even dimensions', clip: { width: 641, height: 361, audio: true }, size: [640, 360] },
  { name: 'a clip smaller than 360p is encoded once at its own size', clip: { width: 320, height: 240, audio: true }, size: [320, 240], rung: '240p' },
] as const) {
  t.test(name, async (t) => {
    const encoded = await encode(t, { seconds: 2, ...clip });
    t.same(
      encoded.plan.video!.renditions.map((r) => [r.width, r.height]),
      [size],
    );
    if (rung)
      t.same(
        encoded.plan.video!.renditions.map((r) => r.name),
        [rung],
      );
    await assertPlayableLadder(t, encoded, 2, clip.audio);
  });
}

t.test('the command decodes once, at one frame rate, with a keyframe every segment', async (t) => {
  const plan = await planFor(await makeClip({ seconds: 1, width: 1920, height: 1080, audio: true, fps: 25 }));
  const args = buildEncodeArgs({ input: 'in.mp4', plan, renditions: plan.video!.renditions, audio: 'muxed', outDir: '/out' });
  const value = (flag: string) => args[args.indexOf(flag) + 1];
  t.equal(args.filter((a) => a === '-i').length, 1, 'one input');
  t.match(value('-filter_complex'), /^\[0:V:0\]fps=25\/1,format=yuv420p,split=4\[s0\]\[s1\]\[s2\]\[s3\];\[s0\]scale=1920:1080,setsar=1\[v0\];/);
  t.match(
    value('-filter_complex'),
    /\[0:a:0\]pan=stereo\|c0=c0\|c1=c0,aresample=48000,asplit=4\[a0\]\[a1\]\[a2\]\[a3\]$/,
    'mono on both sides, once per rendition',
  );
  t.equal(value('-g'), '100');
  t.equal(value('-keyint_min'), '100');
  t.equal(value('-sc_threshold'), '0');
  t.equal(value('-var_stream_map'), 'v:0,a:0,name:1080p v:1,a:1,name:720p v:2,a:2,name:540p v:3,a:3,name:360p');
  t.equal(value('-b:v:1'), '2800k');
  t.equal(value('-maxrate:v:1'), '2800k');
  t.equal(value('-bufsize:v:1'), '5600k');
  t.equal(value('-ar'), '48000');
  t.notOk(args.includes('-color_trc'), 'SDR keeps its tags');
});

t.test('alternate audio: one rendition per track beside video-only renditions', async (t) => {
  const plan = await planFor(await makeClip({ seconds: 1, width: 640, height: 360, audio: true }));
  const two: TranscodePlan = {
    ...plan,
    audioLayout: 'alternate',
    audio: [plan.audio[0]!, { ...plan.audio[0]!, index: 1, rendition: 'audio-2', name: 'Second', default: false }],
  };
  const args = buildEncodeArgs({ input: 'in.mp4', plan: two, renditions: two.video!.renditions, audio: 'renditions', outDir: '/out' });
  t.equal(args[args.indexOf('-var_stream_map') + 1], 'v:0,name:360p a:0,name:audio-1 a:1,name:audio-2');
  t.match(args[args.indexOf('-filter_complex') + 1], /\[0:a:0\]pan=[^;]*\[a0\];\[0:a:1\]pan=[^;]*\[a1\]$/);
});

t.test('a 5.1 track is downmixed with the planned gains; stereo passes through', async (t) => {
  const base = { track: 2, index: 0, rendition: 'audio-1', name: 'English', default: true };
  t.equal(
    audioFilter({
      ...base,
      channels: 6,
      downmix: [
        [0, -60, -3, -60, -3, -60],
        [-60, 0, -3, -60, -60, -3],
      ],
    }),
    'pan=stereo|c0=c0+0.7079*c2+0.7079*c4|c1=c1+0.7079*c2+0.7079*c5,aresample=48000',
  );
  t.equal(audioFilter({ ...base, channels: 2 }), 'pan=stereo|c0=c0|c1=c1,aresample=48000');
});

t.test('HDR is converted to BT.709 at the top rendition size and tagged so; interlaced frames are deinterlaced', async (t) => {
  t.same(colourFilters('sdr'), []);
  t.match(colourFilters('hlg').join(','), /^zscale=tin=arib-std-b67:pin=bt2020:min=bt2020nc:t=bt709:p=bt709:m=bt709:r=tv$/);
  t.match(colourFilters('pq').join(','), /zscale=tin=smpte2084.*t=linear.*tonemap=tonemap=mobius.*zscale=t=bt709:m=bt709/);
  const plan = await planFor(await makeClip({ seconds: 1, width: 1280, height: 720, audio: false }));
  const hdr: TranscodePlan = { ...plan, video: { ...plan.video!, colour: 'hlg', display: { width: 3840, height: 2160 } } };
  const args = buildEncodeArgs({ input: 'in.mp4', plan: hdr, renditions: hdr.video!.renditions, audio: 'none', outDir: '/out', deinterlace: 'flagged' });
  t.match(
    args[args.indexOf('-filter_complex') + 1],
    /^\[0:V:0\]bwdif=mode=send_frame:parity=auto:deint=interlaced,fps=30\/1,scale=1280:720,zscale=tin=arib-std-b67/,
  );
  t.same(args.slice(args.indexOf('-color_primaries'), args.indexOf('-color_primaries') + 6), [
    '-color_primaries',
    'bt709',
    '-color_trc',
    'bt709',
    '-colorspace',
    'bt709',
  ]);
  const all = buildEncodeArgs({ input: 'in.mp4', plan, renditions: plan.video!.renditions, audio: 'none', outDir: '/out', deinterlace: 'all' });
  t.match(all[all.indexOf('-filter_complex') + 1], /bwdif=mode=send_frame:parity=auto:deint=all/, 'flags that lie: every frame');
});

t.test('packaging copies the video; audio keeps the layout of every other rendition', async (t) => {
  const plan = await planFor(await makeClip({ seconds: 1, width: 640, height: 360, audio: true }));
  const args = buildPackageArgs({ input: 'in.mp4', plan, name: '360p', audio: 'muxed', outDir: '/out' });
  t.same(args.slice(args.indexOf('-map'), args.indexOf('-map') + 4), ['-map', '0:V:0', '-map', '[e0]'], 'a mono track is made stereo');
  t.equal(args[args.indexOf('-c:v') + 1], 'copy');
  t.same(args.slice(args.indexOf('-c:a:0'), args.indexOf('-c:a:0') + 2), ['-c:a:0', 'aac']);
  t.ok(args.includes('-copyts'), 'the source timeline, so encoded rungs can match it');
  t.equal(args[args.indexOf('-var_stream_map') + 1], 'v:0,a:0,name:360p');
  // AAC stereo at 48 kHz is already what every rendition carries: copied as it is.
  const stereo: TranscodePlan = { ...plan, audio: [{ ...plan.audio[0]!, channels: 2, passThrough: true }] };
  const copied = buildPackageArgs({ input: 'in.mp4', plan: stereo, name: '360p', audio: 'muxed', outDir: '/out' });
  t.same(copied.slice(copied.indexOf('-map'), copied.indexOf('-map') + 4), ['-map', '0:V:0', '-map', '0:a:0']);
  t.same(copied.slice(copied.indexOf('-c:a:0'), copied.indexOf('-c:a:0') + 2), ['-c:a:0', 'copy']);
  t.notOk(copied.includes('-filter_complex'), 'nothing to filter');
});

t.test('a speed limit keeps the encode from going faster than that many times real time', async (t) => {
  const dir = await tempDir(t);
  const input = await makeClip({ seconds: 4, width: 320, height: 240, audio: true, fps: 25, dir });
  const plan = await planFor(input);
  const timed = async (outDir: string, speedLimit?: number) => {
    const started = performance.now();
    const args = buildEncodeArgs({
      input,
      plan,
      renditions: plan.video!.renditions,
      audio: 'muxed',
      outDir: path.join(dir, outDir),
      ...(speedLimit ? { speedLimit } : {}),
    });
    await runFfmpeg(args, { input });
    return (performance.now() - started) / 1000;
  };
  const free = await timed('free');
  const limited = await timed('limited', 2);
  // 4 s of media read at 2x takes 2 s at least; unlimited, this tiny clip takes a fraction of that.
  t.ok(limited >= 1.9, `4 s at 2x took ${limited.toFixed(2)} s`);
  t.ok(free < limited, `unlimited it took ${free.toFixed(2)} s`);
  const args = buildEncodeArgs({ input: 'in.mp4', plan, renditions: plan.video!.renditions, audio: 'muxed', outDir: '/out', speedLimit: 2 });
  t.equal(args[args.indexOf('-readrate') + 1], '2', 'read at 2x');
  t.ok(args.indexOf('-readrate') < args.indexOf('-i'), 'an input option');
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
  const plan = await planFor(input);
  const args = buildEncodeArgs({ input, plan, renditions: plan.video!.renditions, audio: 'muxed', outDir: path.join(dir, 'out') });
  const controller = new AbortController();
  const reason = new Error('stop now');
  const started = Date.now();
  await t.rejects(runFfmpeg(args, { input, signal: controller.signal, onFrames: (f) => f > 0 && controller.abort(reason) }), reason);
  t.ok(Date.now() - started < 15_000, 'stopped well before the end');
  await t.rejects(runFfmpeg(args, { input, signal: controller.signal }), reason, 'an already-aborted signal never starts ffmpeg');
});

t.test('ffmpeg and every thread it starts run 10 nice steps below the process that started it', async (t) => {
  const dir = await tempDir(t);
  const input = await makeClip({ seconds: 20, width: 640, height: 360, audio: true, dir });
  const plan = await planFor(input);
  const args = buildEncodeArgs({ input, plan, renditions: plan.video!.renditions, audio: 'muxed', outDir: path.join(dir, 'out') });
  /** Linux's /proc/<pid>/stat: the fields after `(command)`; the parent is the 4th field, nice the 19th. */
  const stat = async (file: string) => {
    const text = await readFile(file, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { command: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')), parent: Number(fields[1]), nice: Number(fields[16]) };
  };
  const threadsOfFfmpeg = async () => {
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const info = await stat(`/proc/${entry}/stat`).catch(() => undefined);
      if (info?.command !== 'ffmpeg' || info.parent !== process.pid) continue;
      const tasks = await readdir(`/proc/${entry}/task`);
      return Promise.all(tasks.map(async (task) => (await stat(`/proc/${entry}/task/${task}/stat`)).nice));
    }
    return [];
  };
  // Looked at once a second of video is encoded (its encoder's threads are running), then stopped.
  const controller = new AbortController();
  let looking: Promise<number[]> | undefined;
  await runFfmpeg(args, {
    input,
    signal: controller.signal,
    onFrames: (frames) => {
      if (frames >= 30) looking ??= threadsOfFfmpeg().finally(() => controller.abort(new Error('seen')));
    },
  }).catch((error: unknown) => {
    if (!controller.signal.aborted) throw error;
  });
  const seen = (await looking) ?? [];
  const expected = Math.min(19, getPriority() + TRANSCODE_NICENESS);
  t.ok(seen.length > 1, `ffmpeg runs ${seen.length} threads`);
  t.same(new Set(seen), new Set([expected]), `every one at nice ${expected}`);
});

t.test('an ffmpeg failure is reported as one readable line', async (t) => {
  const dir = await tempDir(t);
  const plan = await planFor(await makeClip({ seconds: 1, width: 640, height: 360, audio: false, dir }));
  const input = await makeNotAVideo(dir);
  const error = await runFfmpeg(buildEncodeArgs({ input, plan, renditions: plan.video!.renditions, audio: 'none', outDir: path.join(dir, 'out') }), {
    input,
  }).catch((e: unknown) => e);
  t.type(error, TranscodeFailedError);
  const message = (error as Error).message;
  t.match(message, /^Transcoding failed: .+ \(ffmpeg exited with code \d+\)$/);
  t.notMatch(message, /\n/, 'one line');
  t.notMatch(message, input, 'no file path');
});

t.test("the Probe stand-in answers in MediaConvert's shape, and names what is not media", async (t) => {
  const probe = async (file: string) => {
    const bytes = await readFile(file);
    return probeAsMediaConvert({ input: file, head: bytes.subarray(0, 512), sizeBytes: bytes.length });
  };
  const clip = await makeClip({ seconds: 2, width: 320, height: 240, audio: true, fps: 25 });
  t.match(await probe(clip), {
    Container: {
      Format: 'mp4',
      Duration: 2,
      Tracks: [
        {
          Index: 1,
          TrackType: 'video',
          Codec: 'AVC',
          Duration: 2,
          VideoProperties: {
            Width: 320,
            Height: 240,
            FrameRate: { Numerator: 25, Denominator: 1 },
            BitDepth: 8,
            CodecMetadata: {
              Profile: 'Constrained Baseline',
              Level: '1.3',
              ScanType: 'progressive',
              ChromaSubsampling: '4:2:0',
              CodedFrameRate: { Numerator: 25, Denominator: 1 },
            },
          },
        },
        { Index: 2, TrackType: 'audio', Codec: 'AAC', AudioProperties: { Channels: 1, SampleRate: 48_000 } },
      ],
    },
    Metadata: { MimeType: 'video/mp4' },
    TrackMappings: [{ VideoTrackIndexes: [1], AudioTrackIndexes: [2], DataTrackIndexes: [] }],
  });
  t.same((await probe(await makeNotAVideo())).Container, { Tracks: [] }, 'a text file: no tracks');
  t.match(await probe(await makeNotAVideo()), { Metadata: { MimeType: 'text/plain' } });
  t.match(await probe(await makeTruncatedMp4()), { Container: { Format: 'mp4', Tracks: [] } }, 'an MP4 without its header: the container, no tracks');
  t.same(sniffType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10])), { mimeType: 'image/png' });
  t.same(sniffType(Buffer.from([0xff, 0xd8, 0xff, 0xe0])), { mimeType: 'image/jpeg' });
  t.same(sniffType(Buffer.from([0, 1, 2, 250, 251])), {}, 'binary noise: nothing');
  t.same(sniffType(Buffer.from('ID3\u0004\u0000')), { mimeType: 'audio/mpeg' }, 'an MP3 with tags');
  t.same(sniffType(Buffer.from('fLaC\u0000\u0000')), { mimeType: 'audio/flac' });
  t.same(sniffType(Buffer.from('\u0000\u0000\u0000\u0020ftypM4A \u0000')), { mimeType: 'audio/mp4', format: 'mp4' });
});

t.test('interlacing is found in the pictures when the flags say progressive, and not in fine progressive detail', async (t) => {
  const dir = await tempDir(t);
  const [woven, progressive] = await Promise.all([
    makeSource('interlaced-unflagged', dir),
    makeClip({ seconds: 3, width: 1280, height: 720, audio: false, dir }),
  ]);
  const wovenCount = await countInterlacedFrames(woven.file);
  t.ok(wovenCount && looksInterlaced(wovenCount), `fields woven into frames flagged progressive: ${JSON.stringify(wovenCount)}`);
  const progressiveCount = await countInterlacedFrames(progressive);
  t.ok(progressiveCount && !looksInterlaced(progressiveCount), `a progressive test pattern: ${JSON.stringify(progressiveCount)}`);
  t.notOk(looksInterlaced({ tff: 30, bff: 28, progressive: 2 }), 'both field orders alike: detail, not interlacing');
  t.notOk(looksInterlaced({ tff: 10, bff: 0, progressive: 0 }), 'too few frames say nothing');
});

t.test('keyframes are asked for just before each segment start; a list too long for one argument cuts at source keyframes', async (t) => {
  t.equal(forcedKeyframes([0, 6.006, 9.009]), '0.000000,6.004000,9.007000');
  t.equal(forcedKeyframes(Array.from({ length: 20_000 }, (_, i) => i * 4)), 'source');
});
