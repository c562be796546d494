/**
 * Small generated files of every kind real uploads come in: phone HDR (HLG, PQ, Dolby
 * Vision 8.4), camera bitrates, variable frame rate with dropped frames, anamorphic DVD and HDV,
 * interlaced fields (flagged, and flagged progressive), 5.1 and several audio tracks, SD sizes,
 * audio-only formats, and files that are not videos at all. Each is a few seconds of ffmpeg
 * `lavfi` at small frames where the case allows, so the suite stays fast on 2 cores.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { addDolbyVisionConfig, FFMPEG_QUIET, testPicture as picture, testTone as tone, twoLanguageTracks, uploadArgs } from './media.ts';

const run = promisify(execFile);

/** The audio-only formats people upload: podcasts, voice memos, music, recordings. */
export const AUDIO_ONLY_KINDS = ['audio-mp3', 'audio-m4a', 'audio-wav', 'audio-flac', 'audio-opus'] as const;

export type SourceKind =
  | (typeof AUDIO_ONLY_KINDS)[number]
  | 'web-ready-720p'
  | 'sdr-reference'
  | 'hlg'
  | 'pq'
  | 'dolby-vision-8.4'
  | 'camera-bitrate'
  | 'phone-720p'
  | 'vfr-dropped-frames'
  | 'anamorphic-dvd'
  | 'hdv'
  | 'interlaced'
  | 'interlaced-unflagged'
  | 'surround-5.1'
  | 'two-languages'
  | 'pal-576p'
  | 'portrait'
  | 'silent'
  | 'uhd-4k'
  | 'uhd-8k'
  | 'tiny-16'
  | 'still-png'
  | 'text'
  | 'corrupt-middle'
  | 'corrupt-most';

export interface GeneratedSource {
  kind: SourceKind;
  file: string;
  /** What a browser would declare for it. */
  contentType: string;
  seconds: number;
}

const h264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];
const aac = ['-c:a', 'aac', '-b:a', '128k'];

/** H.264 at a camera's or a phone's bitrate: noise in the pictures, so the encoder spends what it is given. */
function highBitrate(rate: { noise: number; average: string; peak: string }): string[] {
  const { noise, average, peak } = rate;
  return [
    '-vf',
    `noise=alls=${noise}:allf=t`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-b:v',
    average,
    '-maxrate',
    peak,
    '-bufsize',
    peak,
    '-pix_fmt',
    'yuv420p',
  ];
}

/** SDR BT.709 pictures converted to an HDR transfer, as a phone records them: HEVC Main 10. */
function hdr(transfer: 'arib-std-b67' | 'smpte2084'): string[] {
  // PQ puts SDR white at 203 nits (ITU-R BT.2408), as HDR10 masters do.
  const peak = transfer === 'smpte2084' ? ':npl=203' : '';
  return [
    '-vf',
    `zscale=tin=bt709:min=bt709:pin=bt709:rin=tv:t=${transfer}:p=bt2020:m=bt2020nc:r=tv${peak},format=yuv420p10le`,
    '-c:v',
    'libx265',
    '-preset',
    'ultrafast',
    '-tag:v',
    'hvc1',
    '-x265-params',
    `log-level=error:colorprim=bt2020:transfer=${transfer}:colormatrix=bt2020nc`,
    '-color_primaries',
    'bt2020',
    '-color_trc',
    transfer,
    '-colorspace',
    'bt2020nc',
  ];
}

/** Overwrites a share of a file's middle with noise: a download or a card that went bad. */
async function damage(file: string, from: number, share: number): Promise<void> {
  const bytes = await readFile(file);
  let seed = 7;
  const start = Math.floor(bytes.length * from);
  const end = Math.min(bytes.length - 4096, start + Math.floor(bytes.length * share));
  for (let i = start; i < end; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    bytes[i] = seed & 0xff;
  }
  await writeFile(file, bytes);
}

/**
 * Under tap, the test files of one run share the sources they make: several files need the same
 * kinds, and each takes seconds of ffmpeg. The first to need a kind makes it in a folder of the
 * run (named after the tap process and this file's text, so no other run or version of it reads
 * it); the others copy it. A folder whose tap process is gone is removed by the next run.
 */
const RUN_FOLDER_PREFIX = `vod-sources-${createHash('sha256')
  .update(readFileSync(fileURLToPath(import.meta.url)))
  .digest('hex')
  .slice(0, 12)}-tap`;
let runFolder: Promise<string> | undefined;

