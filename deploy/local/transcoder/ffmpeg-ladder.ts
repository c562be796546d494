/**
 * Runs ONE ffmpeg command that decodes the source once and encodes the whole HLS ladder:
 *
 *   <outDir>/master.m3u8
 *   <outDir>/<rendition>/index.m3u8
 *   <outDir>/<rendition>/segment_00000.ts ...
 *
 * Keyframes every SEGMENT_SECONDS (fixed GOP, no scene-cut keyframes) so every rendition cuts
 * its segments at the same instants and players can switch between them at any boundary.
 */
import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import HLS from 'hls-parser';
import { gopFrames, SEGMENT_SECONDS, type PlannedRendition } from '../../../src/ladder.ts';
import { isUrl, summarizeFfmpegStderr, type SourceInfo } from './probe.ts';

/** MediaConvert's catch-all code for a failure that is not the input's fault. */
export const ERROR_CODE_UNKNOWN = 1999;

export class TranscodeFailedError extends Error {
  override name = 'TranscodeFailedError';
  readonly code = ERROR_CODE_UNKNOWN;
}

export interface LadderOptions {
  /** Local path or http(s) URL (ffmpeg reads URLs with range requests). */
  input: string;
  source: Pick<SourceInfo, 'durationSeconds' | 'hasAudio' | 'frameRate'>;
  renditions: PlannedRendition[];
  outDir: string;
  /**
   * `vod` (default) writes each media playlist once it is complete. `event` rewrites it (to a temp
   * file, then renamed) after every segment, so a watcher can publish segments as they finish.
   */
  playlistType?: 'vod' | 'event';
  /** Write ffmpeg's own master playlist (default true); the worker composes its own instead. */
  masterPlaylist?: boolean;
  /**
   * Cut segments exactly here instead of every SEGMENT_SECONDS: times (s) in the source's own
   * timeline where keyframes are forced, as the segment starts of a remuxed rendition of the same
   * source (see buildRemuxArgs). Timestamps are then the source's plus SOURCE_TIMESTAMP_OFFSET,
   * like the remux's, and frames keep their own timing (no frame-rate conversion), so every
   * rendition starts each segment at the same frame and the same timestamp.
   */
  keyframeTimes?: number[];
  /** Read the source at most this many times real time (ffmpeg `-readrate`); see SpeedLimit. */
  speedLimit?: number;
  /** Called with increasing percentages (0-100, integers), ending with 100 on success. */
  onProgress?: (percent: number) => void;
  /** Aborting kills ffmpeg; the returned promise then rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface LadderRendition extends PlannedRendition {
  /** Relative to outDir, e.g. `720p/index.m3u8`. */
  playlist: string;
  /** Relative to outDir, in playback order. */
  segments: string[];
  durationSeconds: number;
}

export interface LadderResult {
  /** Always `master.m3u8`, relative to outDir. */
  masterPlaylist: string;
  renditions: LadderRendition[];
}

const MASTER = 'master.m3u8';
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

function hlsArgs(options: { playlistType: 'vod' | 'event'; segmentPattern: string; playlist: string; extra?: string[] }): string[] {
  return [
    '-f', 'hls',
    '-hls_time', String(SEGMENT_SECONDS),
    '-hls_playlist_type', options.playlistType,
    '-hls_segment_type', 'mpegts',
    '-hls_flags', 'independent_segments',
    '-hls_segment_filename', options.segmentPattern,
    ...(options.extra ?? []),
    options.playlist,
  ];
}

export interface RemuxOptions {
  input: string;
  source: Pick<SourceInfo, 'hasAudio'>;
  outDir: string;
  /** The rendition's folder under outDir, e.g. `1080p`. */
  name: string;
  playlistType?: 'vod' | 'event';
  /** As LadderOptions.speedLimit. */
  speedLimit?: number;
}

/**
 * Packages the source's video (and audio) as one HLS rendition without re-encoding: segments cut
 * at the source's own keyframes, the first at or after every SEGMENT_SECONDS, same layout and
 * names as the ladder. Reads the source once, as fast as storage delivers it.
 */
export function buildRemuxArgs(options: RemuxOptions): string[] {
  const dir = path.join(options.outDir, options.name);
  return [
    '-hide_banner', '-nostdin', '-y', '-v', 'error', '-nostats', '-progress', 'pipe:1',
    ...inputArgs(options.input, options.speedLimit),
    '-copyts', '-i', options.input,
    '-map', '0:V:0', ...(options.source.hasAudio ? ['-map', '0:a:0'] : []),
    '-c', 'copy',
    '-output_ts_offset', String(SOURCE_TIMESTAMP_OFFSET),
    ...hlsArgs({
      playlistType: options.playlistType ?? 'vod',
      segmentPattern: path.join(dir, 'segment_%05d.ts'),
      playlist: path.join(dir, 'index.m3u8'),
    }),
  ];
}

/** `-force_key_frames` value for segment start times in the source's timeline. */
export function forcedKeyframes(times: number[]): string {
  const list = times.map((time) => Math.max(0, time - KEYFRAME_EARLY_SECONDS).toFixed(6)).join(',');
  return list.length <= MAX_KEYFRAME_LIST_CHARS ? list : 'source';
}

