/**
 * Fast start with ffmpeg: a video's first rendition published within seconds of its upload, while
 * the transcoder (MediaConvert, or the local worker standing in for it) makes the full ladder.
 * The one implementation of FastStarter (src/domain/ports/fast-starter.ts): the fast-start Lambda
 * runs it in AWS with ffmpeg from a layer, and the local stack runs the same handler.
 *
 * - `package`: the source's own video stream, remuxed (not encoded) into the top rendition, its
 *   audio encoded alongside when it is not already AAC stereo. The plan measured it against the
 *   ladder's contract; what is left to see is whether its pictures are interlaced though its
 *   stream says progressive, and whether ffmpeg can copy it (else: `encode`).
 * - `encode`: the smallest rung (and the audio renditions), published while ffmpeg writes it as a
 *   growing EVENT playlist, as soon as a viewer starting then would never catch up with it.
 *
 * ffmpeg reads the source through a presigned GET (range requests). Segments go to
 * `video-streams/{id}/fast-start/` as they are written (hls-publisher.ts), and the video's master
 * is written only if it has none: the ladder's master, written when the transcoder completes,
 * replaces this one, never the other way round. Players already on the first rendition keep
 * reading its folder, which outlives their playback URLs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { SEGMENT_SECONDS } from '../../domain/ladder.ts';
import { fastStartPrefix, masterPlaylistKey } from '../../domain/storage-layout.ts';
import type { FastStarter, FastStartRequest } from '../../domain/ports/fast-starter.ts';
import type { TranscodePlan } from '../../schemas/transcode.ts';
import type { Logger } from '../../shared/logger.ts';
import { buildEncodeArgs, buildPackageArgs, runFfmpegWatched, TranscodeFailedError, type AudioOutput } from './ffmpeg-ladder.ts';
import { createHlsPublisher, MasterExistsError, renditionsPublishedOf, type PublishedGroup } from './hls-publisher.ts';
import { checkInterlaced, InterlacedAfterAllError } from './interlace-check.ts';
import { audioOutputsOf, knownCodecsFor, muxedAudioOf, videoOutputOf } from './plan-outputs.ts';

/**
 * A package that finishes within this is published finished (a VOD playlist with its duration):
 * most sources, packaged at storage speed. A longer one is published while it is written.
 */
export const PACKAGE_GRACE_MS = 500;

/** How long the presigned GET ffmpeg reads the source through lasts: longer than any fast start. */
const SOURCE_URL_EXPIRES_SECONDS = 3600;

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

export interface FirstRenditionOptions {
  s3: S3Client;
  bucket: string;
  videoId: string;
  /** The source as ffmpeg reads it (a presigned URL or a path). */
  input: string;
  plan: TranscodePlan;
  how: FastStartRequest['how'];
  /** The master lists the first rendition now (see FastStartRequest.onListed). */
  onListed(group: PublishedGroup): Promise<void>;
  /** A fresh folder for ffmpeg's output. */
  workDir: string;
  signal: AbortSignal;
  /** Read the source at most this many times real time (see ffmpeg-ladder.ts); none by default. */
  speedLimit?: number;
  logger: Pick<Logger, 'info' | 'warn'>;
}

/**
 * Publishes the first rendition and the master listing it; undefined when the video had a master
 * already (nothing of this one is listed then, and ffmpeg is stopped).
 */
