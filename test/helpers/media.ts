/**
 * Generates small test media with ffmpeg's lavfi sources (testsrc2 picture, sine tone), so tests
 * need no checked-in binaries. Files go into a temp dir removed when the test process exits
 * (or into a dir the test passes, e.g. one from `tempDir(t)`).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';

const run = promisify(execFile);

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
const fileIn = (dir: string | undefined, name: string) =>
  path.join(dir ?? mediaDir(), `${++counter}-${name}`);

/** An H.264 (+ AAC) MP4 of testsrc2 (and a 440 Hz tone), encoded with the fastest preset. */
export async function makeClip(options: ClipOptions): Promise<string> {
  const { seconds, width, height, audio, rotate, fps = 30, faststart = false, dir, videoCodec = 'h264', keyframeSeconds } = options;
  const file = fileIn(dir, `clip-${width}x${height}${rotate ? `-rot${rotate}` : ''}${videoCodec === 'hevc' ? '-hevc' : ''}.mp4`);
  const args = ['-hide_banner', '-v', 'error', '-y'];
  args.push('-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}:duration=${seconds}`);
  if (audio) args.push('-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`);
  // yuv420p: odd sizes need an encoder that accepts them, so use 4:4:4 there (still decodable).
  const oddSize = width % 2 === 1 || height % 2 === 1;
  const pixelFormat = options.pixelFormat ?? (oddSize ? 'yuv444p' : 'yuv420p');
  args.push(...(videoCodec === 'hevc' ? ['-c:v', 'libx265', '-tag:v', 'hvc1', '-x265-params', 'log-level=error'] : ['-c:v', 'libx264']));
  args.push('-preset', 'ultrafast', '-pix_fmt', pixelFormat);
  if (keyframeSeconds) {
    const gop = String(Math.round(keyframeSeconds * fps));
    args.push('-g', gop, '-keyint_min', gop, '-sc_threshold', '0');
  }
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
    '-hide_banner', '-v', 'error', '-y', '-i', unrotated, '-map', '0', '-c', 'copy',
    '-metadata:s:v:0', `rotate=${rotate}`, ...(faststart ? ['-movflags', '+faststart'] : []), file,
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
  const { stdout } = await run('ffprobe', [
    '-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', pathOrUrl,
  ]);
  return JSON.parse(stdout) as Probed;
}

/** Decodes the whole input and returns its decoded duration in seconds (checks it really plays). */
export async function decodedDurationSeconds(pathOrUrl: string): Promise<number> {
  const { stdout } = await run('ffprobe', [
    '-v', 'error', '-select_streams', 'v:0', '-count_frames',
    '-show_entries', 'stream=nb_read_frames,avg_frame_rate,r_frame_rate', '-print_format', 'json',
    pathOrUrl,
  ]);
  const stream = (JSON.parse(stdout) as { streams: Array<{ nb_read_frames: string; r_frame_rate: string }> })
    .streams[0];
  if (!stream) throw new Error(`${pathOrUrl} has no video stream`);
  const [num, den] = stream.r_frame_rate.split('/').map(Number);
  return Number(stream.nb_read_frames) / ((num ?? 0) / (den ?? 1));
}