/** The ffmpeg arguments for the ladder (exported so tests and readers can see the command). */
export function buildLadderArgs(options: Omit<LadderOptions, 'onProgress' | 'signal'>): string[] {
  const { input, source, renditions, outDir, keyframeTimes } = options;
  if (renditions.length === 0) throw new RangeError('The ladder needs at least one rendition');
  const gop = String(gopFrames(source.frameRate));
  const n = renditions.length;

  // Autorotation happens before the graph, so scale targets are display dimensions. `V` (capital)
  // skips attached pictures (cover art), which would otherwise count as the first video stream.
  // setsar=1 keeps players from stretching after the even-rounding; yuv420p keeps `-profile high`
  // valid for 10-bit or 4:4:4 sources.
  const graph = [
    `[0:V:0]split=${n}${renditions.map((_, i) => `[s${i}]`).join('')}`,
    ...renditions.map(
      (r, i) => `[s${i}]scale=${r.width}:${r.height},setsar=1,format=yuv420p[v${i}]`,
    ),
  ].join(';');

  const args = ['-hide_banner', '-nostdin', '-y', '-v', 'error', '-nostats', '-progress', 'pipe:1'];
  args.push(...inputArgs(input, options.speedLimit));
  if (keyframeTimes) args.push('-copyts');
  args.push('-i', input, '-filter_complex', graph);

  renditions.forEach((_, i) => args.push('-map', `[v${i}]`));
  if (source.hasAudio) renditions.forEach(() => args.push('-map', '0:a:0'));

  args.push('-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high');
  renditions.forEach((r, i) => {
    args.push(
      `-b:v:${i}`, kbit(r.videoBitrate),
      `-maxrate:v:${i}`, kbit(r.videoBitrate),
      `-bufsize:v:${i}`, kbit(r.videoBitrate * 2),
    );
  });
  if (keyframeTimes) {
    // Keyframes exactly where the remuxed rendition starts its segments and nowhere else (no
    // GOP limit, no scene cuts), so the HLS muxer, which cuts at the first keyframe past each
    // SEGMENT_SECONDS, cuts both at the same frames.
    args.push(
      '-force_key_frames', forcedKeyframes(keyframeTimes),
      '-g', '1000000', '-sc_threshold', '0',
      '-fps_mode', 'passthrough',
      '-output_ts_offset', String(SOURCE_TIMESTAMP_OFFSET),
    );
  } else {
    args.push('-g', gop, '-keyint_min', gop, '-sc_threshold', '0');
  }

  if (source.hasAudio) {
    args.push('-c:a', 'aac', '-ac', '2');
    renditions.forEach((r, i) => args.push(`-b:a:${i}`, kbit(r.audioBitrate)));
  }

  const streamMap = renditions
    .map((r, i) => `v:${i}${source.hasAudio ? `,a:${i}` : ''},name:${r.name}`)
    .join(' ');
  args.push(
    '-max_muxing_queue_size', '4096',
    ...hlsArgs({
      playlistType: options.playlistType ?? 'vod',
      segmentPattern: path.join(outDir, '%v', 'segment_%05d.ts'),
      playlist: path.join(outDir, '%v', 'index.m3u8'),
      extra: [
        ...(options.masterPlaylist === false ? [] : ['-master_pl_name', MASTER]),
        '-var_stream_map', streamMap,
      ],
    }),
  );
  return args;
}

