/**
 * One transcode: a plan (src/domain/transcode-plan.ts) carried out with ffmpeg and published to
 * storage. As MediaConvert does, it lists the renditions (their playlists, then the master naming
 * them) only when the whole ladder is done; fast start is the fast-start function's
 * (events/fast-start.ts, src/adapters/ffmpeg-hls/fast-start.ts), as in AWS.
 *
 * - A source the plan lets be packaged is first remuxed whole into its top rendition (its audio
 *   encoded alongside), the plan having measured it against the ladder's contract (the source's
 *   sample table: segment lengths and peak bitrate); then ONE ffmpeg command (one decode) encodes
 *   the rungs below, keyframes forced where the packaged segments start.
 * - Any other source, or a packaged one that failed its measurement, is encoded by ONE command for
 *   the whole ladder.
 * - An audio-only source becomes one audio rendition the same way.
 *
 * Before any of it, a source whose stream says progressive has its first frames checked for
 * interlacing (src/adapters/ffmpeg-hls/interlace-check.ts); flags that lie are caught here. Decoding damage met on the way
 * becomes a warning, or fails the job when most of the picture is lost.
 *
 * Segments are uploaded while ffmpeg writes them (src/adapters/ffmpeg-hls/hls-publisher.ts), so the end of the encode is
 * followed by a few small uploads, not by the whole ladder's.
 */
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { rm } from 'node:fs/promises';
import { frameRateValue, POSTER_FILE } from '../../../src/domain/ladder.ts';
import type { RenditionPlan, TranscodePlan } from '../../../src/schemas/transcode.ts';
import type { Logger } from '../../../src/shared/logger.ts';
import {
  buildEncodeArgs,
  buildPackageArgs,
  capturePoster,
  runFfmpegWatched,
  SourceDamagedError,
  TranscodeFailedError,
  videoStartSeconds,
  type AudioOutput,
  type DecodeDamage,
} from '../../../src/adapters/ffmpeg-hls/ffmpeg-ladder.ts';
import { createHlsPublisher } from '../../../src/adapters/ffmpeg-hls/hls-publisher.ts';
import { checkInterlaced, InterlacedAfterAllError } from '../../../src/adapters/ffmpeg-hls/interlace-check.ts';
import { TRANSCODE_NICENESS } from '../../../src/adapters/ffmpeg-hls/priority.ts';
import { audioOutputsOf, knownCodecsFor, muxedAudioOf, videoOutputOf } from '../../../src/adapters/ffmpeg-hls/plan-outputs.ts';
import type { MediaConvertJobDetail } from '../../../src/schemas/events.ts';

/**
 * MediaConvert runs elsewhere: in AWS the fast-start function never competes with it for CPU.
 * Locally its stand-in shares the machine with the fast-start handler, so it yields to it (five
 * nice steps: about a third of the weight) rather than delaying the first rendition.
 */
const STAND_IN_NICENESS = TRANSCODE_NICENESS + 5;

/** The part of the job's progress the package stands for when rungs are encoded after it. */
const PACKAGE_SHARE = 5;

/** A job whose decoder lost more than this share of the pictures fails instead of publishing glitches. */
export const MAX_DAMAGED_SHARE = 0.25;

/** The warning code this stand-in reports for decoding damage (MediaConvert has its own codes). */
export const DECODE_DAMAGE_WARNING = 'LOCAL_DECODE_DAMAGE';

export interface TranscodeWarning {
  code: string;
  message: string;
}

export interface HlsTranscodeOptions {
  s3: S3Client;
  bucket: string;
  /** `video-streams/{videoId}/`. */
  outputPrefix: string;
  /** The source as ffmpeg reads it (a presigned URL or a path). */
  input: string;
  plan: TranscodePlan;
  workDir: string;
  signal: AbortSignal;
  /** Read the source at most this many times real time (see src/adapters/ffmpeg-hls/ffmpeg-ladder.ts); none by default. */
  speedLimit?: number;
  /** An earlier attempt of this job may have published: never republish its playlists shorter. */
  retry: boolean;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** Rising whole percentages, 0-99. */
  onProgress(percent: number): void;
}

