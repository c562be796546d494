/**
 * The reconciler: what events alone cannot guarantee. An S3 notification or a job event can be
 * lost (a crash between a write and its event, a dead-letter queue in AWS), a job can be refused
 * or go silent, a delete can leave objects a job writes later. Each run looks, by index queries
 * only (never a scan), for:
 *
 * - videos awaiting their upload whose source is stored (a lost notification), or whose upload
 *   URL has expired with nothing stored, or whose upload in parts was abandoned (its parts are
 *   removed: AbortMultipartUpload);
 * - videos processing with no job (a crash before or during submission), with a job that has
 *   finished or failed (a lost event; it asks the transcoder, getJob, and applies the
 *   final update the lost event carried), with a job the transcoder does not know, or with a job silent too long;
 * - tombstones of deleted videos: their job canceled, their objects removed again (late outputs,
 *   late uploads), the tombstone itself removed once no upload URL can still write;
 * - objects under `uploads/` or `video-streams/` with no record at all, older than the grace
 *   period (a sample of the bucket each run, from a random point), and multipart uploads that no
 *   video awaits (a crash between S3's CreateMultipartUpload and the record naming it);
 * - in the same sample, a ready video's fast-start rendition (`video-streams/{id}/fast-start/`),
 *   once no playback grant handed out before the ladder took over can still reach it: ready for
 *   longer than a grant lasts, plus the grace. Looked for once per video (recordFastStartRemoved).
 *
 * It moves each through the same idempotent operations the events use (handleSourceUploaded,
 * applyTranscodeUpdate), so a late event and a reconciler run can meet without harm. A video it
 * cannot move is tried again with backoff, at most `maxAttempts` times, then fails with a reason
 * a person can read. Every action is logged and counted in the run's report.
 *
 * What a run costs, with V videos in the catalog: one index query page per state looked at
 * (awaiting_upload, processing, deleted; up to `batchSize` items each, only those older than the
 * grace period and not in backoff), one LIST of its source key per overdue awaiting video, one GetJob per
 * processing video silent for longer than the grace period, a LIST and a DeleteObjects per
 * tombstone, and for the orphan sample 2 delimited LISTs per 1000 folders plus one GetItem per
 * folder sampled (`orphanSampleSize` per area), and one ListMultipartUploads per 1000 uploads in
 * progress (at most `orphanSampleSize`) plus one GetItem each. None of it grows with V except
 * through the videos that are actually overdue or uploading.
 */
import { randomUUID } from 'node:crypto';
import type { VideoCatalog, VideoRecord } from './ports/video-catalog.ts';
import type { StorageArea } from './storage-layout.ts';
import type { VideoStorage } from './ports/video-storage.ts';
import { sourceKey, videoIdOfSourceKey } from './storage-layout.ts';
import type { Transcoder } from './ports/transcoder.ts';
import type { VideoService } from './video-service.ts';
import type { Logger } from '../shared/logger.ts';
import { playbackLifetimeSeconds, type PlaybackLifetime } from './ports/playback-signer.ts';

export interface ReconcilerSettings {
  /** A video is left to its events this long before the reconciler looks at it. */
  graceSeconds: number;
  /** A job still running with no word from it for this long is canceled and its video failed. */
  silentJobSeconds: number;
  /** Upload URLs live this long: after it (plus the grace) no upload can still arrive. */
  uploadUrlTtlSeconds: number;
  /** Tries on a video that does not move before it fails. */
  maxAttempts: number;
  /** The first retry waits this long; each next one twice as long. */
  backoffSeconds: number;
  /** Videos looked at per state per run. */
  batchSize: number;
  /** Folders sampled per area (uploads/, video-streams/) per run for objects with no record. */
  orphanSampleSize: number;
  /** How long a playback grant lasts: what fast start left stays until no grant can reach it. */
  playbackLifetime: PlaybackLifetime;
}

/**
 * How much one run looks at: fixed bounds, not settings (the timing settings come from config.ts).
 * They keep a run's cost and duration flat however large the catalog and the bucket grow.
 */
export const RUN_LIMITS = { batchSize: 100, orphanSampleSize: 200 } as const satisfies Pick<ReconcilerSettings, 'batchSize' | 'orphanSampleSize'>;

/** What a run did, by action. */
export const RECONCILE_ACTIONS = [
  'upload-found',
  'upload-expired',
  'upload-abandoned',
  'multipart-aborted',
  'job-resubmitted',
  'job-finished',
  'job-lost',
  'job-silent',
  'tombstone-cleaned',
  'tombstone-removed',
  'orphans-deleted',
  'fast-start-removed',
  'retry-scheduled',
  'gave-up',
] as const;
export type ReconcileAction = (typeof RECONCILE_ACTIONS)[number];

export interface ReconcileReport {
  /** Videos and folders looked at. */
  checked: number;
  actions: Record<ReconcileAction, number>;
  /** Objects removed (tombstones and orphans). */
  objectsDeleted: number;
  durationMs: number;
}

