/**
 * The ffmpeg commands that carry out a transcode plan (src/domain/transcode-plan.ts), the
 * local counterpart of the MediaConvert job settings built from the same plan:
 *
 *   <outDir>/<rendition>/index.m3u8 and segment_00000.ts ... for every video rendition and, when
 *   audio is not muxed into the video, every audio rendition (`audio-1`, `audio-2`...).
 *
 * - ENCODE: one command decodes the source once and encodes the rungs: deinterlaced when the plan
 *   (or the content, see interlace-check.ts) says so, at the plan's constant frame rate, HLG/PQ
 *   tone-mapped to BT.709, scaled to square-pixel display sizes, a keyframe every SEGMENT_SECONDS.
 * - PACKAGE: the source's own video copied into a rendition (fast start), its audio encoded to the
 *   same stereo AAC as every other rendition.
 * - ALIGNED ENCODE: the rungs below a packaged rendition, keyframes forced where its segments start.
 * Audio is always AAC-LC stereo 48 kHz: the plan's downmix rendered as a `pan` filter.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AUDIO_BITRATE, AUDIO_SAMPLE_RATE, gopFrames, frameRateValue, SEGMENT_SECONDS } from '../../domain/ladder.ts';
import type { AudioTrackPlan, RenditionPlan, TranscodePlan, VideoPlan } from '../../schemas/transcode.ts';
import { lowerPriority } from './priority.ts';

/** ffmpeg could not do its part: the message says why, in words a person can read. */
export class TranscodeFailedError extends Error {
  override name = 'TranscodeFailedError';
}

/** The source is too damaged to publish. */
export class SourceDamagedError extends TranscodeFailedError {
  override name = 'SourceDamagedError';
}

/**
 * ffmpeg's exit status when more than `-max_error_rate` (two thirds, by default) of the frames it
 * decoded failed: it stops, and the source is beyond use.
 */
const EXIT_TOO_MANY_DECODE_ERRORS = 69;

/** An http(s) source (a presigned S3 URL): read with timeouts and reconnects, unlike a local file. */
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
  return chosen
    .replace(componentPrefix, '')
    .replace(/^the source:\s*/, '')
    .slice(0, 300);
}

const kbit = (bitsPerSecond: number) => `${Math.round(bitsPerSecond / 1000)}k`;

/**
 * Commands whose outputs must line up with each other (a remux and an encode of the same source,
 * run one after the other) keep the source's timestamps (`-copyts`) and shift them all by this
 * much. Without it ffmpeg shifts each output by its own first negative decoding timestamp
 * (B-frame delay, AAC priming), which differs between a copied and an encoded stream: measured
 * 45 ms apart for a clip without B-frames. 10 s exceeds any such delay, so no output shifts itself.
 */
export const SOURCE_TIMESTAMP_OFFSET = 10;

/**
 * Linux refuses a single argument over 128 KiB; a keyframe list longer than this (a day of
 * 4-second segments) falls back to `-force_key_frames source`, which cuts at every source
 * keyframe: still aligned, with more keyframes than needed.
 */
const MAX_KEYFRAME_LIST_CHARS = 100_000;

/**
 * `-force_key_frames` picks the first frame at or after each time; asking a little early keeps
 * the rounding of the listed times (microseconds, summed over many segments) from skipping the
 * frame that starts the segment. Frames are never this close together.
 */
const KEYFRAME_EARLY_SECONDS = 0.002;

/** How each command carries audio. */
export type AudioOutput =
  /** No audio in this command's outputs. */
  | 'none'
  /** The plan's one track, in every video rendition of the command. */
  | 'muxed'
  /** Every planned track as a rendition of its own. */
  | 'renditions';

/**
 * ffmpeg reads the source no faster than `speedLimit` seconds of media per second, when one is
 * given. MediaConvert takes about real time or longer for a job; the local worker is often many
 * times faster, so without a limit a video can go from uploaded to ready before anyone (a person
 * at the page, or a browser test) sees what happens in between.
 */
function inputArgs(input: string, speedLimit?: number): string[] {
  return [
    ...(isUrl(input) ? ['-rw_timeout', '30000000', '-reconnect', '1', '-reconnect_delay_max', '5'] : []),
    ...(speedLimit ? ['-readrate', String(speedLimit)] : []),
  ];
}

/** The master ffmpeg writes beside its renditions: read for CODECS, never published. */
export const FFMPEG_MASTER = 'ffmpeg-master.m3u8';