export async function publishFirstRendition(options: FirstRenditionOptions): Promise<PublishedGroup | undefined> {
  const { plan, signal, logger } = options;
  const outDir = path.join(options.workDir, 'out');
  const speedLimit = options.speedLimit ? { speedLimit: options.speedLimit } : {};
  const audioOutputs = audioOutputsOf(plan);
  const audioNames = audioOutputs.map((output) => output.name);
  const audio: AudioOutput = audioOutputs.length > 0 ? 'renditions' : muxedAudioOf(plan);
  let packaged: string | undefined;
  const publisher = createHlsPublisher({
    s3: options.s3,
    bucket: options.bucket,
    prefix: fastStartPrefix(options.videoId),
    outDir,
    signal,
    createMaster: { key: masterPlaylistKey(options.videoId) },
    knownCodecs: knownCodecsFor(plan, outDir, () => packaged),
  });
  for (const output of audioOutputs) publisher.track(output);

  // A stream flagged interlaced is deinterlaced as flagged; one that says progressive is looked at.
  const video = plan.video;
  const interlaced = video && !video.deinterlace ? checkInterlaced(options.input, { signal }) : Promise.resolve(false);

  let group: PublishedGroup | undefined;
  const publish = async (names: string[]) => {
    group = await publisher.publish(names);
    await options.onListed(group);
  };

  try {
    if (video && options.how === 'package') {
      const top = video.renditions[0]!;
      publisher.track(videoOutputOf(plan, top));
      packaged = top.name;
      const names = [top.name, ...audioNames];
      const started = performance.now();
      let verdict: boolean | undefined;
      void interlaced.then((value) => (verdict = value));
      try {
        await runFfmpegWatched(
          buildPackageArgs({ input: options.input, plan, name: top.name, audio, outDir, playlistType: 'event', ...speedLimit }),
          { input: options.input, signal },
          async (exited) => {
            await publisher.sync();
            if (group) return;
            if (verdict === undefined && !exited) return;
            if ((verdict ?? (await interlaced)) === true) throw new InterlacedAfterAllError('it is interlaced, though its stream says progressive');
            const due = names.every((name) => publisher.ended(name)) || performance.now() - started >= PACKAGE_GRACE_MS;
            if (due && names.every((name) => publisher.segments(name).length > 0)) await publish(names);
          },
        );
        return group;
      } catch (error) {
        // Interlaced after all, or a stream ffmpeg could not copy into MPEG-TS: the smallest rung
        // is encoded instead, as long as nothing packaged was published.
        const recoverable = !group && (error instanceof InterlacedAfterAllError || error instanceof TranscodeFailedError);
        if (!recoverable || signal.aborted) throw error;
        logger.info({ reason: error.message }, `Fast start: encoding the smallest rendition instead of packaging: ${error.message}`);
        publisher.untrack(top.name);
        packaged = undefined;
        await rm(outDir, { recursive: true, force: true });
        for (const output of audioOutputs) publisher.track(output);
      }
    }

    const rungs = video ? [video.renditions.at(-1)!] : [];
    for (const rung of rungs) publisher.track(videoOutputOf(plan, rung));
    const names = [...rungs.map((rung) => rung.name), ...audioNames];
    const deinterlace = video?.deinterlace ? 'flagged' : (await interlaced) ? 'all' : undefined;
    const started = performance.now();
    await runFfmpegWatched(
      buildEncodeArgs({
        input: options.input,
        plan,
        renditions: rungs,
        audio,
        outDir,
        playlistType: 'event',
        ...(deinterlace ? { deinterlace } : {}),
        ...speedLimit,
      }),
      { input: options.input, signal },
      async (exited) => {
        await publisher.sync();
        if (group || names.some((name) => publisher.segments(name).length === 0)) return;
        const encoded = Math.min(...names.map((name) => publisher.segments(name).reduce((sum, segment) => sum + segment.duration, 0)));
        const elapsed = (performance.now() - started) / 1000;
        if (exited || safeToWatchWhileEncoding({ encoded, elapsed, duration: plan.durationSeconds })) await publish(names);
      },
    );
    return group;
  } catch (error) {
    if (error instanceof MasterExistsError) return undefined;
    throw error;
  }
}

export interface FfmpegFastStarterOptions {
  s3: S3Client;
  bucket: string;
  /** Each fast start works in a fresh folder under this one (Lambda's /tmp), removed after. */
  workRoot: string;
  speedLimit?: number;
}

export function createFfmpegFastStarter(options: FfmpegFastStarterOptions): FastStarter {
  return {
    async publish({ videoId, sourceKey, plan, how, signal, logger, onListed }) {
      const input = await getSignedUrl(options.s3, new GetObjectCommand({ Bucket: options.bucket, Key: sourceKey }), { expiresIn: SOURCE_URL_EXPIRES_SECONDS });
      const workDir = await mkdtemp(path.join(options.workRoot, 'fast-start-'));
      try {
        const group = await publishFirstRendition({
          s3: options.s3,
          bucket: options.bucket,
          videoId,
          input,
          plan,
          how,
          workDir,
          signal,
          logger,
          onListed: (group) => onListed(renditionsPublishedOf(group)),
          ...(options.speedLimit ? { speedLimit: options.speedLimit } : {}),
        });
        return group && renditionsPublishedOf(group);
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    },
  };
}