export interface ReconcilerDeps {
  videos: Pick<VideoService, 'handleSourceUploaded' | 'applyTranscodeUpdate' | 'clearDeleted'>;
  catalog: VideoCatalog;
  storage: VideoStorage;
  transcoder: Pick<Transcoder, 'getJob' | 'cancel'>;
  settings: ReconcilerSettings;
  logger: Logger;
  now?: () => Date;
}

const seconds = (value: number) => value * 1000;

export function createReconciler(deps: ReconcilerDeps) {
  const { videos, catalog, storage, transcoder, settings, logger } = deps;
  const now = deps.now ?? (() => new Date());

  return async function reconcile(): Promise<ReconcileReport> {
    const started = now();
    const at = started.toISOString();
    const report: ReconcileReport = {
      checked: 0,
      actions: Object.fromEntries(RECONCILE_ACTIONS.map((action) => [action, 0])) as Record<ReconcileAction, number>,
      objectsDeleted: 0,
      durationMs: 0,
    };
    const count = (action: ReconcileAction, details: Record<string, unknown>, message: string) => {
      report.actions[action] += 1;
      logger.info({ reconcile: action, ...details }, message);
    };
    const ago = (ms: number) => new Date(started.getTime() - ms);
    const overdue = ago(seconds(settings.graceSeconds)).toISOString();

    /**
     * One video, one step; a step that throws is retried on a later run with backoff, and after
     * maxAttempts the video fails with what went wrong (tombstones just keep being retried).
     */
    async function step(video: VideoRecord, what: string, work: () => Promise<void>): Promise<void> {
      report.checked += 1;
      try {
        await work();
      } catch (error) {
        const attempts = (video.reconcile?.attempts ?? 0) + 1;
        const lastError = error instanceof Error ? error.message : String(error);
        if (video.status !== 'deleted' && attempts >= settings.maxAttempts) {
          const message = `The video could not ${what} after ${attempts} tries: ${lastError}`;
          await catalog.markFailed(video, video.status === 'processing' ? video.jobId : undefined, { code: 'reconcile-gave-up', message }, at);
          report.actions['gave-up'] += 1;
          logger.error({ reconcile: 'gave-up', videoId: video.videoId, attempts, err: error }, message);
          return;
        }
        const backoff = seconds(settings.backoffSeconds) * 2 ** Math.min(attempts - 1, 10);
        const nextAt = new Date(started.getTime() + backoff).toISOString();
        await catalog.recordReconcileAttempt(video, { attempts, nextAt, lastError: lastError.slice(0, 500) }, at);
        report.actions['retry-scheduled'] += 1;
        logger.warn({ reconcile: 'retry-scheduled', videoId: video.videoId, attempts, nextAt, err: error }, `could not ${what}; trying again later`);
      }
    }

    // Tombstones first: what they free never needs looking at again.
    for (const video of await catalog.queryDue('deleted', { createdBefore: at, now: at, limit: settings.batchSize })) {
      await step(video, 'be cleaned up after its deletion', async () => {
        const deleted = await videos.clearDeleted(video);
        report.objectsDeleted += deleted;
        if (deleted > 0) count('tombstone-cleaned', { videoId: video.videoId, objects: deleted }, 'removed objects of a deleted video');
        const lastUploadPossible = Date.parse(video.deletedAt ?? video.updatedAt) + seconds(settings.uploadUrlTtlSeconds + settings.graceSeconds);
        const job = video.jobId ? await transcoder.getJob(video.jobId) : undefined;
        const jobDone = !job || job.finished;
        if (deleted === 0 && jobDone && started.getTime() > lastUploadPossible) {
          await catalog.delete(video.videoId);
          count('tombstone-removed', { videoId: video.videoId }, 'nothing can write for a deleted video any more: tombstone removed');
        }
      });
    }

    for (const video of await catalog.queryDue('awaiting_upload', { createdBefore: overdue, now: at, limit: settings.batchSize })) {
      await step(video, 'start converting its upload', async () => {
        if (await storage.hasSource(video.videoId)) {
          count('upload-found', { videoId: video.videoId }, 'source stored but never announced: converting it');
          await videos.handleSourceUploaded({ key: sourceKey(video.videoId), sequencer: 'reconciler' });
          return;
        }
        const { multipart } = video;
        if (multipart) {
          if (started.getTime() <= Date.parse(multipart.expiresAt) + seconds(settings.graceSeconds)) return;
          // The parts go first: once the video has failed, no run looks at this upload again.
          await storage.abortSourceUpload(video.videoId, multipart.uploadId);
          const message = `The upload was abandoned: it did not complete by ${multipart.expiresAt}, and the parts stored were removed. Upload the file again.`;
          if (await catalog.markFailed(video, undefined, { code: 'upload-abandoned', message }, at)) {
            count('upload-abandoned', { videoId: video.videoId, uploadId: multipart.uploadId }, message);
          }
          return;
        }
        const expiredAt = Date.parse(video.createdAt) + seconds(settings.uploadUrlTtlSeconds);
        if (started.getTime() > expiredAt + seconds(settings.graceSeconds)) {
          const message = `The upload never arrived: its upload URL expired at ${new Date(expiredAt).toISOString()}. Upload the file again.`;
          if (await catalog.markFailed(video, undefined, { code: 'upload-expired', message }, at)) {
            count('upload-expired', { videoId: video.videoId }, message);
          }
        }
      });
    }

    for (const video of await catalog.queryDue('processing', { createdBefore: overdue, now: at, limit: settings.batchSize })) {
      if (video.updatedAt > overdue) continue; // it moved recently: its events are flowing
      if (!video.jobId) {
        await step(video, 'start its conversion', async () => {
          count(
            'job-resubmitted',
            { videoId: video.videoId, intent: video.jobRequestedAt },
            'processing without a job: submitting it again (or finding the one submitted)',
          );
          await videos.handleSourceUploaded({ key: sourceKey(video.videoId), sequencer: 'reconciler' });
        });
        continue;
      }
      const jobId = video.jobId;
      await step(video, 'finish its conversion', async () => {
        const job = await transcoder.getJob(jobId);
        if (!job) {
          const message = `The conversion job ${jobId} no longer exists at the transcoder. Upload the file again.`;
          if (await catalog.markFailed(video, jobId, { code: 'job-lost', message }, at)) count('job-lost', { videoId: video.videoId, jobId }, message);
          return;
        }
        if (job.finished) {
          count('job-finished', { videoId: video.videoId, jobId, outcome: job.update.type }, 'the job ended but its event never arrived: applying it');
          await videos.applyTranscodeUpdate(job.update);
          return;
        }
        if (Date.parse(video.updatedAt) < started.getTime() - seconds(settings.silentJobSeconds)) {
          const hours = Math.round((settings.silentJobSeconds / 3600) * 10) / 10;
          const message = `The conversion stopped reporting progress for over ${hours} hours and was given up.`;
          if (await catalog.markFailed(video, jobId, { code: 'job-silent', message }, at)) {
            count('job-silent', { videoId: video.videoId, jobId }, message);
            await transcoder.cancel(jobId);
          }
        }
      });
    }

    /** A ready video's fast-start rendition, once no grant handed out before the ladder can reach it. */
    async function removeFastStartAfterUse(video: VideoRecord): Promise<void> {
      if (video.status !== 'ready' || video.fastStartRemovedAt || !video.readyAt) return;
      const lastGrantEnds = Date.parse(video.readyAt) + seconds(playbackLifetimeSeconds(settings.playbackLifetime, video.durationSeconds));
      if (started.getTime() <= lastGrantEnds + seconds(settings.graceSeconds)) return;
      const deleted = await storage.deleteFastStartObjects(video.videoId);
      await catalog.recordFastStartRemoved(video, at);
      if (deleted > 0) {
        report.objectsDeleted += deleted;
        count('fast-start-removed', { videoId: video.videoId, objects: deleted }, 'removed the fast-start rendition: no playback grant reaches it any more');
      }
    }

    // Objects with no record at all: a sample of folders per area, from a random point, wrapping.
    for (const area of ['uploads', 'streams'] as const satisfies readonly StorageArea[]) {
      const from = randomUUID();
      const sample = new Set(await storage.listVideoIds(area, { startAfter: from, limit: settings.orphanSampleSize }));
      if (sample.size < settings.orphanSampleSize) {
        for (const id of await storage.listVideoIds(area, { limit: settings.orphanSampleSize - sample.size })) sample.add(id);
      }
      for (const videoId of sample) {
        report.checked += 1;
        try {
          const video = await catalog.get(videoId);
          if (video) {
            // Records, tombstones included, are handled above; a ready one may have fast start's left.
            if (area === 'streams') await removeFastStartAfterUse(video);
            continue;
          }
          const deleted = await storage.deleteVideoObjects(videoId, { olderThan: new Date(overdue) });
          if (deleted > 0) {
            report.objectsDeleted += deleted;
            count('orphans-deleted', { videoId, area, objects: deleted }, 'removed objects that belong to no video');
          }
        } catch (error) {
          logger.error({ reconcile: 'orphans-deleted', videoId, area, err: error }, 'could not remove objects that belong to no video; trying again next run');
        }
      }
    }

    // Multipart uploads no video awaits: parts are not objects, so the sample above never sees them.
    try {
      for (const upload of await storage.listPendingSourceUploads(settings.orphanSampleSize)) {
        if (upload.initiated.toISOString() > overdue) continue; // its record may be on its way
        const videoId = videoIdOfSourceKey(upload.key);
        if (!videoId) continue;
        report.checked += 1;
        const video = await catalog.get(videoId);
        if (video?.status === 'awaiting_upload' && video.multipart?.uploadId === upload.uploadId) continue; // handled above
        await storage.abortSourceUpload(videoId, upload.uploadId);
        count('multipart-aborted', { videoId, uploadId: upload.uploadId, status: video?.status ?? 'none' }, 'aborted a multipart upload that no video awaits');
      }
    } catch (error) {
      logger.error({ reconcile: 'multipart-aborted', err: error }, 'could not abort multipart uploads that no video awaits; trying again next run');
    }

    report.durationMs = now().getTime() - started.getTime();
    logger.info({ reconcile: 'run', ...report }, 'reconciler run');
    return report;
  };
}

export type Reconcile = ReturnType<typeof createReconciler>;