export interface TranscodeResult {
  /** The outputs for COMPLETE: the HLS group and the poster. */
  outputs: NonNullable<MediaConvertJobDetail['outputGroupDetails']>;
  warnings: TranscodeWarning[];
}

const clock = (seconds: number) => `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, '0')}`;

/** What the decoder's complaints mean for the viewer: nothing, a warning, or a failed job. */
export function judgeDamage(damage: DecodeDamage, expectedFrames: number): TranscodeWarning[] {
  const warnings: TranscodeWarning[] = [];
  // ffmpeg reports its position twice a second: a place is given only when it is one.
  const where = damage.firstAtSeconds ? ` from about ${clock(damage.firstAtSeconds)}` : '';
  if (damage.video > 0) {
    const share = expectedFrames > 0 ? damage.video / expectedFrames : 1;
    if (share > MAX_DAMAGED_SHARE) {
      throw new SourceDamagedError(
        `The video is too damaged to convert: about ${Math.min(100, Math.round(share * 100))}% of its pictures could not be decoded.`,
      );
    }
    warnings.push({
      code: DECODE_DAMAGE_WARNING,
      message: `Part of the video is damaged: ${damage.video} picture${damage.video === 1 ? '' : 's'}${where} could not be decoded and may show as glitches.`,
    });
  } else if (damage.audio > 0) {
    warnings.push({ code: DECODE_DAMAGE_WARNING, message: `Part of the sound is damaged${where}: it may crackle or drop out there.` });
  }
  return warnings;
}

