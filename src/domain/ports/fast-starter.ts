/**
 * Fast start: a video's first rendition published within seconds of its upload, while the
 * transcoder makes the full ladder. One implementation serves both runtimes (ffmpeg, in the
 * fast-start Lambda in AWS and in the same handler locally: src/adapters/ffmpeg-hls/fast-start.ts);
 * the service decides whether and how (planFastStart) and records what was published.
 */
import type { TranscodePlan } from '../../schemas/transcode.ts';
import type { TranscodeUpdate } from '../../schemas/transcode-update.ts';
import type { FastStartPlan } from '../transcode-plan.ts';
import type { Logger } from '../../shared/logger.ts';

export interface FastStartRequest {
  videoId: string;
  /** Object key of the original upload, `uploads/{videoId}/source`. */
  sourceKey: string;
  plan: TranscodePlan;
  how: Exclude<FastStartPlan['how'], 'none'>;
  /** Stops the work: the function's time is running out. */
  signal: AbortSignal;
  /**
   * Called once, as soon as the master lists the first rendition (which may still be growing):
   * the video is playable from then on, not from when the work ends. Awaited before the work goes on.
   */
  onListed(news: FastStartNews): Promise<void>;
  logger: Pick<Logger, 'info' | 'warn'>;
}

/** What a fast start published, as the domain's renditions-published news of the recorded job. */
export type FastStartNews = Omit<Extract<TranscodeUpdate, { type: 'renditions-published' }>, 'videoId' | 'jobId'>;

export interface FastStarter {
  /**
   * Publishes the first rendition under `video-streams/{videoId}/fast-start/` and a master that
   * lists it, the master only if the video has none yet, and resolves once the rendition is
   * whole (a function must not return before). Undefined when the video had a master: the ladder
   * (or an earlier fast start) was there first, and nothing of this one is listed.
   */
  publish(request: FastStartRequest): Promise<FastStartNews | undefined>;
}