async function sourcesOfThisRun(): Promise<string> {
  runFolder ??= (async () => {
    for (const name of await readdir(tmpdir())) {
      const pid = Number(/^vod-sources-\w+-tap(\d+)$/.exec(name)?.[1]);
      if (pid && !isRunning(pid)) await rm(path.join(tmpdir(), name), { recursive: true, force: true });
    }
    const folder = path.join(tmpdir(), `${RUN_FOLDER_PREFIX}${process.ppid}`);
    await mkdir(folder, { recursive: true });
    return folder;
  })();
  return runFolder;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Makes one source of `kind` in `dir` (copied from this tap run's when another file made it). */
export async function makeSource(kind: SourceKind, dir: string): Promise<GeneratedSource> {
  if (process.env.TAP !== '1') return generateSource(kind, dir);
  const shared = await sourcesOfThisRun();
  const described = path.join(shared, `${kind}.json`);
  let source: GeneratedSource;
  try {
    source = JSON.parse(await readFile(described, 'utf8')) as GeneratedSource;
  } catch {
    // Made aside, then renamed into place: a file reading the folder meanwhile sees all or nothing.
    const scratch = await mkdtemp(path.join(shared, `${kind}-`));
    const made = await generateSource(kind, scratch);
    source = { ...made, file: path.join(shared, path.basename(made.file)) };
    await rename(made.file, source.file);
    await writeFile(path.join(scratch, 'source.json'), JSON.stringify(source));
    await rename(path.join(scratch, 'source.json'), described);
    await rm(scratch, { recursive: true, force: true });
  }
  const file = path.join(dir, path.basename(source.file));
  await copyFile(source.file, file);
  return { ...source, file };
}

async function generateSource(kind: SourceKind, dir: string): Promise<GeneratedSource> {
  const file = (extension: string) => path.join(dir, `${kind}.${extension}`);
  const made = async (out: string, args: string[], contentType: string, seconds: number): Promise<GeneratedSource> => {
    await run('ffmpeg', [...FFMPEG_QUIET, ...args, out]);
    return { kind, file: out, contentType, seconds };
  };
  /** A 6 s web-optimised clip of `size`, a `share` of its bytes overwritten from `from` (a share of its length) on. */
  const damaged = async (size: string, from: number, share: number): Promise<GeneratedSource> => {
    const source = await made(
      file('mp4'),
      [...picture(size, 6), ...tone(6), ...h264, '-g', '30', ...aac, '-shortest', '-movflags', '+faststart'],
      'video/mp4',
      6,
    );
    await damage(source.file, from, share);
    return source;
  };
  switch (kind) {
    case 'web-ready-720p':
      // What an editor's web export looks like: H.264 within the ladder's budget for 720p, a keyframe every 2 s, stereo AAC at 48 kHz.
      return made(file('mp4'), uploadArgs({ width: 1280, height: 720, seconds: 8 }), 'video/mp4', 8);
    case 'sdr-reference':
      return made(file('mp4'), [...picture('640x360', 3), ...h264], 'video/mp4', 3);
    case 'hlg':
      return made(file('mp4'), [...picture('640x360', 3), ...tone(3), ...hdr('arib-std-b67'), ...aac, '-shortest'], 'video/mp4', 3);
    case 'pq':
      return made(file('mp4'), [...picture('640x360', 3), ...tone(3), ...hdr('smpte2084'), ...aac, '-shortest'], 'video/mp4', 3);
    case 'dolby-vision-8.4': {
      const source = await made(
        file('mov'),
        [...picture('640x360', 3), ...tone(3), ...hdr('arib-std-b67'), ...aac, '-shortest', '-f', 'mp4'],
        'video/quicktime',
        3,
      );
      await addDolbyVisionConfig(source.file, { profile: 8, compatibility: 4 });
      return source;
    }
    case 'camera-bitrate':
      // 1080p at about 35 Mbit/s with x264's default 250-frame GOP: a camera or phone original.
      return made(
        file('mp4'),
        [...picture('1920x1080', 3), ...tone(3), ...highBitrate({ noise: 30, average: '35M', peak: '40M' }), ...aac, '-shortest'],
        'video/mp4',
        3,
      );
    case 'phone-720p':
      // 720p H.264 at about 8 Mbit/s with a keyframe a second: a browser could play it as it is.
      return made(
        file('mp4'),
        [...picture('1280x720', 4), ...tone(4), ...highBitrate({ noise: 8, average: '8M', peak: '9M' }), '-g', '30', ...aac, '-shortest'],
        'video/mp4',
        4,
      );
    case 'vfr-dropped-frames':
      // 30 fps with a third of every second dropped: timestamps keep the gaps, as phones write them.
      return made(
        file('mp4'),
        [...picture('960x540', 6), ...tone(6), '-vf', "select='not(between(mod(n\\,30)\\,5\\,14))'", '-fps_mode', 'vfr', ...h264, ...aac, '-shortest'],
        'video/mp4',
        6,
      );
    case 'anamorphic-dvd':
      return made(file('mp4'), [...picture('720x480', 3, 30000 / 1001), ...tone(3), '-vf', 'setsar=32/27', ...h264, ...aac, '-shortest'], 'video/mp4', 3);
    case 'hdv':
      return made(file('mp4'), [...picture('1440x1080', 2, 25), '-vf', 'setsar=4/3', ...h264], 'video/mp4', 2);
    case 'interlaced':
      // 50 fields a second woven into 25 interlaced frames, flagged top field first.
      return made(
        file('mp4'),
        [
          ...picture('720x576', 3, 50),
          ...tone(3),
          '-vf',
          'tinterlace=mode=interleave_top,setfield=tff',
          '-c:v',
          'libx264',
          '-preset',
          'ultrafast',
          '-flags',
          '+ildct+ilme',
          '-x264opts',
          'tff=1',
          '-pix_fmt',
          'yuv420p',
          ...aac,
          '-shortest',
        ],
        'video/mp4',
        3,
      );
    case 'interlaced-unflagged':
      // The same fields, re-encoded by a tool that calls them progressive.
      return made(file('mp4'), [...picture('720x576', 3, 50), '-vf', 'tinterlace=mode=interleave_top,setfield=prog', ...h264], 'video/mp4', 3);
    case 'surround-5.1':
      // A different tone in each channel: L 440, R 550, C 660, LFE 60, Ls 770, Rs 880 Hz.
      return made(
        file('mp4'),
        [
          ...picture('640x360', 3),
          '-f',
          'lavfi',
          '-i',
          'aevalsrc=sin(440*2*PI*t)|sin(550*2*PI*t)|sin(660*2*PI*t)|sin(60*2*PI*t)|sin(770*2*PI*t)|sin(880*2*PI*t):s=48000:c=5.1:d=3',
          ...h264,
          '-c:a',
          'aac',
          '-b:a',
          '384k',
          '-shortest',
        ],
        'video/mp4',
        3,
      );
    case 'two-languages':
      return made(
        file('mp4'),
        [...picture('640x360', 3), ...tone(3, 440), ...tone(3, 660, 44_100), ...twoLanguageTracks('Commentaire'), ...h264, ...aac, '-shortest'],
        'video/mp4',
        3,
      );
    case 'pal-576p':
      return made(file('mp4'), [...picture('1024x576', 3, 25), ...tone(3), ...h264, ...aac, '-shortest'], 'video/mp4', 3);
    case 'portrait':
      return made(file('mp4'), [...picture('720x1280', 2), ...tone(2), ...h264, ...aac, '-shortest'], 'video/mp4', 2);
    case 'silent':
      return made(file('webm'), [...picture('640x360', 2), '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '500k'], 'video/webm', 2);
    case 'uhd-4k':
      return made(file('mp4'), [...picture('3840x2160', 0.2, 10), ...h264], 'video/mp4', 0.2);
    case 'uhd-8k':
      return made(file('mp4'), [...picture('7680x4320', 0.2, 10), ...h264], 'video/mp4', 0.2);
    case 'tiny-16':
      return made(file('mp4'), [...picture('16x16', 1), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv444p'], 'video/mp4', 1);
    case 'audio-mp3':
      return made(file('mp3'), [...tone(4), '-c:a', 'libmp3lame', '-b:a', '128k'], 'audio/mpeg', 4);
    case 'audio-m4a':
      return made(file('m4a'), [...tone(4), ...aac], 'audio/mp4', 4);
    case 'audio-wav':
      return made(file('wav'), [...tone(4, 440, 44_100), '-c:a', 'pcm_s16le'], 'audio/wav', 4);
    case 'audio-flac':
      return made(file('flac'), [...tone(4), '-c:a', 'flac'], 'audio/flac', 4);
    case 'audio-opus':
      return made(file('opus'), [...tone(4), '-c:a', 'libopus', '-b:a', '96k'], 'audio/ogg', 4);
    case 'still-png':
      return made(file('png'), ['-f', 'lavfi', '-i', 'testsrc2=size=320x240', '-frames:v', '1'], 'image/png', 0);
    case 'text': {
      const out = file('mp4');
      await writeFile(out, 'This is a shopping list, not a video.\n- milk\n- eggs\n');
      return { kind, file: out, contentType: 'video/mp4', seconds: 0 };
    }
    case 'corrupt-middle':
      // 5% of the bytes in the middle are noise: a few pictures are lost, the rest plays.
      return damaged('1280x720', 0.45, 0.03);
    case 'corrupt-most':
      return damaged('640x360', 0.15, 0.8);
  }
}
