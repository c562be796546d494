/**
 * The one interface both transcoders implement: AWS Elemental MediaConvert in production and the
 * local ffmpeg worker in the local stack. The service inspects a stored source, plans it with the
 * shared rules (transcode-plan.ts) and submits the plan; progress and the outcome come back as
 * "MediaConvert Job State Change" events (EventBridge in AWS, the local event bus otherwise),
 * handled by `events/job-state-change.ts`.
 */
import type { SourceMedia, TranscodePlan } from '../schemas/transcode.ts';

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
  submit(request: TranscodeJobRequest): Promise<TranscodeJobSubmission>;
}