/** Encodes the ladder; resolves once every playlist is on disk with complete attributes. */
export async function runLadder(options: LadderOptions): Promise<LadderResult> {
  const durationSeconds = options.source.durationSeconds;
  let lastPercent = -1;
  await runFfmpeg(buildLadderArgs(options), {
    input: options.input,
    ...(options.signal ? { signal: options.signal } : {}),
    onOutputSeconds: (seconds) => {
      if (!options.onProgress || durationSeconds <= 0) return;
      // 99 at most until the playlists are checked; the final 100 comes below.
      const percent = Math.min(99, Math.floor((seconds / durationSeconds) * 100));
      if (percent > lastPercent) {
        lastPercent = percent;
        options.onProgress(percent);
      }
    },
  });
  if (options.masterPlaylist !== false) {
    await ensureMasterAttributes(options.outDir, options.renditions, options.source.hasAudio);
  }
  const renditions = await Promise.all(
    options.renditions.map(async (r) => {
      const playlist = `${r.name}/index.m3u8`;
      const media = HLS.parse(await readFile(path.join(options.outDir, playlist), 'utf8'));
      if (media.isMasterPlaylist) throw new TranscodeFailedError(`${playlist} is not a media playlist`);
      return {
        ...r,
        playlist,
        segments: media.segments.map((s) => `${r.name}/${s.uri}`),
        durationSeconds: media.segments.reduce((sum, s) => sum + s.duration, 0),
      };
    }),
  );
  options.onProgress?.(100);
  return { masterPlaylist: MASTER, renditions };
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
  const args = ['-hide_banner', '-nostdin', '-y', '-v', 'error', '-i', options.segment, '-frames:v', '1', ...scale, '-q:v', '3', '-update', '1', options.outFile];
  options.signal?.throwIfAborted();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
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

export interface RunFfmpegOptions {
  /** The input path or URL, kept out of error messages. */
  input: string;
  /** Aborting kills ffmpeg; the returned promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * ffmpeg's output position (`out_time` of `-progress`, about twice a second) in seconds of the
   * output timeline: with `-copyts` that is the source's timeline plus any output offset.
   */
  onOutputSeconds?: (seconds: number) => void;
  /**
   * Video frames written so far (`frame` of `-progress`). With `-copyts` ffmpeg 5.1 measures
   * `out_time` from the first timestamp it saw, which is not the start (measured: 7.4 s reported
   * at the end of a 20 s clip), so copyts commands count frames instead.
   */
  onFrames?: (frames: number) => void;
}

/** Runs one ffmpeg command (with `-progress pipe:1`); rejects with a reason a person can read. */
export function runFfmpeg(args: string[], options: RunFfmpegOptions): Promise<void> {
  const { signal, onOutputSeconds, onFrames, input } = options;
  signal?.throwIfAborted();

  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdoutRest = '';
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
        if (key === 'out_time_us') onOutputSeconds?.(number / 1_000_000);
        else if (key === 'frame') onFrames?.(number);
      }
    });

    child.on('error', (error: NodeJS.ErrnoException) => {
      signal?.removeEventListener('abort', onAbort);
      reject(
        error.code === 'ENOENT'
          ? new Error('ffmpeg is not installed (looked for it on PATH)', { cause: error })
          : error,
      );
    });
    child.on('close', (code, exitSignal) => {
      clearTimeout(killTimer);
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(signal.reason);
      if (code === 0) return resolve();
      const reason = summarizeFfmpegStderr(stderr, input);
      reject(
        new TranscodeFailedError(
          `Transcoding failed: ${reason} (ffmpeg exited with ${exitSignal ?? `code ${code}`})`,
        ),
      );
    });
  });
}

/**
 * Makes sure every EXT-X-STREAM-INF in the master has BANDWIDTH, RESOLUTION and CODECS. ffmpeg
 * 5.1 writes all three for H.264/AAC in MPEG-TS, but omits CODECS when it cannot read the
 * profile and level from the encoder's extradata; players (Safari, some TVs) then guess or refuse.
 * When something is missing, the master is rewritten from what the segments actually contain.
 */
export async function ensureMasterAttributes(
  outDir: string,
  renditions: PlannedRendition[],
  hasAudio: boolean,
): Promise<void> {
  const masterPath = path.join(outDir, MASTER);
  const master = HLS.parse(await readFile(masterPath, 'utf8'));
  if (!master.isMasterPlaylist) throw new TranscodeFailedError(`${MASTER} is not a master playlist`);

  let changed = false;
  for (const variant of master.variants) {
    const rendition = renditions.find((r) => variant.uri === `${r.name}/index.m3u8`);
    if (!rendition) throw new TranscodeFailedError(`${MASTER} lists an unknown rendition ${variant.uri}`);
    if (!variant.bandwidth) {
      // ffmpeg's own rule: nominal bitrate plus 10% for the MPEG-TS overhead.
      const audio = hasAudio ? rendition.audioBitrate : 0;
      variant.bandwidth = Math.round((rendition.videoBitrate + audio) * 1.1);
      changed = true;
    }
    if (!variant.resolution) {
      variant.resolution = { width: rendition.width, height: rendition.height };
      changed = true;
    }
    if (!variant.codecs) {
      const segment = await firstSegment(outDir, rendition.name);
      variant.codecs = await codecsOf(segment);
      changed = true;
    }
  }
  if (changed) await writeFile(masterPath, HLS.stringify(master));
}

async function firstSegment(outDir: string, name: string): Promise<string> {
  const files = (await readdir(path.join(outDir, name))).filter((f) => f.endsWith('.ts')).sort();
  if (!files[0]) throw new TranscodeFailedError(`Rendition ${name} has no segments`);
  return path.join(outDir, name, files[0]);
}

/** RFC 6381 codec strings, e.g. `avc1.640028,mp4a.40.2`, read from an encoded segment. */
export async function codecsOf(file: string): Promise<string> {
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn('ffprobe', [
      '-v', 'error', '-print_format', 'json',
      '-show_entries', 'stream=codec_type,codec_name,profile,level', file,
    ]);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new TranscodeFailedError(`ffprobe could not read ${file}`)),
    );
  });
  const { streams = [] } = JSON.parse(stdout) as {
    streams?: Array<{ codec_type?: string; codec_name?: string; profile?: string; level?: number }>;
  };
  const codecs: string[] = [];
  for (const s of streams) {
    if (s.codec_type === 'video' && s.codec_name === 'h264') {
      codecs.push(avc1CodecString(s.profile ?? 'High', s.level ?? 40));
    } else if (s.codec_type === 'audio' && s.codec_name === 'aac') {
      codecs.push('mp4a.40.2'); // AAC-LC, which is all the ladder encodes
    }
  }
  return codecs.join(',');
}

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
