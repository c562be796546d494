/**
 * Generates small test media with ffmpeg's lavfi sources (testsrc2 picture, sine tone), so tests
 * need no checked-in binaries. Files go into a temp dir removed when the test process exits
 * (or into a dir the test passes, e.g. one from `tempDir(t)`).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { videoBitrateFor } from '../../src/domain/ladder.ts';

const run = promisify(execFile);

/** How the tests start every ffmpeg command: no banner, errors only, overwrite the output. */
export const FFMPEG_QUIET = ['-hide_banner', '-v', 'error', '-y'];

/** A lavfi input: testsrc2 pictures of `size` (`WxH`) at `rate` frames a second, for `seconds`. */
export const testPicture = (size: string, seconds: number, rate = 30) => ['-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}:duration=${seconds}`];

/** A lavfi input: a sine tone of `frequency` Hz sampled at `sampleRate`, for `seconds`. */
export const testTone = (seconds: number, frequency = 440, sampleRate = 48_000) => [
  '-f',
  'lavfi',
  '-i',
  `sine=frequency=${frequency}:sample_rate=${sampleRate}:duration=${seconds}`,
];

/**
 * The x264 settings of a web-ready upload of this size, within what the ladder's contract lets be
 * packaged as it is: a keyframe every 2 s, the average within the rendition's budget, peaks
 * within its peak budget (VBV at 90% of the nominal rate, a buffer of twice that).
 */
export function webReadyVideo(spec: { width: number; height: number }): string[] {
  const rate = Math.round(videoBitrateFor(Math.min(spec.width, spec.height)) * 0.9);
  return [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '60',
    '-keyint_min',
    '60',
    '-sc_threshold',
    '0',
    '-maxrate',
    String(rate),
    '-bufsize',
    String(2 * rate),
  ];
}

/**
 * The inputs and codecs (all but the output file) of an upload as an editor's web export makes
 * one: 30 fps pictures and a 440 Hz tone, `video` (by default webReadyVideo's H.264), stereo AAC
 * at 128 kbit/s.
 */
export function uploadArgs(spec: { width: number; height: number; seconds: number }, video = webReadyVideo(spec)): string[] {
  const { width, height, seconds } = spec;
  return [...testPicture(`${width}x${height}`, seconds), ...testTone(seconds), ...video, '-c:a', 'aac', '-ac', '2', '-b:a', '128k', '-shortest'];
}

/**
 * Maps a picture (input 0) and two tones (inputs 1 and 2) to a file with two audio tracks, as a
 * bilingual release has them: English, then French named `commentary`.
 */
export const twoLanguageTracks = (commentary: string) => [
  '-map',
  '0',
  '-map',
  '1',
  '-map',
  '2',
  '-metadata:s:a:0',
  'language=eng',
  '-metadata:s:a:1',
  'language=fra',
  '-metadata:s:a:1',
  `handler_name=${commentary}`,
];

export interface ClipOptions {
  seconds: number;
  /** Coded width (before rotation). */
  width: number;
  /** Coded height (before rotation). */
  height: number;
  audio: boolean;
  /** Stored as display-matrix side data, as phones do for portrait video. */
  rotate?: 90 | 270;
  fps?: number;
  /** Put the moov atom first (web-optimised); default false, moov at the end like most cameras. */
  faststart?: boolean;
  /** Where to write; default a temp dir shared by the test process and removed when it exits. */
  dir?: string;
  /** Default h264 (libx264); hevc is libx265, tagged hvc1 as phones store it. */
  videoCodec?: 'h264' | 'hevc';
  /** Default yuv420p (yuv444p for odd sizes, which 4:2:0 cannot have). */
  pixelFormat?: string;
  /** A keyframe every this many seconds, and no others; default the encoder's own choice (x264: 250 frames, plus scene cuts). */
  keyframeSeconds?: number;
  /** Non-square pixels, e.g. `32:27` for a 16:9 NTSC DVD frame (720x480). */
  sampleAspect?: string;
  /**
   * Cap the video at this many bits per second (x264's VBV), as web-ready exports do; default the
   * ultrafast preset's own rate, which is far above the ladder's budget (a 720p clip: 7 Mbit/s).
   */
  videoBitrate?: number;
}

/** A temp dir removed when the test ends. */
export async function tempDir(t: Test, prefix = 'vod-media-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

let processDir: string | undefined;
/** One temp dir per test process (tap runs each test file in its own), removed at exit. */
function mediaDir(): string {
  if (!processDir) {
    const dir = mkdtempSync(path.join(tmpdir(), 'vod-media-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    processDir = dir;
  }
  return processDir;
}

let counter = 0;
const fileIn = (dir: string | undefined, name: string) => path.join(dir ?? mediaDir(), `${++counter}-${name}`);

/** An H.264 (+ AAC) MP4 of testsrc2 (and a 440 Hz tone), encoded with the fastest preset. */
export async function makeClip(options: ClipOptions): Promise<string> {
  const { seconds, width, height, audio, rotate, fps = 30, faststart = false, dir, videoCodec = 'h264', keyframeSeconds, sampleAspect, videoBitrate } = options;
  const file = fileIn(dir, `clip-${width}x${height}${rotate ? `-rot${rotate}` : ''}${videoCodec === 'hevc' ? '-hevc' : ''}.mp4`);
  const args = [...FFMPEG_QUIET, ...testPicture(`${width}x${height}`, seconds, fps)];
  if (audio) args.push(...testTone(seconds));
  if (sampleAspect) args.push('-vf', `setsar=${sampleAspect.replace(':', '/')}`);
  // yuv420p: odd sizes need an encoder that accepts them, so use 4:4:4 there (still decodable).
  const oddSize = width % 2 === 1 || height % 2 === 1;
  const pixelFormat = options.pixelFormat ?? (oddSize ? 'yuv444p' : 'yuv420p');
  args.push(...(videoCodec === 'hevc' ? ['-c:v', 'libx265', '-tag:v', 'hvc1', '-x265-params', 'log-level=error'] : ['-c:v', 'libx264']));
  args.push('-preset', 'ultrafast', '-pix_fmt', pixelFormat);
  if (keyframeSeconds) {
    const gop = String(Math.round(keyframeSeconds * fps));
    args.push('-g', gop, '-keyint_min', gop, '-sc_threshold', '0');
  }
  if (videoBitrate) args.push('-b:v', String(videoBitrate), '-maxrate', String(videoBitrate), '-bufsize', String(videoBitrate));
  if (audio) args.push('-c:a', 'aac', '-b:a', '96k', '-shortest');
  if (faststart) args.push('-movflags', '+faststart');
  if (!rotate) {
    await run('ffmpeg', [...args, file]);
    return file;
  }
  // ffmpeg 5.1 turns a `rotate` tag into display-matrix side data only when stream-copying (it
  // drops it when encoding), and `-display_rotation` is ffmpeg 6+: so encode, then remux.
  const unrotated = `${file}.unrotated.mp4`;
  await run('ffmpeg', [...args, unrotated]);
  await run('ffmpeg', [
    ...FFMPEG_QUIET,
    '-i',
    unrotated,
    '-map',
    '0',
    '-c',
    'copy',
    '-metadata:s:v:0',
    `rotate=${rotate}`,
    ...(faststart ? ['-movflags', '+faststart'] : []),
    file,
  ]);
  await rm(unrotated);
  return file;
}

/** Text in a file named like a video. */
export async function makeNotAVideo(dir?: string): Promise<string> {
  const file = fileIn(dir, 'holiday.mp4');
  await writeFile(file, 'This is a shopping list, not a video.\n- milk\n- eggs\n');
  return file;
}

/** A real clip cut to 40% of its bytes; its moov atom (at the end) is gone, so it is unreadable. */
export async function makeTruncatedMp4(dir?: string): Promise<string> {
  const whole = await makeClip({ seconds: 3, width: 320, height: 240, audio: true, dir });
  const bytes = await readFile(whole);
  const file = fileIn(dir, 'truncated.mp4');
  await writeFile(file, bytes.subarray(0, Math.floor(bytes.length * 0.4)));
  return file;
}

export interface ProbedStream {
  index: number;
  codec_type: string;
  codec_name?: string;
  profile?: string;
  width?: number;
  height?: number;
  duration?: string;
  avg_frame_rate?: string;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number }>;
}

export interface Probed {
  streams: ProbedStream[];
  format: { duration?: string; format_name?: string };
}

/** ffprobe's JSON for a file or URL (streams and format), for assertions. */
export async function ffprobeJson(pathOrUrl: string): Promise<Probed> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', pathOrUrl]);
  return JSON.parse(stdout) as Probed;
}

/** Decodes the whole input and returns its decoded duration in seconds (checks it really plays). */
export async function decodedDurationSeconds(pathOrUrl: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_frames',
    '-show_entries',
    'stream=nb_read_frames,avg_frame_rate,r_frame_rate',
    '-print_format',
    'json',
    pathOrUrl,
  ]);
  const stream = (JSON.parse(stdout) as { streams: Array<{ nb_read_frames: string; r_frame_rate: string }> }).streams[0];
  if (!stream) throw new Error(`${pathOrUrl} has no video stream`);
  const [num, den] = stream.r_frame_rate.split('/').map(Number);
  return Number(stream.nb_read_frames) / ((num ?? 0) / (den ?? 1));
}

