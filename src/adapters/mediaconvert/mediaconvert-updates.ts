/**
 * MediaConvert's reports in the domain's words (src/schemas/transcode-update.ts): its EventBridge
 * "MediaConvert Job State Change" events (events/job-state-change.ts) and its GetJob answers, in
 * the event's shape (mediaconvert-transcoder.ts, jobDetailOfJob). The local ffmpeg worker stands
 * in for MediaConvert faithfully, so its job events and GetJob answers come through here too.
 *
 * https://docs.aws.amazon.com/mediaconvert/latest/ug/ev_status_change.html
 */
import type { MediaConvertJobDetail } from '../../schemas/events.ts';
import { isFinalUpdate, type TranscodeJobStatus, type TranscodeUpdate } from '../../schemas/transcode-update.ts';
import { longestDurationSeconds } from '../../domain/ports/transcoder.ts';

const hlsDurationSeconds = (detail: MediaConvertJobDetail) =>
  longestDurationSeconds(
    (detail.outputGroupDetails?.find((candidate) => candidate.type === 'HLS_GROUP')?.outputDetails ?? []).map((output) => output.durationInMs),
  );

/**
 * The update a job event says, or undefined when it says nothing the service keeps: a status the
 * service has no use for (SUBMITTED, INPUT_INFORMATION, QUEUE_HOP), a STATUS_UPDATE without a
 * percentage, a warning without a code, or a job this service did not submit (no videoId in its
 * user metadata). MediaConvert reports outputs only at COMPLETE, never before.
 */
export function updateOfJobDetail(detail: MediaConvertJobDetail): TranscodeUpdate | undefined {
  const videoId = detail.userMetadata.videoId;
  if (!videoId) return undefined;
  const job = { videoId, jobId: detail.jobId };
  switch (detail.status) {
    case 'PROGRESSING':
      return { type: 'started', ...job };
    case 'STATUS_UPDATE': {
      const percent = detail.jobProgress?.jobPercentComplete;
      return percent === undefined ? undefined : { type: 'progress', ...job, percent: Math.max(0, Math.min(100, percent)) };
    }
    case 'COMPLETE': {
      const durationSeconds = hlsDurationSeconds(detail);
      return { type: 'complete', ...job, ...(durationSeconds === undefined ? {} : { durationSeconds }) };
    }
    case 'NEW_WARNING':
      // Each warning as it arises, by code and message (COMPLETE lists them again, by code only).
      if (detail.warningCode === undefined) return undefined;
      return {
        type: 'warning',
        ...job,
        code: String(detail.warningCode),
        message: detail.warningMessage ?? `The transcoder reported warning ${detail.warningCode}`,
      };
    case 'ERROR':
      return {
        type: 'failed',
        ...job,
        code: String(detail.errorCode ?? 'unknown'),
        message: detail.errorMessage ?? 'The video could not be converted',
      };
    case 'CANCELED':
      return { type: 'canceled', ...job };
    default:
      return undefined;
  }
}

/** A job as GetJob tells it (in its event's shape): still at work, or the update it ended with. */
export function jobStatusOfDetail(detail: MediaConvertJobDetail): TranscodeJobStatus {
  const update = updateOfJobDetail(detail);
  return update && isFinalUpdate(update) ? { finished: true, update } : { finished: false };
}
