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

/** The ffmpeg arguments for the ladder (exported so tests and readers can see the command). */
export function buildLadderArgs(options: Omit<LadderOptions, 'onProgress' | 'signal'>): string[] {
  const { input, source, renditions, outDir } = options;
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
  if (isUrl(input)) {
    args.push('-rw_timeout', '30000000', '-reconnect', '1', '-reconnect_delay_max', '5');
  }
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
  args.push('-g', gop, '-keyint_min', gop, '-sc_threshold', '0');

  if (source.hasAudio) {
    args.push('-c:a', 'aac', '-ac', '2');
    renditions.forEach((r, i) => args.push(`-b:a:${i}`, kbit(r.audioBitrate)));
  }

  const streamMap = renditions
    .map((r, i) => `v:${i}${source.hasAudio ? `,a:${i}` : ''},name:${r.name}`)
    .join(' ');
  args.push(
    '-max_muxing_queue_size', '4096',
    '-f', 'hls',
    '-hls_time', String(SEGMENT_SECONDS),
    '-hls_playlist_type', 'vod',
    '-hls_segment_type', 'mpegts',
    '-hls_flags', 'independent_segments',
    '-hls_segment_filename', path.join(outDir, '%v', 'segment_%05d.ts'),
    '-master_pl_name', MASTER,
    '-var_stream_map', streamMap,
    path.join(outDir, '%v', 'index.m3u8'),
  );
  return args;
}

/** Encodes the ladder; resolves once every playlist is on disk with complete attributes. */
export async function runLadder(options: LadderOptions): Promise<LadderResult> {
  await runFfmpeg(buildLadderArgs(options), options);
  await ensureMasterAttributes(options.outDir, options.renditions, options.source.hasAudio);
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
 * The poster: the first frame of a rendition's first segment as a JPEG (already upright and
 * scaled), like a MediaConvert frame capture output with one capture.
 */
export async function capturePoster(options: { segment: string; outFile: string; signal?: AbortSignal }): Promise<void> {
  const args = ['-hide_banner', '-nostdin', '-y', '-v', 'error', '-i', options.segment, '-frames:v', '1', '-q:v', '3', '-update', '1', options.outFile];
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

function runFfmpeg(args: string[], options: LadderOptions): Promise<void> {
  const { signal, onProgress, input } = options;
  const durationUs = options.source.durationSeconds * 1_000_000;
  signal?.throwIfAborted();

  return new Promise((resolve, reject) => {
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdoutRest = '';
    let lastPercent = -1;
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
        if (key !== 'out_time_us' || !onProgress || durationUs <= 0) continue;
        const outTimeUs = Number(value);
        if (!Number.isFinite(outTimeUs) || outTimeUs < 0) continue; // "N/A" before the first frame
        // 99 at most until the playlists are checked; runLadder reports the final 100.
        const percent = Math.min(99, Math.floor((outTimeUs / durationUs) * 100));
        if (percent > lastPercent) {
          lastPercent = percent;
          onProgress(percent);
        }
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
