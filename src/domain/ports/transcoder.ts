/**
 * The one interface both transcoders implement: AWS Elemental MediaConvert in production and the
 * local ffmpeg worker in the local stack. The service inspects a stored source, plans it with the
 * shared rules (transcode-plan.ts) and submits the plan; progress and the outcome come back as
 * the transcoder's own reports, which its adapter turns into the domain's TranscodeUpdates
 * (src/schemas/transcode-update.ts): MediaConvert's EventBridge events through
 * `events/job-state-change.ts` in both runtimes (the local worker sends them in MediaConvert's
 * shape). Fast start is no transcoder's: the fast-start function (events/fast-start.ts) reports
 * what it published itself.
 */
import type { SourceMedia, TranscodePlan } from '../../schemas/transcode.ts';
import type { TranscodeJobStatus } from '../../schemas/transcode-update.ts';

/**
 * How long a video is, as a transcoder reports it: its longest output, in seconds. An output has a
 * duration only once it is written in full (MediaConvert's at COMPLETE, a published rendition once
 * ffmpeg has ended it), so undefined while none is.
 */
export function longestDurationSeconds(outputDurationsMs: ReadonlyArray<number | undefined>): number | undefined {
  const durations = outputDurationsMs.filter((duration): duration is number => duration !== undefined);
  return durations.length > 0 ? Math.max(...durations) / 1000 : undefined;
}

export interface TranscodeJobRequest {
  videoId: string;
  /** Object key of the original upload, `uploads/{videoId}/source`. */
  sourceKey: string;
  /** Key prefix every output goes under, `video-streams/{videoId}/`. */
  outputPrefix: string;
  /**
   * Idempotency token: submitting twice with the same token returns the first job instead of
   * starting a second one (MediaConvert's ClientRequestToken has the same meaning).
   */
  clientRequestToken: string;
  /** What to make of the source: renditions, colour, audio, geometry (planTranscode). */
  plan: TranscodePlan;
}

export interface TranscodeJobSubmission {
  jobId: string;
}

export interface Transcoder {
  /** What the stored source is (MediaConvert's Probe and the MP4 header, in both runtimes). */
  inspect(sourceKey: string): Promise<SourceMedia>;
  /**
   * Starts a job. Throws JobRefusedError when the transcoder refuses it for good (a bad request,
   * a missing role...), any other error when a retry may succeed (throttling, an outage).
   */
  submit(request: TranscodeJobRequest): Promise<TranscodeJobSubmission>;
  /**
   * The job as the transcoder knows it now: at work, or the final update it ended with (which the
   * reconciler applies as the lost event would have been); undefined when the transcoder has no
   * such job.
   */
  getJob(jobId: string): Promise<TranscodeJobStatus | undefined>;
  /** A job created for this video at or after `since` (found by its user metadata), if any. */
  findJob(videoId: string, since: Date): Promise<TranscodeJobSubmission | undefined>;
  /** Stops a job; a finished or unknown job is left as it is. */
  cancel(jobId: string): Promise<void>;
}