const COMMON = ['-hide_banner', '-nostdin', '-y', '-v', 'error', '-nostats', '-progress', 'pipe:1'];

function hlsArgs(options: { playlistType: 'vod' | 'event'; outDir: string; streamMap?: string; single?: string }): string[] {
  const folder = options.single ?? '%v';
  return [
    '-max_muxing_queue_size',
    '4096',
    '-f',
    'hls',
    '-hls_time',
    String(SEGMENT_SECONDS),
    '-hls_playlist_type',
    options.playlistType,
    '-hls_segment_type',
    'mpegts',
    '-hls_flags',
    'independent_segments',
    '-hls_segment_filename',
    path.join(options.outDir, folder, 'segment_%05d.ts'),
    ...(options.streamMap ? ['-master_pl_name', FFMPEG_MASTER, '-var_stream_map', options.streamMap] : []),
    path.join(options.outDir, folder, 'index.m3u8'),
  ];
}

/** A gain in dB as the linear factor `pan` takes. */
const linear = (decibels: number) => Number((10 ** (decibels / 20)).toFixed(4));

/**
 * The audio chain of one planned track: the downmix the plan declares (the same gains MediaConvert's
 * remix applies), then 48 kHz. `pan` with `=` does not renormalise, as MediaConvert does not.
 */
export function audioFilter(track: AudioTrackPlan): string {
  const [left, right] = track.downmix ?? [
    [0, -60],
    [-60, 0],
  ];
  const channel = (gains: number[]) =>
    gains
      .map((gain, input) => (gain <= -60 ? undefined : gain === 0 ? `c${input}` : `${linear(gain)}*c${input}`))
      .filter((term): term is string => term !== undefined)
      .join('+') || '0*c0';
  return `pan=stereo|c0=${channel(left)}|c1=${channel(right)},aresample=${AUDIO_SAMPLE_RATE}`;
}

function audioEncodeArgs(count: number): string[] {
  if (count === 0) return [];
  return ['-c:a', 'aac', '-b:a', kbit(AUDIO_BITRATE), '-ar', String(AUDIO_SAMPLE_RATE), '-ac', '2'];
}

/** What a colour conversion to BT.709 SDR needs, as zscale/tonemap filters (nothing for SDR). */
export function colourFilters(colour: VideoPlan['colour']): string[] {
  // The input's characteristics are stated, not read from frame metadata that a container may
  // have dropped: every HLG and PQ source is BT.2020.
  if (colour === 'hlg') {
    // HLG is scene-referred and made to be shown on SDR screens by a direct conversion: zimg's
    // HLG-to-BT.709 keeps colours close to the original (saturation 104-107 of an SDR original's
    // 112, measured), where a tone curve in linear light washes them out (65-90).
    return ['zscale=tin=arib-std-b67:pin=bt2020:min=bt2020nc:t=bt709:p=bt709:m=bt709:r=tv'];
  }
  if (colour === 'pq') {
    // PQ is display-referred up to 10,000 nits: linear light (100 nits = 1.0), BT.709 primaries,
    // then Mobius, which is linear up to its knee and compresses only the highlights.
    return [
      'zscale=tin=smpte2084:pin=bt2020:min=bt2020nc:t=linear:npl=100',
      'format=gbrpf32le',
      'zscale=p=bt709',
      'tonemap=tonemap=mobius:desat=0',
      'zscale=t=bt709:m=bt709:r=tv',
    ];
  }
  return [];
}

export interface EncodeOptions {
  /** Local path or http(s) URL (ffmpeg reads URLs with range requests). */
  input: string;
  plan: TranscodePlan;
  /** The video rungs this command encodes (some or all of the plan's); none for audio only. */
  renditions: RenditionPlan[];
  audio: AudioOutput;
  /** `flagged`: frames the stream marks interlaced (the plan's deinterlace); `all`: every frame (the content check found combing the flags deny). */
  deinterlace?: 'flagged' | 'all';
  outDir: string;
  /** `vod` writes each media playlist once complete; `event` rewrites it after every segment, so a watcher can publish as it grows. */
  playlistType?: 'vod' | 'event';
  /**
   * Cut segments exactly here instead of every SEGMENT_SECONDS: times (s) in the source's own
   * timeline where keyframes are forced, as the segment starts of a packaged rendition of the same
   * source (see buildPackageArgs). Timestamps are then the source's plus SOURCE_TIMESTAMP_OFFSET,
   * like the package's, and frames keep their own timing (no frame-rate conversion), so every
   * rendition starts each segment at the same frame and the same timestamp.
   */
  keyframeTimes?: number[];
  /** Read the source at most this many times real time (ffmpeg `-readrate`); see inputArgs. */
  speedLimit?: number;
}

