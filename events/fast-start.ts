/**
 * The fast-start function (template.yaml: FastStartFunction, with ffmpeg from a layer): the upload
 * handler hands it the S3 notification of an upload once that video's job is recorded
 * (events/s3-upload.ts), and it publishes the video's first rendition within seconds
 * (VideoService.startFastStart; src/adapters/ffmpeg-hls/fast-start.ts), with the time the function
 * has left. The local stack runs this same handler. Idempotent: a repeat finds the video playable.
 */
import pino from 'pino';
import type { S3Event } from '../src/schemas/events.ts';
import { eachCreatedObject } from './s3-upload.ts';
import { FAST_START_MARGIN_SECONDS } from '../src/domain/transcode-plan.ts';
import type { EventOutcome, VideoService } from '../src/domain/video-service.ts';
import type { Logger } from '../src/shared/logger.ts';
import { servicesFromEnvironment } from '../src/app/runtime.ts';
import { redactingDestination } from '../src/shared/redact.ts';

/** What the handler reads of Lambda's context object. */
export interface FastStartContext {
  getRemainingTimeInMillis(): number;
}

/**
 * `stop` (the local stack's shutdown) ends a fast start as an error, so the event is delivered
 * again at the next start; running out of the function's time ends it quietly.
 */
export function createFastStartHandler(videos: Pick<VideoService, 'startFastStart'>, logger: Logger, stop?: AbortSignal) {
  return (event: S3Event, context: FastStartContext): Promise<EventOutcome[]> =>
    eachCreatedObject(event, async ({ key }) => {
      const secondsLeft = context.getRemainingTimeInMillis() / 1000;
      // Stopped before Lambda would kill it, with time to clean up: a fast start that cannot
      // finish is no failure (the video is playable when the transcoder completes).
      const timeout = AbortSignal.timeout(Math.max(0, Math.floor((secondsLeft - FAST_START_MARGIN_SECONDS / 2) * 1000)));
      const signal = stop ? AbortSignal.any([timeout, stop]) : timeout;
      try {
        return await videos.startFastStart({ key }, { secondsLeft, signal, logger });
      } catch (error) {
        if (!timeout.aborted || stop?.aborted) throw error;
        logger.warn({ key }, 'Fast start ran out of time; the video is playable when its transcode completes');
        return 'ignored';
      }
    });
}

let fastStart: ReturnType<typeof createFastStartHandler> | undefined;
export const handler = (event: S3Event, context: FastStartContext) => {
  if (!fastStart) {
    const { config, services } = servicesFromEnvironment();
    fastStart = createFastStartHandler(services.videos, pino({ level: config.LOG_LEVEL, base: { fn: 'fast-start' } }, redactingDestination(process.stdout)));
  }
  return fastStart(event, context);
};
