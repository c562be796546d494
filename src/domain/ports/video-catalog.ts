/**
 * The catalog of videos, as the domain needs it: one record per video, every state change a
 * conditional transition that answers whether it happened, so duplicate and out-of-order events
 * cannot move a video backwards. A deleted video leaves a tombstone (status `deleted`) until the
 * reconciler has removed whatever its job or a late upload wrote after the delete; nobody sees it.
 * Implemented in DynamoDB by src/adapters/dynamodb/video-catalog.ts (and in memory by the tests).
 */
import type { AudioTrack, Rendition, Video, VideoError, VideoStatus, VideoWarning } from '../../schemas/video.ts';
import type { SourceMedia } from '../../schemas/transcode.ts';

/** Where a stored video is: a public status, or the tombstone of a deleted one. */
export type RecordStatus = VideoStatus | 'deleted';

/** What the reconciler has tried on a video that did not move on its own (bounded, with backoff). */
export interface ReconcileState {
  attempts: number;
  /** Not looked at again before this time (ISO). */
  nextAt: string;
  lastError?: string;
}

/** What is stored: the public Video plus bookkeeping that never leaves the service. */
export interface VideoRecord extends Omit<Video, 'status'> {
  status: RecordStatus;
  sortKey: string;
  ownerStatus: string;
  filename: string;
  contentType: string;
  sizeBytes: number;
  jobId?: string;
  sourceSequencer?: string;
  /** When a job was first about to be submitted: a retry looks for that job before making another. */
  jobRequestedAt?: string;
  /** Tombstones: when the video was deleted. */
  deletedAt?: string;
  /** A source uploaded in parts: S3's upload, the plan the parts follow, and when it is abandoned. */
  multipart?: MultipartPlan;
  reconcile?: ReconcileState;
  /** What inspecting the source found, kept with the job intent: fast start plans from it without inspecting again. */
  source?: SourceMedia;
  /** When the reconciler removed what fast start left, once no playback grant could reach it. */
  fastStartRemovedAt?: string;
}

/** Enough of a video to address it and keep its owner index right. */
export type VideoKey = Pick<VideoRecord, 'videoId' | 'ownerId'>;

export interface VideoCatalog {
  create(record: NewVideo): Promise<VideoRecord>;
  get(videoId: string): Promise<VideoRecord | undefined>;
  /** Newest first; `before` is the sortKey of the last item of the previous page. */
  queryByStatus(status: VideoStatus, limit: number, before?: string): Promise<VideoRecord[]>;
  queryByOwnerStatus(ownerId: string, status: VideoStatus, limit: number, before?: string): Promise<VideoRecord[]>;
  /**
   * The reconciler's view: videos in `status` created before `createdBefore` whose reconcile time
   * has come, oldest first, at most `limit`, reading at most `maxPages` index pages.
   */
  queryDue(status: RecordStatus, options: { createdBefore: string; now: string; limit: number; maxPages?: number }): Promise<VideoRecord[]>;
  /** Before submitting a job: remember that one is being submitted (kept from the first try). */
  recordJobIntent(video: VideoKey, now: string, details?: { audioOnly?: boolean; source?: SourceMedia }): Promise<boolean>;
  /** The reconciler tried and will try again later (unless the video has moved on meanwhile). */
  recordReconcileAttempt(video: VideoKey & Pick<VideoRecord, 'status'>, state: ReconcileState, now: string): Promise<boolean>;
  /** A ready video's fast-start rendition is gone (bookkeeping: the reconciler looks no more). */
  recordFastStartRemoved(video: VideoKey, now: string): Promise<boolean>;
  /** Any state → a tombstone nobody sees. False when already deleted or absent. */
  markDeleted(video: VideoKey, now: string): Promise<boolean>;
  /** awaiting_upload → processing. False when the video was not awaiting its upload. */
  claimForProcessing(video: VideoKey, sequencer: string, now: string): Promise<boolean>;
  /** Remembers the transcode job of a processing video, unless another one is recorded. */
  recordJob(video: VideoKey, jobId: string, now: string, details?: { audioOnly?: boolean }): Promise<boolean>;
  /** Raises progressPercent of a processing video; never lowers it. */
  recordProgress(video: VideoKey, jobId: string, percent: number, now: string): Promise<boolean>;
  /**
   * A processing video's first (or next) renditions were published: playable, with the renditions
   * so far. Only for this job, and only when it lists more renditions than recorded (events arrive
   * out of order; the list never shrinks).
   */
  recordRenditions(video: VideoKey, jobId: string, result: PublishedStreams, now: string): Promise<boolean>;
  markReady(video: VideoKey, jobId: string, result: PublishedStreams, now: string): Promise<boolean>;
  /**
   * A warning of this job (a damaged part of the source...), added to those recorded, while the
   * video is processing or after it is ready: warning events may arrive after the job completed.
   */
  recordWarning(video: VideoKey, jobId: string, warning: VideoWarning, now: string): Promise<boolean>;
  /** processing → failed; without a jobId also awaiting_upload → failed (a rejected upload). */
  markFailed(video: VideoKey, jobId: string | undefined, error: VideoError, now: string): Promise<boolean>;
  /** Removes the item for good (a tombstone whose leftovers are gone). */
  delete(videoId: string): Promise<void>;
}

/** What a transcoder published: video renditions (largest first), alternate audio, duration. */
export interface PublishedStreams {
  renditions: Rendition[];
  audioTracks?: AudioTrack[];
  durationSeconds?: number;
}

export type NewVideo = Pick<VideoRecord, 'videoId' | 'title' | 'ownerId' | 'filename' | 'contentType' | 'sizeBytes' | 'createdAt' | 'multipart'>;

/**
 * The record `create` stores for a new video, whatever stores it: awaiting its upload, and keyed
 * for the indexes, `sortKey` unique and time-ordered (`createdAt#videoId`, so pages are keyset
 * pages) and `ownerStatus` the owner's list of that state.
 */
export function newVideoRecord(video: NewVideo): VideoRecord {
  return {
    ...video,
    status: 'awaiting_upload',
    updatedAt: video.createdAt,
    sortKey: `${video.createdAt}#${video.videoId}`,
    ownerStatus: `${video.ownerId}#awaiting_upload`,
  };
}

export interface MultipartPlan {
  uploadId: string;
  partSizeBytes: number;
  partCount: number;
  /** ISO time after which the upload is abandoned. */
  expiresAt: string;
}