/** `-force_key_frames` value for segment start times in the source's timeline. */
export function forcedKeyframes(times: number[]): string {
  const list = times.map((time) => Math.max(0, time - KEYFRAME_EARLY_SECONDS).toFixed(6)).join(',');
  return list.length <= MAX_KEYFRAME_LIST_CHARS ? list : 'source';
}

/** The audio part of a filter graph: each track's chain, split once per output that takes it. */
function audioGraph(plan: TranscodePlan, audio: AudioOutput, videoOutputs: number): { graph: string[]; labels: string[] } {
  if (audio === 'none' || plan.audio.length === 0) return { graph: [], labels: [] };
  if (audio === 'muxed') {
    const track = plan.audio[0]!;
    const outputs = Math.max(1, videoOutputs);
    const labels = Array.from({ length: outputs }, (_, i) => `a${i}`);
    return { graph: [`[0:a:${track.index}]${audioFilter(track)},asplit=${outputs}${labels.map((l) => `[${l}]`).join('')}`], labels };
  }
  const labels = plan.audio.map((_, i) => `a${i}`);
  return { graph: plan.audio.map((track, i) => `[0:a:${track.index}]${audioFilter(track)}[a${i}]`), labels };
}

/** The `-var_stream_map` of a command's video and audio outputs. */
function streamMap(plan: TranscodePlan, renditions: RenditionPlan[], audio: AudioOutput): string {
  const muxed = audio === 'muxed' && plan.audio.length > 0;
  const video = renditions.map((r, i) => `v:${i}${muxed ? `,a:${i}` : ''},name:${r.name}`);
  const audioOnly = audio === 'renditions' ? plan.audio.map((track, i) => `a:${i},name:${track.rendition}`) : [];
  return [...video, ...audioOnly].join(' ');
}

/** The ffmpeg arguments that encode `renditions` (and the audio) in one command. */
export function buildEncodeArgs(options: EncodeOptions): string[] {
  const { input, plan, renditions, audio, outDir, keyframeTimes } = options;
  const video = plan.video;
  if (renditions.length > 0 && !video) throw new RangeError('An audio-only plan has no video renditions');
  if (renditions.length === 0 && (audio !== 'renditions' || plan.audio.length === 0)) {
    throw new RangeError('The command needs at least one output');
  }
  const n = renditions.length;
  const graph: string[] = [];
  if (video && n > 0) {
    const top = renditions[0]!;
    const pre: string[] = [];
    if (options.deinterlace) pre.push(`bwdif=mode=send_frame:parity=auto:deint=${options.deinterlace === 'all' ? 'all' : 'interlaced'}`);
    // One constant rate for every rendition; an aligned encode keeps the packaged frames' timing instead.
    if (!keyframeTimes) pre.push(`fps=${video.frameRate.numerator}/${video.frameRate.denominator}`);
    const colour = colourFilters(video.colour);
    // Tone mapping is the costliest filter: run it at the top rendition's size, not a 4K source's.
    const larger = video.display.width * video.display.height > top.width * top.height;
    if (colour.length > 0 && larger) pre.push(`scale=${top.width}:${top.height}`);
    pre.push(...colour, 'format=yuv420p');
    // `V` (capital) skips attached pictures (cover art), which would otherwise count as the first
    // video stream. Autorotation happens before the graph, so scale targets are display sizes;
    // setsar=1 makes every rendition square-pixel at the display aspect.
    graph.push(`[0:V:0]${pre.join(',')},split=${n}${renditions.map((_, i) => `[s${i}]`).join('')}`);
    renditions.forEach((r, i) => graph.push(`[s${i}]scale=${r.width}:${r.height},setsar=1[v${i}]`));
  }
  const audioPart = audioGraph(plan, audio, n);
  graph.push(...audioPart.graph);

  const args = [...COMMON, ...inputArgs(input, options.speedLimit)];
  if (keyframeTimes) args.push('-copyts');
  args.push('-i', input, '-filter_complex', graph.join(';'));
  renditions.forEach((_, i) => args.push('-map', `[v${i}]`));
  audioPart.labels.forEach((label) => args.push('-map', `[${label}]`));

  if (n > 0) {
    args.push('-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high');
    renditions.forEach((r, i) => {
      args.push(`-b:v:${i}`, kbit(r.videoBitrate), `-maxrate:v:${i}`, kbit(r.videoBitrate), `-bufsize:v:${i}`, kbit(r.videoBitrate * 2));
    });
    if (video!.colour !== 'sdr') {
      // Converted to BT.709: say so, or players would read the pixels as the source's HDR.
      args.push('-color_primaries', 'bt709', '-color_trc', 'bt709', '-colorspace', 'bt709');
    }
    if (keyframeTimes) {
      // Keyframes exactly where the packaged rendition starts its segments and nowhere else (no
      // GOP limit, no scene cuts), so the HLS muxer, which cuts at the first keyframe past each
      // SEGMENT_SECONDS, cuts both at the same frames.
      args.push(
        '-force_key_frames',
        forcedKeyframes(keyframeTimes),
        '-g',
        '1000000',
        '-sc_threshold',
        '0',
        '-fps_mode',
        'passthrough',
        '-output_ts_offset',
        String(SOURCE_TIMESTAMP_OFFSET),
      );
    } else {
      const gop = String(gopFrames(frameRateValue(video!.frameRate)));
      args.push('-g', gop, '-keyint_min', gop, '-sc_threshold', '0');
    }
  } else if (keyframeTimes) {
    args.push('-output_ts_offset', String(SOURCE_TIMESTAMP_OFFSET));
  }
  args.push(...audioEncodeArgs(audioPart.labels.length));
  args.push(...hlsArgs({ playlistType: options.playlistType ?? 'vod', outDir, streamMap: streamMap(plan, renditions, audio) }));
  return args;
}

