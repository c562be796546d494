/**
 * Reads what the ladder needs to know about a source (display size, duration, frame rate, audio)
 * with ffprobe. The input is a local path or an http(s) URL (a presigned S3 GET): ffprobe reads
 * only the parts it needs, with range requests, so the source is never copied whole.
 */
import { execFile } from 'node:child_process';

/** MediaConvert's code for "can't open one or more of your input files". */
export const ERROR_CODE_INPUT_UNREADABLE = 1010;

/** The source cannot be used as a video. The message is meant for the person who uploaded it. */
export class SourceUnreadableError extends Error {
  override name = 'SourceUnreadableError';
  readonly code: number;
  constructor(message: string, options?: { code?: number; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.code = options?.code ?? ERROR_CODE_INPUT_UNREADABLE;
  }
}

export interface SourceInfo {
  /** Display width: rotation already applied. */
  width: number;
  /** Display height: rotation already applied. */
  height: number;
  durationSeconds: number;
  hasAudio: boolean;
  frameRate: number;
  videoCodec: string;
  audioCodec?: string;
  /**
   * What decides whether the video stream can be packaged as it is (see remux.ts): the stored
   * rotation (0, 90, 180 or 270), ffprobe's pixel format, profile, field order and sample aspect
   * ratio, and the audio profile. Absent when ffprobe does not say.
   */
  rotation: number;
  pixelFormat?: string;
  videoProfile?: string;
  /** ffprobe's level: H.264 level_idc, e.g. 40 for 4.0. */
  videoLevel?: number;
  fieldOrder?: string;
  sampleAspectRatio?: string;
  audioProfile?: string;
  /** Presentation time of the first video frame in the source's own timeline (usually 0). */
  videoStartSeconds: number;
}

interface FfprobeStream {
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  level?: number;
  pix_fmt?: string;
  field_order?: string;
  sample_aspect_ratio?: string;
  start_time?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
  side_data_list?: Array<{ side_data_type?: string; rotation?: number }>;
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { duration?: string; format_name?: string };
}

/** Stops a hung HTTP read instead of waiting forever (microseconds). */
const HTTP_TIMEOUT_US = '30000000';

export function isUrl(input: string): boolean {
  return /^https?:\/\//i.test(input);
}

/**
 * Turns ffmpeg/ffprobe stderr (run with `-v error`) into one line a person can read: the last
 * line a component wrote (`[libx264 @ 0x...] width not divisible by 2`) is the cause; the
 * generic trailers after it ("Conversion failed!") are not. The input path or URL is replaced,
 * since a presigned URL is long and carries a signature.
 */
export function summarizeFfmpegStderr(stderr: string, input?: string): string {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => (input ? line.split(input).join('the source') : line).trim())
    .filter((line) => line.length > 0 && !/^Conversion failed!?$/.test(line));
  const componentPrefix = /^\[[^\]]+ @ 0x[0-9a-f]+\]\s*/i;
  const fromComponent = lines.filter((line) => componentPrefix.test(line)).at(-1);
  const chosen = fromComponent ?? lines.at(-1) ?? 'unknown error';
  return chosen.replace(componentPrefix, '').replace(/^the source:\s*/, '').slice(0, 300);
}

function parseRate(rate: string | undefined): number {
  const [num, den] = (rate ?? '').split('/').map(Number);
  if (num === undefined || !Number.isFinite(num) || num <= 0) return 0;
  const value = den === undefined ? num : num / den;
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/** Clockwise/counter-clockwise does not matter here, only whether the sides swap. */
function rotationOf(stream: FfprobeStream): number {
  const fromSideData = stream.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation;
  const fromTag = stream.tags?.rotate !== undefined ? Number(stream.tags.rotate) : undefined;
  const rotation = fromSideData ?? fromTag ?? 0;
  return Number.isFinite(rotation) ? ((Math.round(rotation) % 360) + 360) % 360 : 0;
}

function runFfprobe(input: string, signal?: AbortSignal): Promise<string> {
  const args = ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format'];
  if (isUrl(input)) args.push('-rw_timeout', HTTP_TIMEOUT_US);
  args.push('-i', input);
  return new Promise((resolve, reject) => {
    execFile(
      'ffprobe',
      args,
      { maxBuffer: 16 * 1024 * 1024, signal, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          return reject(new Error('ffprobe is not installed (looked for it on PATH)', { cause: error }));
        }
        if (error.name === 'AbortError') return reject(error);
        const reason = summarizeFfmpegStderr(stderr, input);
        // Reaching the source failed (HTTP error, refused, timed out): nothing wrong with the file.
        const unreachable = /Server returned|HTTP error|Connection to|timed out|Network|I\/O error/i;
        if (isUrl(input) && unreachable.test(reason)) {
          return reject(
            new SourceUnreadableError(`The uploaded file could not be fetched (${reason})`, { cause: error }),
          );
        }
        // The demuxer could not even recognise a container: not a video file at all.
        if (reason === 'Invalid data found when processing input') {
          return reject(
            new SourceUnreadableError(
              'The file is not a video we can read: its format was not recognised',
              { cause: error },
            ),
          );
        }
        reject(
          new SourceUnreadableError(
            `The file could not be read; it may be truncated or corrupt (${reason})`,
            { cause: error },
          ),
        );
      },
    );
  });
}

export async function probeSource(
  input: string,
  options: { signal?: AbortSignal } = {},
): Promise<SourceInfo> {
  const stdout = await runFfprobe(input, options.signal);
  let output: FfprobeOutput;
  try {
    output = JSON.parse(stdout) as FfprobeOutput;
  } catch (cause) {
    throw new SourceUnreadableError('The file could not be read; ffprobe gave no usable answer', {
      cause,
    });
  }
  const streams = output.streams ?? [];
  // Cover art in audio files shows up as a one-frame "video" stream: not a video.
  const video = streams.find((s) => s.codec_type === 'video' && !s.disposition?.attached_pic);
  if (!video || !video.width || !video.height) {
    throw new SourceUnreadableError('The file is not a video we can read: it has no video stream');
  }
  const audio = streams.find((s) => s.codec_type === 'audio');

  const durationSeconds = Number(output.format?.duration ?? video.duration);
  if (!Number.isFinite(durationSeconds) || durationSeconds <= 0) {
    throw new SourceUnreadableError(
      'The file could not be read; it may be truncated or corrupt (its duration is unknown)',
    );
  }

  const rotation = rotationOf(video);
  const swap = rotation === 90 || rotation === 270;
  // avg_frame_rate is right for variable-frame-rate phone video; r_frame_rate is the fallback.
  const frameRate = parseRate(video.avg_frame_rate) || parseRate(video.r_frame_rate) || 30;

  const info: SourceInfo = {
    width: swap ? video.height : video.width,
    height: swap ? video.width : video.height,
    durationSeconds,
    hasAudio: audio !== undefined,
    frameRate,
    videoCodec: video.codec_name ?? 'unknown',
    rotation,
    videoStartSeconds: Number.isFinite(Number(video.start_time)) ? Number(video.start_time) : 0,
  };
  if (audio?.codec_name) info.audioCodec = audio.codec_name;
  if (audio?.profile) info.audioProfile = audio.profile;
  if (video.pix_fmt) info.pixelFormat = video.pix_fmt;
  if (video.profile) info.videoProfile = video.profile;
  if (typeof video.level === 'number' && video.level > 0) info.videoLevel = video.level;
  if (video.field_order) info.fieldOrder = video.field_order;
  if (video.sample_aspect_ratio) info.sampleAspectRatio = video.sample_aspect_ratio;
  return info;
}
