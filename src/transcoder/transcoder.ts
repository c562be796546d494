/**
 * The one interface both transcoders implement: AWS Elemental MediaConvert in production and the
 * local ffmpeg worker in the local stack. The service inspects a stored source, plans it with the
 * shared rules (transcode-plan.ts) and submits the plan; progress and the outcome come back as
 * "MediaConvert Job State Change" events (EventBridge in AWS, the local event bus otherwise),
 * handled by `events/job-state-change.ts`.
 */
import type { SourceMedia, TranscodePlan } from '../schemas/transcode.ts';
import type { MediaConvertJobDetail } from '../schemas/events.ts';

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
   * The job as the transcoder knows it now, in the shape of its state-change event (so the
   * reconciler drives the same handler the events do); undefined when the transcoder has no
   * such job.
   */
  getJob(jobId: string): Promise<MediaConvertJobDetail | undefined>;
  /** A job created for this video at or after `since` (found by its user metadata), if any. */
  findJob(videoId: string, since: Date): Promise<TranscodeJobSubmission | undefined>;
  /** Stops a job; a finished or unknown job is left as it is. */
  cancel(jobId: string): Promise<void>;
}