export interface PackageOptions {
  input: string;
  plan: TranscodePlan;
  /** The rendition's folder under outDir, e.g. `720p`. */
  name: string;
  /** `muxed`: the one track encoded into the packaged rendition; `renditions`: every track beside it. */
  audio: AudioOutput;
  outDir: string;
  playlistType?: 'vod' | 'event';
  speedLimit?: number;
}

/**
 * Packages the source's video as one HLS rendition without re-encoding: segments cut at the
 * source's own keyframes, the first at or after every SEGMENT_SECONDS, same layout and names as
 * the encoded ones. Audio keeps the layout of every other rendition: a track that already is AAC
 * stereo 48 kHz (the plan's passThrough) is copied, any other is encoded (downmixed) alongside.
 */
export function buildPackageArgs(options: PackageOptions): string[] {
  const { plan, audio } = options;
  const tracks = audio === 'none' ? [] : audio === 'muxed' ? plan.audio.slice(0, 1) : plan.audio;
  const encoded = tracks.filter((track) => !track.passThrough);
  const graph = encoded.map((track) => `[0:a:${track.index}]${audioFilter(track)}[e${track.index}]`);
  const args = [...COMMON, ...inputArgs(options.input, options.speedLimit), '-copyts', '-i', options.input];
  if (graph.length > 0) args.push('-filter_complex', graph.join(';'));
  args.push('-map', '0:V:0');
  tracks.forEach((track) => args.push('-map', track.passThrough ? `0:a:${track.index}` : `[e${track.index}]`));
  args.push('-c:v', 'copy');
  tracks.forEach((track, i) => {
    if (track.passThrough) args.push(`-c:a:${i}`, 'copy');
    else args.push(`-c:a:${i}`, 'aac', `-b:a:${i}`, kbit(AUDIO_BITRATE), `-ar:a:${i}`, String(AUDIO_SAMPLE_RATE), `-ac:a:${i}`, '2');
  });
  args.push('-output_ts_offset', String(SOURCE_TIMESTAMP_OFFSET));
  const muxed = audio === 'muxed' && tracks.length > 0;
  const map = [`v:0${muxed ? ',a:0' : ''},name:${options.name}`, ...(audio === 'renditions' ? tracks.map((track, i) => `a:${i},name:${track.rendition}`) : [])];
  args.push(...hlsArgs({ playlistType: options.playlistType ?? 'vod', outDir: options.outDir, streamMap: map.join(' ') }));
  return args;
}

/**
 * The poster: the first frame of a rendition's first segment as a JPEG (already upright), scaled
 * to `size` when given, like a MediaConvert frame capture output with one capture.
 */
