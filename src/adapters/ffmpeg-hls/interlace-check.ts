/**
 * Whether a source the stream calls progressive is interlaced all the same: camcorder and
 * broadcast files re-wrapped by tools that drop the field flags. ffmpeg's `idet` filter looks at
 * the first frames and counts those whose fields look like two moments (top or bottom first)
 * against those that look like one. Fine detail in progressive video can fool it frame by frame,
 * but then it guesses both field orders alike; real interlacing shows one order throughout.
 *
 * This is the local worker's own check. MediaConvert's deinterlacer acts on frames the stream
 * flags (Control NORMAL), so in AWS a source whose flags lie is not found this way (see README).
 */
import { execFile } from 'node:child_process';
import { lowerPriority } from './priority.ts';

/**
 * Frames looked at: two seconds at 30 fps, enough for idet's multi-frame detection to settle
 * and few enough to decode in about the time a 10 s 1080p source takes to package (the check runs
 * beside the packaging, and holds its publication until it answers).
 */
const FRAMES = 60;
/** At least this share of the determined frames must look interlaced... */
const INTERLACED_SHARE = 0.6;
/** ...with one field order in at least this share of them. */
const ONE_ORDER_SHARE = 0.9;
/** Fewer determined frames than this say nothing (a still or black opening). */
const MIN_DETERMINED = 20;

/**
 * idet with a stricter threshold for "interlaced" than its default 1.04 (how much more alike the
 * lines of one field are than neighbouring lines): at the default, fine moving detail in
 * progressive test patterns reads as top field first in 60-80% of frames; at 1.5 none of them does,
 * while woven fields still read as interlaced in every frame (measured on generated clips).
 */
export const IDET_FILTER = 'idet=intl_thres=1.5';

export interface InterlaceCount {
  tff: number;
  bff: number;
  progressive: number;
}

/** The verdict on idet's multi-frame counts. */
export function looksInterlaced(count: InterlaceCount): boolean {
  const interlaced = count.tff + count.bff;
  const determined = interlaced + count.progressive;
  if (determined < MIN_DETERMINED || interlaced === 0) return false;
  return interlaced / determined >= INTERLACED_SHARE && Math.max(count.tff, count.bff) / interlaced >= ONE_ORDER_SHARE;
}

/** idet's "Multi frame detection" line from ffmpeg's log. */
export function parseIdet(stderr: string): InterlaceCount | undefined {
  const match = /Multi frame detection: TFF:\s*(\d+)\s+BFF:\s*(\d+)\s+Progressive:\s*(\d+)/.exec(stderr);
  if (!match) return undefined;
  return { tff: Number(match[1]), bff: Number(match[2]), progressive: Number(match[3]) };
}

/**
 * Decodes the first frames of the source and counts them; undefined when ffmpeg could not.
 * `threads`: decoding threads, 1 beside an encode (which wants every core), ffmpeg's own choice
 * beside a package (a copy, which wants none, while publication waits for this answer).
 */
export function countInterlacedFrames(input: string, options: { signal?: AbortSignal; threads?: number } = {}): Promise<InterlaceCount | undefined> {
  const { signal } = options;
  const threads = options.threads ? ['-threads', String(options.threads)] : [];
  const args = [
    '-hide_banner',
    '-nostdin',
    '-v',
    'info',
    '-nostats',
    ...threads,
    '-i',
    input,
    '-map',
    '0:V:0',
    '-frames:v',
    String(FRAMES),
    '-vf',
    IDET_FILTER,
    '-an',
    '-f',
    'null',
    '-',
  ];
  return new Promise((resolve, reject) => {
    const child = execFile('ffmpeg', args, { maxBuffer: 4 * 1024 * 1024, signal, encoding: 'utf8' }, (error, _stdout, stderr) => {
      if (error?.name === 'AbortError') return reject(error);
      // A damaged source may still have been counted; the encode reports the damage itself.
      resolve(parseIdet(stderr));
    });
    lowerPriority(child.pid);
  });
}

/**
 * Whether a source whose stream says progressive has interlaced pictures after all (its first
 * frames counted). A check that fails, or is stopped, says nothing: the stream's word stands.
 */
export function checkInterlaced(input: string, options: { signal?: AbortSignal; threads?: number } = {}): Promise<boolean> {
  return countInterlacedFrames(input, options).then(
    (count) => count !== undefined && looksInterlaced(count),
    () => false,
  );
}

/** Thrown from a watch tick to stop a command whose source turned out interlaced: it is encoded, deinterlaced, instead. */
export class InterlacedAfterAllError extends Error {
  override name = 'InterlacedAfterAllError';
}
