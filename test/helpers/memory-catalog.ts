/**
 * An in-memory VideoCatalog with the DynamoDB adapter's semantics (src/adapters/dynamodb/video-catalog.ts), for
 * testing the domain on its own. test/src/adapters/dynamodb/video-catalog.test.ts runs one suite against both, so
 * this cannot drift from the adapter. Each method states the adapter's condition as a predicate
 * over the stored item; a refused condition answers false, as the adapter's
 * ConditionalCheckFailedException does.
 */
import { newVideoRecord } from '../../src/domain/ports/video-catalog.ts';
import type { PublishedStreams, RecordStatus, VideoCatalog, VideoKey, VideoRecord } from '../../src/domain/ports/video-catalog.ts';

/** The adapter keeps at most this many warnings per video (MAX_WARNINGS in video-catalog.ts). */
export const MAX_WARNINGS = 10;

/** Stored as the document client stores it (removeUndefinedValues): undefined members are not kept. */
const stored = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/** What DynamoDB answers a failed conditional PutItem; callers match it by name. */
class ConditionalCheckFailedException extends Error {
  override name = 'ConditionalCheckFailedException';
}

interface Change {
  /** The adapter's ConditionExpression, over the stored item. */
  when: (item: VideoRecord) => boolean;
  /** The SET (and if_not_exists, list_append) clauses besides updatedAt/status/ownerStatus. */
  apply: (item: VideoRecord) => void;
  to?: RecordStatus;
  /** The video moved on: the reconciler's state is removed (as with any `to`). */
  movesOn?: boolean;
  /** Bookkeeping only: updatedAt stays. */
  bookkeeping?: boolean;
}

/** streamsOf in the adapter: audio tracks only when there are some, duration only when known. */
const setStreams = (item: VideoRecord, result: PublishedStreams) => {
  item.renditions = result.renditions;
  if (result.audioTracks && result.audioTracks.length > 0) item.audioTracks = result.audioTracks;
  if (result.durationSeconds !== undefined) item.durationSeconds = result.durationSeconds;
};