export async function capturePoster(options: {
  segment: string;
  outFile: string;
  size?: { width: number; height: number };
  signal?: AbortSignal;
}): Promise<void> {
  const scale = options.size ? ['-vf', `scale=${options.size.width}:${options.size.height},setsar=1`] : [];
  const args = [
    '-hide_banner',
    '-nostdin',
    '-y',
    '-v',
    'error',
    '-i',
    options.segment,
    '-frames:v',
    '1',
    ...scale,
    '-q:v',
    '3',
    '-update',
    '1',
    options.outFile,
  ];
  options.signal?.throwIfAborted();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    lowerPriority(child.pid);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4096)));
    const onAbort = () => child.kill('SIGKILL');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', reject);
    child.on('close', (code) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (options.signal?.aborted) return reject(options.signal.reason);
      if (code === 0) resolve();
      else reject(new TranscodeFailedError(`Could not capture the poster frame: ${stderr.trim().split('\n').at(-1) ?? `ffmpeg exited with ${code}`}`));
    });
  });
}

/** Damage ffmpeg met while decoding the source: what it could not decode, per kind of stream. */
export interface DecodeDamage {
  /** Video packets or macroblock rows ffmpeg reported it could not decode. */
  video: number;
  audio: number;
  /** The source time of the first damage, in seconds, when ffmpeg's progress showed it. */
  firstAtSeconds?: number;
}

export interface RunFfmpegOptions {
  /** The input path or URL, kept out of error messages. */
  input: string;
  /** Aborting kills ffmpeg; the returned promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Video frames written so far (`frame` of `-progress`). With `-copyts` ffmpeg 5.1 measures
   * `out_time` from the first timestamp it saw, which is not the start (measured: 7.4 s reported
   * at the end of a 20 s clip), so positions are counted in frames.
   */
  onFrames?: (frames: number) => void;
  /** Counted while ffmpeg runs; read it after. */
  damage?: DecodeDamage;
  /** Seconds of source a frame stands for, to place the first damage in time. */
  secondsPerFrame?: number;
  /** The input's stream index of the video (Probe's track number minus one); default 0. */
  videoStream?: number;
  /** Nice steps below this process (priority.ts); TRANSCODE_NICENESS by default. */
  niceness?: number;
}

/**
 * ffmpeg's words for a picture it could not decode: a packet of the stream it dropped
 * ("Error while decoding stream #0:N"), or one it decoded with concealed macroblocks.
 */
const STREAM_DAMAGE = /^Error while decoding stream #0:(\d+)/;
const CONCEALED_PICTURE = /\] error while decoding MB /;

/** Runs one ffmpeg command (with `-progress pipe:1`); rejects with a reason a person can read. */
export function runFfmpeg(args: string[], options: RunFfmpegOptions): Promise<void> {
  const { signal, onFrames, input, damage } = options;
  if (signal?.aborted) return Promise.reject(signal.reason as Error);

  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    lowerPriority(child.pid, options.niceness);
    let stderr = '';
    let stderrRest = '';
    let stdoutRest = '';
    let frames = 0;
    let killTimer: NodeJS.Timeout | undefined;

    const onAbort = () => {
      child.kill('SIGTERM');
      // ffmpeg finishes the packet it is on after SIGTERM; do not wait on a wedged HTTP read.
      killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-16_384); // the cause is near the end; keep the tail
      if (!damage) return;
      const lines = (stderrRest + chunk).split('\n');
      stderrRest = lines.pop() ?? '';
      for (const line of lines) {
        const stream = STREAM_DAMAGE.exec(line)?.[1];
        const isVideo = CONCEALED_PICTURE.test(line) || (stream !== undefined && Number(stream) === (options.videoStream ?? 0));
        if (isVideo) damage.video += 1;
        else if (stream !== undefined) damage.audio += 1;
        else continue;
        if (damage.firstAtSeconds === undefined && options.secondsPerFrame) damage.firstAtSeconds = frames * options.secondsPerFrame;
      }
    });

    // `-progress pipe:1` writes blocks of key=value lines every ~0.5 s.
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (stdoutRest + chunk).split('\n');
      stdoutRest = lines.pop() ?? '';
      for (const line of lines) {
        const [key, value] = line.split('=', 2);
        const number = Number(value);
        if (!Number.isFinite(number) || number < 0) continue; // "N/A" before the first frame
        if (key === 'frame') {
          frames = number;
          onFrames?.(number);
        }
      }
    });

    child.on('error', (error: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort);
      reject(error.code === 'ENOENT' ? new Error('ffmpeg is not installed (looked for it on PATH)', { cause: error }) : error);
    });
    child.on('close', (code, exitSignal) => {
      clearTimeout(killTimer);
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(signal.reason);
      if (code === 0) return resolve();
      if (code === EXIT_TOO_MANY_DECODE_ERRORS) {
        return reject(new SourceDamagedError('The video is too damaged to convert: most of its pictures could not be decoded.'));
      }
      const reason = summarizeFfmpegStderr(stderr, input);
      reject(new TranscodeFailedError(`Transcoding failed: ${reason} (ffmpeg exited with ${exitSignal ?? `code ${code}`})`));
    });
  });
}

