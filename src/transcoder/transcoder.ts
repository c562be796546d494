/**
 * The one interface both transcoders implement: AWS Elemental MediaConvert in production and the
 * local ffmpeg worker in the local stack. Submitting is all the service does; progress and the
 * outcome come back as "MediaConvert Job State Change" events (EventBridge in AWS, the local
 * event bus otherwise), handled by `events/job-state-change.ts`.
 */
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
}

export interface TranscodeJobSubmission {
  jobId: string;
}

export interface Transcoder {
  submit(request: TranscodeJobRequest): Promise<TranscodeJobSubmission>;
}
