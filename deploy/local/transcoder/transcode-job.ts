/**
 * One transcode, from a probed source to a published HLS ladder, publishing as early as a
 * rendition can be watched (issue 6):
 *
 * - A source that can be packaged as it is (fast-start.ts) is remuxed into its top rendition and
 *   published at once; then ONE ffmpeg command (one decode) encodes the rungs below, with
 *   keyframes forced where the remuxed segments start, and they join the master when done.
 * - Any other source is encoded by ONE command for the whole ladder; its smallest rendition is
 *   published while that command runs, as an EVENT playlist that grows segment by segment, as soon
 *   as a viewer starting then would never catch up with the encoder.
 *
 * Encoding the smallest rung on its own first (and the rest after) was measured and rejected: the
 * second decode and scale cost 8.6% (60 s 1080p HEVC) to 12% (20 s) more ffmpeg CPU than the
 * one-command ladder, over the 5% issue 6 allows. The growing playlist costs nothing extra (CPU
 * within 2% of the bare ladder command) and is playable after one segment instead of after a whole
 * 360p encode, as long as the ladder runs faster than real time; when it does not, publication
 * waits until viewers cannot catch up (safeToWatchWhileEncoding).
 *
 * Segments are uploaded while ffmpeg writes them (hls-publisher.ts), so the end of the encode is
 * followed by a few small uploads, not by the whole ladder's.
 */
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { planRenditions, POSTER_FILE, SEGMENT_SECONDS, type PlannedRendition } from '../../../src/ladder.ts';
import { avc1CodecString, buildLadderArgs, buildRemuxArgs, capturePoster, runFfmpeg, TranscodeFailedError } from './ffmpeg-ladder.ts';
import { MAX_REMUX_SEGMENT_SECONDS, planStart, type RenditionSize } from './fast-start.ts';
import { createHlsPublisher, type OutputGroupDetail } from './hls-publisher.ts';
import type { SourceInfo } from './probe.ts';

/** How often a running ffmpeg's output folder is checked for finished segments. */
const POLL_MS = 100;

/**
 * A remux that finishes within this is published finished (a VOD playlist with its duration):
 * that is most sources, packaged at storage speed. A longer one is published while it runs.
 */
const REMUX_GRACE_MS = 500;

/** The part of the job's progress the remux stands for when rungs are encoded after it. */
const REMUX_SHARE = 5;