/** How often a running ffmpeg's output folder is looked at (runFfmpegWatched). */
const WATCH_POLL_MS = 100;

/**
 * Runs ffmpeg (runFfmpeg), calling `tick` every WATCH_POLL_MS while it runs and once after it
 * exits: the caller publishes what ffmpeg has written so far. A tick that throws stops ffmpeg,
 * and the run rejects with that error.
 */
export async function runFfmpegWatched(
  args: string[],
  options: RunFfmpegOptions & { signal: AbortSignal },
  tick: (exited: boolean) => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  const run = runFfmpeg(args, { ...options, signal: AbortSignal.any([options.signal, stop.signal]) });
  let exited = false;
  const settled = run.then(
    () => (exited = true),
    () => (exited = true),
  );
  try {
    while (!exited) {
      await Promise.race([sleep(WATCH_POLL_MS), settled]);
      if (!exited) await tick(false);
    }
    await run;
    await tick(true);
  } catch (error) {
    stop.abort(error);
    await settled;
    throw error;
  }
}

/**
 * When the first video frame of a source is shown, in its own timeline (usually 0; B-frame edit
 * lists and transport streams start later): a packaged rendition keeps the source's timestamps, and
 * the rungs encoded to match it force their keyframes at times in this timeline.
 */
export async function videoStartSeconds(input: string, signal?: AbortSignal): Promise<number> {
  const stdout = await new Promise<string>((resolve, reject) => {
    const args = [
      '-v',
      'error',
      ...(isUrl(input) ? ['-rw_timeout', '30000000'] : []),
      '-select_streams',
      'V:0',
      '-show_entries',
      'stream=start_time',
      '-of',
      'json',
      input,
    ];
    const child = spawn('ffprobe', args, { ...(signal ? { signal } : {}) });
    lowerPriority(child.pid);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new TranscodeFailedError('ffprobe could not read the start of the source'))));
  });
  const start = Number((JSON.parse(stdout) as { streams?: Array<{ start_time?: string }> }).streams?.[0]?.start_time);
  return Number.isFinite(start) ? start : 0;
}

/** RFC 6381 codec strings, e.g. `avc1.640028,mp4a.40.2`, read from an encoded segment. */
export async function codecsOf(file: string): Promise<string> {
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_entries', 'stream=codec_type,codec_name,profile,level', file]);
    lowerPriority(child.pid);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new TranscodeFailedError(`ffprobe could not read ${file}`))));
  });
  const { streams = [] } = JSON.parse(stdout) as {
    streams?: Array<{ codec_type?: string; codec_name?: string; profile?: string; level?: number }>;
  };
  const codecs: string[] = [];
  for (const s of streams) {
    if (s.codec_type === 'video' && s.codec_name === 'h264') {
      codecs.push(avc1CodecString(s.profile ?? 'High', s.level ?? 40));
    } else if (s.codec_type === 'audio' && s.codec_name === 'aac') {
      codecs.push(AAC_LC_CODEC); // AAC-LC, which is all the ladder encodes
    }
  }
  return codecs.join(',');
}

/** RFC 6381 name of AAC-LC, the only audio any rendition carries. */
export const AAC_LC_CODEC = 'mp4a.40.2';

/** `avc1.PPCCLL`: profile_idc, constraint flags, level_idc, in hex. */
export function avc1CodecString(profile: string, level: number): string {
  const profiles: Record<string, string> = {
    'Constrained Baseline': '42e0',
    Baseline: '4200',
    Main: '4d40',
    High: '6400',
  };
  const profileAndConstraints = profiles[profile] ?? '6400';
  return `avc1.${profileAndConstraints}${level.toString(16).padStart(2, '0')}`;
}