/** Encodes, publishes, and returns the outputs for COMPLETE and any warnings. */
export async function transcodeToHls(options: HlsTranscodeOptions): Promise<TranscodeResult> {
  const { plan, signal, logger } = options;
  const video = plan.video;
  const outDir = path.join(options.workDir, 'out');
  const speedLimit = options.speedLimit ? { speedLimit: options.speedLimit } : {};
  const renditions = video?.renditions ?? [];
  /** Audio of the video renditions themselves, and audio renditions of their own. */
  const muxedAudio = muxedAudioOf(plan);
  const audioOutputs = audioOutputsOf(plan);
  const ownAudio = audioOutputs.length > 0;
  const audioNames = audioOutputs.map((output) => output.name);
  const frameRate = video ? frameRateValue(video.frameRate) : 0;
  const videoOutput = (r: RenditionPlan) => videoOutputOf(plan, r);
  const damage: DecodeDamage = { video: 0, audio: 0 };

  /** The rendition that is the source's own stream, while it is. */
  let packaged: string | undefined;
  const sourceVideo = plan.source.video;
  const publisher = createHlsPublisher({
    s3: options.s3,
    bucket: options.bucket,
    prefix: options.outputPrefix,
    outDir,
    signal,
    knownCodecs: knownCodecsFor(plan, outDir, () => packaged),
  });
  if (options.retry) await publisher.loadFloors([...renditions.map((r) => r.name), ...audioNames]);

  let lastPercent = -1;
  const progress = (percent: number) => {
    const whole = Math.max(0, Math.min(99, Math.floor(percent)));
    if (whole > lastPercent) {
      lastPercent = whole;
      options.onProgress(whole);
    }
  };

  // The poster comes from the first video rendition made (the packaged top, else the smallest
  // encoded), at the smallest rendition's size, taken while the rest is still being made.
  const smallest = renditions.at(-1);
  let poster: Promise<boolean> | undefined;
  const makePoster = (name: string) => {
    if (!smallest) return;
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

  /** Runs ffmpeg, uploading from `tick` (runFfmpegWatched); `counting` counts decoding damage. */
  const watched = (args: string[], onFrames: (frames: number) => void, tick: (exited: boolean) => Promise<void>, counting: boolean) =>
    runFfmpegWatched(
      args,
      {
        input: options.input,
        signal,
        onFrames,
        niceness: STAND_IN_NICENESS,
        ...(counting ? { damage, videoStream: (sourceVideo?.track ?? 1) - 1, ...(frameRate > 0 ? { secondsPerFrame: 1 / frameRate } : {}) } : {}),
      },
      tick,
    );

  /**
   * Encodes video rungs and/or audio renditions in one command, uploading their segments as they
   * are written; the poster is taken as soon as the smallest rung has its first segment.
   */
  async function encode(
    rungs: RenditionPlan[],
    audio: AudioOutput,
    extra: { keyframeTimes?: number[]; deinterlace?: 'flagged' | 'all' },
    progressRange: [number, number],
    /**
     * The check of a stream that says progressive, still running: the encode starts without
     * waiting for it, takes no poster before it answers, and stops (InterlacedAfterAllError) if the
     * pictures are interlaced after all.
     */
    interlaced?: Promise<boolean>,
  ): Promise<void> {
    let verdict: boolean | undefined = interlaced ? undefined : false;
    // checkInterlaced never rejects: a check that fails says progressive.
    void interlaced?.then((value) => (verdict = value));
    for (const rung of rungs) publisher.track(videoOutput(rung));
    if (audio === 'renditions') for (const output of audioOutputs) publisher.track(output);
    const args = buildEncodeArgs({ input: options.input, plan, renditions: rungs, audio, outDir, playlistType: 'event', ...extra, ...speedLimit });
    // Audio-only commands report no frames; they finish in a moment.
    const totalFrames = Math.max(1, plan.durationSeconds * frameRate);
    const posterFrom = smallest && rungs.includes(smallest) ? smallest.name : undefined;
    await watched(
      args,
      (frames) => {
        const [from, to] = progressRange;
        progress(from + ((to - from) * Math.min(frames, totalFrames)) / totalFrames);
      },
      async (exited) => {
        if (verdict === undefined && exited) verdict = await interlaced;
        if (verdict === true) throw new InterlacedAfterAllError('its pictures are interlaced, though its stream says progressive');
        await publisher.sync();
        if (verdict === false && posterFrom && publisher.segments(posterFrom).length > 0) makePoster(posterFrom);
      },
      true,
    );
  }

  /**
   * Packages the top rendition (and the audio renditions beside it), uploading its segments as
   * they are written, and takes the poster from it. The plan measured the segments it makes (its
   * sample table); the one thing left to see is whether its pictures are interlaced though its
   * stream says progressive. False when they are, or when ffmpeg cannot copy the stream: the
   * caller encodes instead.
   */
  async function packageTop(top: RenditionPlan, interlaced: Promise<boolean>): Promise<boolean> {
    publisher.track(videoOutput(top));
    if (ownAudio) for (const output of audioOutputs) publisher.track(output);
    packaged = top.name;
    const audio: AudioOutput = ownAudio ? 'renditions' : muxedAudio;
    const names = [top.name, ...audioNames];
    let verdict: boolean | undefined;
    void interlaced.then((value) => (verdict = value));
    try {
      await watched(
        buildPackageArgs({ input: options.input, plan, name: top.name, audio, outDir, playlistType: 'event', ...speedLimit }),
        (frames) => progress((PACKAGE_SHARE * frames) / Math.max(1, plan.durationSeconds * frameRate)),
        async (exited) => {
          await publisher.sync();
          if (verdict === undefined && exited) verdict = await interlaced;
          if (verdict === true) throw new InterlacedAfterAllError('it is interlaced, though its stream says progressive');
        },
        false,
      );
      makePoster(top.name);
      return true;
    } catch (error) {
      // Interlaced after all, or a stream ffmpeg could not copy into MPEG-TS (odd timestamps):
      // encoding still makes a ladder of it (nothing is listed before the job ends).
      const recoverable = error instanceof InterlacedAfterAllError || error instanceof TranscodeFailedError;
      if (!recoverable || signal.aborted) throw error;
      logger.info({ reason: error.message }, `Encoding every rendition instead of packaging: ${error.message}`);
      await forget(names);
      packaged = undefined;
      return false;
    }
  }

  /** Drops renditions an abandoned command had begun: none of them was listed. */
  async function forget(names: string[]): Promise<void> {
    for (const name of names) publisher.untrack(name);
    await Promise.all(names.map((name) => rm(path.join(outDir, name), { recursive: true, force: true })));
  }

  let names: string[];
  if (!video) {
    names = audioNames;
    await encode([], 'renditions', {}, [0, 99]);
  } else {
    // A stream flagged interlaced is deinterlaced as flagged; one that says progressive is looked at.
    const interlaced = video.deinterlace
      ? Promise.resolve(false)
      : checkInterlaced(options.input, { signal, ...(plan.packaging.eligible ? {} : { threads: 1 }) });
    const top = renditions[0]!;
    names = [...renditions.map((r) => r.name), ...audioNames];
    if (plan.packaging.eligible && (await packageTop(top, interlaced))) {
      const lower = renditions.slice(1);
      if (lower.length > 0) {
        // Each packaged segment starts at a source keyframe: the encode puts its keyframes there too,
        // in the source's own timeline.
        const times: number[] = [];
        let at = await videoStartSeconds(options.input, signal);
        for (const segment of publisher.segments(top.name)) {
          times.push(at);
          at += segment.duration;
        }
        await encode(lower, muxedAudio, { keyframeTimes: times }, [PACKAGE_SHARE, 99]);
      }
    } else {
      if (!plan.packaging.eligible) logger.info({ reason: plan.packaging.reason }, `Encoding every rendition: ${plan.packaging.reason}`);
      const ladder = (deinterlace?: 'flagged' | 'all', check?: Promise<boolean>) =>
        encode(renditions, ownAudio ? 'renditions' : muxedAudio, deinterlace ? { deinterlace } : {}, [0, 99], check);
      if (video.deinterlace) {
        await ladder('flagged');
      } else {
        // Started at once, on the word of the stream's flags; begun again if the pictures say otherwise.
        try {
          await ladder(undefined, interlaced);
        } catch (error) {
          if (!(error instanceof InterlacedAfterAllError) || signal.aborted) throw error;
          logger.info({}, 'The stream says progressive but its pictures are interlaced: deinterlacing every frame');
          await forget(names);
          damage.video = 0;
          damage.audio = 0;
          await ladder('all');
        }
      }
    }
  }

  const warnings = judgeDamage(damage, plan.durationSeconds * (frameRate || 1));
  if (smallest && !poster) makePoster(smallest.name);
  const posterMade = poster ? await poster : false;
  // The master last: once it names every rendition, everything of the video is in storage.
  const hls = await publisher.publish(names);
  return {
    outputs: [
      {
        type: 'HLS_GROUP',
        playlistFilePaths: [publisher.s3Uri(hls.master)],
        // As in MediaConvert's COMPLETE event: a duration for a finished output, video details for a video one.
        outputDetails: hls.renditions.map(({ playlist, durationMs, width, height }) => ({
          outputFilePaths: [publisher.s3Uri(playlist)],
          ...(durationMs === undefined ? {} : { durationInMs: durationMs }),
          ...(width === undefined || height === undefined ? {} : { videoDetails: { widthInPx: width, heightInPx: height } }),
        })),
      },
      // MediaConvert reports a frame capture output as a FILE_GROUP of its own.
      ...(posterMade && smallest
        ? [
            {
              type: 'FILE_GROUP',
              outputDetails: [{ outputFilePaths: [publisher.s3Uri(POSTER_FILE)], videoDetails: { widthInPx: smallest.width, heightInPx: smallest.height } }],
            },
          ]
        : []),
    ],
    warnings,
  };
}