export interface TranscodeLogger {
  info(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

export interface HlsTranscodeOptions {
  s3: S3Client;
  bucket: string;
  /** `video-streams/{videoId}/`. */
  outputPrefix: string;
  /** The source as ffmpeg reads it (a presigned URL or a path), and what ffprobe said of it. */
  input: string;
  source: SourceInfo;
  workDir: string;
  signal: AbortSignal;
  /** Read the source at most this many times real time (see ffmpeg-ladder.ts); none by default. */
  speedLimit?: number;
  /** An earlier attempt of this job may have published: never republish its playlists shorter. */
  retry: boolean;
  logger: TranscodeLogger;
  /** Rising whole percentages, 0-99. */
  onProgress(percent: number): void;
  /** Renditions were published: the master and the outputs it lists now (a STATUS_UPDATE). */
  onPublished(group: OutputGroupDetail): void;
}

/** Thrown from a watch tick to stop a remux whose keyframes are too sparse. */
class SparseKeyframes extends Error {
  override name = 'SparseKeyframes';
}

/**
 * Whether a viewer who starts a rendition that is still being written would never catch up
 * with the encoder. With `encoded` seconds done at `speed` (seconds of video per second), the
 * encoder stays ahead of a viewer at 1x through to the end when encoded >= D - speed * (D - S),
 * with S one segment of slack (segments appear whole). Faster than real time: one segment is enough.
 */
export function safeToWatchWhileEncoding(progress: { encoded: number; elapsed: number; duration: number }): boolean {
  const { encoded, elapsed, duration } = progress;
  if (elapsed <= 0 || encoded <= 0) return false;
  const speed = (encoded / elapsed) * 0.9; // a margin for speed that varies over the video
  if (speed >= 1) return true;
  return encoded >= duration - speed * Math.max(0, duration - SEGMENT_SECONDS);
}

/** Encodes, publishes and returns the outputs for COMPLETE: the HLS group and the poster. */
export async function transcodeToHls(options: HlsTranscodeOptions): Promise<OutputGroupDetail[]> {
  const { source, signal, logger } = options;
  const renditions = planRenditions(source);
  const outDir = path.join(options.workDir, 'out');
  const speedLimit = options.speedLimit ? { speedLimit: options.speedLimit } : {};
  const start = planStart(source, renditions);
  /** The rendition that is the source's own stream, while it is. */
  let packaged: string | undefined;
  const publisher = createHlsPublisher({
    s3: options.s3,
    bucket: options.bucket,
    prefix: options.outputPrefix,
    outDir,
    signal,
    knownCodecs: async (name) => {
      // The packaged rendition is the source's own stream; an encoded one is in ffmpeg's master.
      if (packaged === name && source.videoProfile && source.videoLevel) {
        return [avc1CodecString(source.videoProfile, source.videoLevel), ...(source.hasAudio ? ['mp4a.40.2'] : [])].join(',');
      }
      const master = await readFile(path.join(outDir, 'master.m3u8'), 'utf8').catch(() => '');
      const variant = new RegExp(`CODECS="([^"]+)"\\s*\\n${name}/index\\.m3u8`).exec(master);
      return variant?.[1];
    },
  });
  if (options.retry) {
    const names = new Set(renditions.map((r) => r.name));
    if (start.kind === 'remux') names.add(start.top.name);
    await publisher.loadFloors([...names]);
  }

  let lastPercent = -1;
  const progress = (percent: number) => {
    const whole = Math.max(0, Math.min(99, Math.floor(percent)));
    if (whole > lastPercent) {
      lastPercent = whole;
      options.onProgress(whole);
    }
  };

  // The poster comes from the first rendition published, at the smallest rendition's size.
  const smallest = renditions.at(-1)!;
  let poster: Promise<boolean> | undefined;
  const makePoster = (name: string) => {
    poster ??= (async () => {
      const outFile = path.join(outDir, POSTER_FILE);
      try {
        await capturePoster({ segment: publisher.firstSegmentFile(name), outFile, size: smallest, signal });
        await publisher.putFile(POSTER_FILE, outFile, 'image/jpeg');
        return true;
      } catch (error) {
        if (signal.aborted) throw error;
        logger.warn({ err: error }, 'No poster for this video');
        return false;
      }
    })();
    // Awaited at the end; if the job stops before that, its rejection must not go unhandled.
    poster.catch(() => undefined);
  };

  const announce = async (names: string[]) => {
    options.onPublished(await publisher.publish(names));
    makePoster(names[0]!);
  };

  /**
   * Runs ffmpeg, calling `tick` every POLL_MS while it runs and once after it exits (ticks sync
   * the publisher themselves). A tick that throws stops ffmpeg and the job.
   */
  async function watched(args: string[], onSeconds: (seconds: number) => void, tick: (exited: boolean) => Promise<void>): Promise<void> {
    const stop = new AbortController();
    // Every command here keeps the source's timing, so frames over the frame rate is the position.
    const run = runFfmpeg(args, {
      input: options.input,
      signal: AbortSignal.any([signal, stop.signal]),
      onFrames: (frames) => onSeconds(frames / source.frameRate),
    });
    let exited = false;
    const settled = run.then(
      () => (exited = true),
      () => (exited = true),
    );
    try {
      while (!exited) {
        await Promise.race([sleep(POLL_MS), settled]);
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

  /** Watches an encode whose renditions are published when it ends (none while it runs). */
  async function encode(
    rungs: PlannedRendition[],
    extra: Pick<Parameters<typeof buildLadderArgs>[0], 'keyframeTimes'>,
    progressRange: [number, number],
    live?: { name: string; started: number },
  ): Promise<void> {
    for (const rung of rungs) publisher.track(rung);
    let encoded = 0;
    // ffmpeg's own master stays on disk: CODECS are read from it (see knownCodecs).
    const args = buildLadderArgs({ input: options.input, source, renditions: rungs, outDir, playlistType: 'event', ...extra, ...speedLimit });
    let published = false;
    await watched(
      args,
      (seconds) => {
        encoded = Math.max(encoded, seconds);
        const [from, to] = progressRange;
        progress(from + ((to - from) * encoded) / source.durationSeconds);
      },
      async (exited) => {
        await publisher.sync();
        // Once ffmpeg is done every rendition is, and they are published together.
        if (!live || published || exited || publisher.segments(live.name).length === 0) return;
        const elapsed = (Date.now() - live.started) / 1000;
        if (safeToWatchWhileEncoding({ encoded, elapsed, duration: source.durationSeconds })) {
          published = true;
          await announce([live.name]);
        }
      },
    );
  }

  async function encodeLadder(): Promise<void> {
    // The smallest rendition goes out first: the one every viewer's connection can carry.
    await encode(renditions, {}, [0, 99], { name: smallest.name, started: Date.now() });
  }

  /**
   * Packages the top rendition and publishes it after its first segment. False when its keyframes
   * turn out too sparse before anything was published: the caller encodes instead.
   */
  async function remuxTop(top: RenditionSize, share: number): Promise<boolean> {
    publisher.track(top);
    packaged = top.name;
    // ffmpeg makes the `%v` folders of a ladder itself, but not the one folder of a single output.
    await mkdir(path.join(outDir, top.name), { recursive: true });
    let published = false;
    let publishedWhileWriting = false;
    const started = performance.now();
    try {
      await watched(
        buildRemuxArgs({ input: options.input, source, outDir, name: top.name, playlistType: 'event', ...speedLimit }),
        (seconds) => progress((share * seconds) / source.durationSeconds),
        async () => {
          if (!published) {
            const longest = Math.max(0, ...(await publisher.peek(top.name)).map((s) => s.duration));
            if (longest > MAX_REMUX_SEGMENT_SECONDS) throw new SparseKeyframes(`a keyframe interval of ${longest.toFixed(1)} s`);
          }
          await publisher.sync();
          // Finished, or still going after a moment (a long source): published either way.
          const due = publisher.ended(top.name) || performance.now() - started >= REMUX_GRACE_MS;
          if (!published && publisher.segments(top.name).length > 0 && due) {
            published = true;
            publishedWhileWriting = !publisher.ended(top.name);
            await announce([top.name]);
          }
        },
      );
      // The master's BANDWIDTH was measured on the first segments: now it counts every one.
      if (publishedWhileWriting) await publisher.publish([top.name]);
      return true;
    } catch (error) {
      // Too sparse, or a stream ffmpeg could not copy into MPEG-TS (odd timestamps): encoding
      // still makes a ladder of it, as long as nothing packaged was published yet.
      const recoverable = error instanceof SparseKeyframes || (error instanceof TranscodeFailedError && !published);
      if (!recoverable || signal.aborted) throw error;
      logger.info({ reason: error.message }, `Encoding every rendition instead of packaging: ${error.message}`);
      publisher.untrack(top.name);
      packaged = undefined;
      await rm(path.join(outDir, top.name), { recursive: true, force: true });
      return false;
    }
  }

  let names = renditions.map((r) => r.name);
  if (start.kind === 'encode') {
    logger.info({ reason: start.reason }, `Encoding every rendition: ${start.reason}`);
    await encodeLadder();
  } else if (await remuxTop(start.top, start.lower.length > 0 ? REMUX_SHARE : 99)) {
    names = [start.top.name, ...start.lower.map((r) => r.name)];
    if (start.lower.length > 0) {
      // Each remuxed segment starts at a source keyframe: the encode puts its keyframes there too.
      const times: number[] = [];
      let at = source.videoStartSeconds;
      for (const segment of publisher.segments(start.top.name)) {
        times.push(at);
        at += segment.duration;
      }
      await encode(start.lower, { keyframeTimes: times }, [REMUX_SHARE, 99]);
    }
  } else {
    await encodeLadder();
  }

  if (!poster) makePoster(names.at(-1)!);
  const posterMade = await poster!;
  // The master last: once it names every rendition, everything of the video is in storage.
  const hls = await publisher.publish(names);
  return [
    hls,
    // MediaConvert reports a frame capture output as a FILE_GROUP of its own.
    ...(posterMade
      ? [{ type: 'FILE_GROUP', outputDetails: [{ outputFilePaths: [publisher.s3Uri(POSTER_FILE)], videoDetails: { widthInPx: smallest.width, heightInPx: smallest.height } }] }]
      : []),
  ];
}