export function createMemoryCatalog(): VideoCatalog {
  const items = new Map<string, VideoRecord>();

  function transition(video: VideoKey, now: string, change: Change): boolean {
    const current = items.get(video.videoId);
    if (!current || !change.when(current)) return false;
    const item = stored(current);
    change.apply(item);
    if (!change.bookkeeping) item.updatedAt = now;
    if (change.to) {
      item.status = change.to;
      item.ownerStatus = `${video.ownerId}#${change.to}`;
    }
    if (change.to || change.movesOn) delete item.reconcile;
    items.set(video.videoId, stored(item));
    return true;
  }

  /** The job's own events apply; those of another (older) job of the same video do not. */
  const processingByJob = (item: VideoRecord, jobId: string) => item.status === 'processing' && (item.jobId === undefined || item.jobId === jobId);

  /** DynamoDB refuses a Limit under 1 (ValidationException) rather than answering nothing. */
  const checkLimit = (limit: number) => {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`Limit must be an integer of at least 1, not ${limit}`);
  };

  /** An index partition, keyset-paged on sortKey: newest first, below `before`. */
  function query(matches: (item: VideoRecord) => boolean, limit: number, before?: string): VideoRecord[] {
    checkLimit(limit);
    return [...items.values()]
      .filter((item) => matches(item) && (before === undefined || item.sortKey < before))
      .sort((a, b) => (a.sortKey < b.sortKey ? 1 : -1))
      .slice(0, limit)
      .map(stored);
  }

  return {
    async create(video) {
      if (items.has(video.videoId)) throw new ConditionalCheckFailedException('The conditional request failed');
      const record = newVideoRecord(video);
      items.set(video.videoId, stored(record));
      return record;
    },

    async get(videoId) {
      const item = items.get(videoId);
      return item && stored(item);
    },

    queryByStatus: async (status, limit, before) => query((item) => item.status === status, limit, before),
    queryByOwnerStatus: async (ownerId, status, limit, before) => query((item) => item.ownerStatus === `${ownerId}#${status}`, limit, before),

    async queryDue(status, { createdBefore, now, limit, maxPages = 10 }) {
      // The adapter reads at most maxPages pages of `limit` items, oldest first, and filters out
      // videos in backoff after reading: Limit counts the items read, not those kept.
      return [...items.values()]
        .filter((item) => item.status === status && item.sortKey < createdBefore)
        .sort((a, b) => (a.sortKey < b.sortKey ? -1 : 1))
        .slice(0, limit * maxPages)
        .filter((item) => item.reconcile === undefined || item.reconcile.nextAt <= now)
        .slice(0, limit)
        .map(stored);
    },

    recordJobIntent: async (video, now, details) =>
      transition(video, now, {
        bookkeeping: true,
        when: (item) => item.status === 'processing' && item.jobId === undefined,
        apply: (item) => {
          // Kept from the first try (if_not_exists).
          item.jobRequestedAt ??= now;
          if (details?.audioOnly) item.audioOnly = true;
          if (details?.source) item.source = details.source;
        },
      }),

    recordReconcileAttempt: async (video, state, now) =>
      transition(video, now, {
        bookkeeping: true,
        when: (item) => item.status === video.status,
        apply: (item) => void (item.reconcile = state),
      }),

    recordFastStartRemoved: async (video, now) =>
      transition(video, now, {
        bookkeeping: true,
        when: (item) => item.status === 'ready',
        apply: (item) => void (item.fastStartRemovedAt = now),
      }),

    markDeleted: async (video, now) =>
      transition(video, now, {
        to: 'deleted',
        when: (item) => item.status !== 'deleted',
        apply: (item) => void (item.deletedAt = now),
      }),

    claimForProcessing: async (video, sequencer, now) =>
      transition(video, now, {
        to: 'processing',
        when: (item) => item.status === 'awaiting_upload',
        apply: (item) => {
          item.sourceSequencer = sequencer;
          item.uploadedAt = now;
        },
      }),

    recordJob: async (video, jobId, now, details) =>
      transition(video, now, {
        movesOn: true,
        when: (item) => processingByJob(item, jobId),
        apply: (item) => {
          item.jobId = jobId;
          if (details?.audioOnly) item.audioOnly = true;
        },
      }),

    recordProgress: async (video, jobId, percent, now) =>
      transition(video, now, {
        movesOn: true,
        when: (item) => processingByJob(item, jobId) && (item.progressPercent === undefined || item.progressPercent < percent),
        apply: (item) => void (item.progressPercent = percent),
      }),

    recordRenditions: async (video, jobId, result, now) =>
      transition(video, now, {
        movesOn: true,
        when: (item) =>
          processingByJob(item, jobId) && (item.playable === undefined || item.renditions === undefined || item.renditions.length < result.renditions.length),
        apply: (item) => {
          item.playable = true;
          item.playableAt ??= now;
          setStreams(item, result);
        },
      }),

    markReady: async (video, jobId, result, now) =>
      transition(video, now, {
        to: 'ready',
        when: (item) => processingByJob(item, jobId),
        apply: (item) => {
          item.jobId = jobId;
          item.playable = true;
          item.progressPercent = 100;
          item.readyAt = now;
          item.playableAt ??= now;
          setStreams(item, result);
        },
      }),

    markFailed: async (video, jobId, error, now) =>
      transition(video, now, {
        to: 'failed',
        when: (item) => (jobId ? processingByJob(item, jobId) : item.status === 'processing' || item.status === 'awaiting_upload'),
        apply: (item) => {
          item.error = error;
          item.failedAt = now;
        },
      }),

    recordWarning: async (video, jobId, warning, now) =>
      transition(video, now, {
        when: (item) =>
          (item.status === 'processing' || item.status === 'ready') &&
          (item.jobId === undefined || item.jobId === jobId) &&
          (item.warnings === undefined || item.warnings.length < MAX_WARNINGS),
        apply: (item) => void (item.warnings = [...(item.warnings ?? []), warning]),
      }),

    async delete(videoId) {
      items.delete(videoId);
    },
  };
}