/** The timestamp in seconds of the first video packet of a file or URL: where an HLS segment starts. */
export async function firstVideoTimestamp(pathOrUrl: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'packet=pts_time',
    '-read_intervals',
    '%+#1',
    '-of',
    'csv=p=0',
    pathOrUrl,
  ]);
  // ffprobe 5.1 ends the csv line with a comma (an empty side-data section): parseFloat stops there.
  const seconds = Number.parseFloat(stdout.trim().split('\n')[0] ?? '');
  if (!Number.isFinite(seconds)) throw new Error(`No video timestamp in ${pathOrUrl}: ${JSON.stringify(stdout.slice(0, 100))}`);
  return seconds;
}

/**
 * Adds a Dolby Vision configuration box (`dvcC`, DOVIDecoderConfigurationRecord) to the first
 * video sample entry of an MP4 whose moov follows its media, as an iPhone (8.4) or a Dolby Vision
 * mastering tool writes it. Debian's ffmpeg cannot write one; the base layer is left as it is
 * (an HLG or PQ HEVC stream), which is what such a file carries. Box sizes up the chain are
 * updated; no chunk offset moves because nothing is inserted before the media.
 */
export async function addDolbyVisionConfig(file: string, config: { profile: number; level?: number; compatibility: number }): Promise<void> {
  const bytes = await readFile(file);
  const record = Buffer.alloc(24);
  record[0] = 1; // dv_version_major
  record[1] = 0; // dv_version_minor
  // dv_profile (7 bits), dv_level (6), rpu_present (1), el_present (1), bl_present (1)
  record.writeUInt16BE((config.profile << 9) | ((config.level ?? 6) << 3) | 0b101, 2);
  record[4] = config.compatibility << 4; // dv_bl_signal_compatibility_id, then reserved bits
  const box = Buffer.concat([Buffer.from([0, 0, 0, 32]), Buffer.from('dvcC'), record]);

  const children = (from: number, to: number) => {
    const found: Array<{ type: string; start: number; end: number }> = [];
    for (let at = from; at + 8 <= to;) {
      const size = bytes.readUInt32BE(at);
      if (size < 8) break;
      found.push({ type: bytes.toString('latin1', at + 4, at + 8), start: at, end: at + size });
      at += size;
    }
    return found;
  };
  const moov = children(0, bytes.length).find((b) => b.type === 'moov');
  const mdat = children(0, bytes.length).find((b) => b.type === 'mdat');
  if (!moov || !mdat || moov.start < mdat.start) throw new Error('addDolbyVisionConfig needs an MP4 with its moov after the media');
  const chain: Array<{ start: number; end: number }> = [moov];
  let parent = moov;
  for (const type of ['trak', 'mdia', 'minf', 'stbl', 'stsd']) {
    const candidates = children(parent.start + 8, parent.end).filter((b) => b.type === type);
    // The video track is the one whose handler says `vide`.
    const isVideo = (trak: { start: number; end: number }) => {
      const at = bytes.indexOf('vide', trak.start);
      return at > 0 && at < trak.end;
    };
    const next = type === 'trak' ? candidates.find(isVideo) : candidates[0];
    if (!next) throw new Error(`no ${type} box`);
    chain.push(next);
    parent = next;
  }
  // stsd: version/flags (4) and entry count (4), then the sample entries.
  const entry = children(parent.start + 16, parent.end)[0];
  if (!entry) throw new Error('no sample entry');
  chain.push(entry);
  for (const b of chain) bytes.writeUInt32BE(b.end - b.start + box.length, b.start);
  await writeFile(file, Buffer.concat([bytes.subarray(0, entry.end), box, bytes.subarray(entry.end)]));
}

/**
 * Grows an MP4 to `totalBytes` with one top-level `free` box at its end (ISO/IEC 14496-12: free
 * space, which every reader skips), so a test gets a real, playable video of hundreds of MB
 * without encoding hundreds of MB. Use a clip with its moov first (`faststart`): a reader then
 * never needs to look past the media for it.
 */
export async function padWithFreeBox(file: string, totalBytes: number): Promise<void> {
  const { size } = await stat(file);
  const boxBytes = totalBytes - size;
  if (boxBytes < 8 || boxBytes > 0xffff_ffff) throw new RangeError(`Cannot pad ${size} bytes to ${totalBytes} with one 32-bit free box`);
  const handle = await open(file, 'a');
  try {
    const header = Buffer.alloc(8);
    header.writeUInt32BE(boxBytes, 0);
    header.write('free', 4, 'latin1');
    await handle.write(header);
    // A pattern rather than zeros, so no layer below can store the padding as a hole.
    const chunk = Buffer.alloc(8 * 1024 * 1024, 'free space ');
    for (let left = boxBytes - 8; left > 0; left -= chunk.length) await handle.write(chunk, 0, Math.min(left, chunk.length));
  } finally {
    await handle.close();
  }
}
