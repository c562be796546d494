/**
 * The video domain: uploads, the catalog as users see it, and the reactions to storage and
 * transcoder events. It knows nothing of HTTP or Lambda; routes and event handlers call it.
 */
import { randomUUID } from 'node:crypto';
import {
  type CompleteUploadRequest,
  type CreateUploadRequest,
  type CreateUploadResponse,
  type PartUploadUrl,
  type SignedParts,
  type SignPartsRequest,
  type UploadProgress,
  SINGLE_PUT_LIMIT_BYTES,
} from '../schemas/upload.ts';
import { PART_URLS_PER_BATCH } from '../shared/upload-limits.ts';
import { canBeWatched } from '../shared/video-status.ts';
import { listNumbers, partSize, planParts, sameEtag, type PartLayout } from './multipart-plan.ts';
import type { ListVideosQuery, Video, VideoPage, VideoStatus } from '../schemas/video.ts';
import { isFinalUpdate, type TranscodeUpdate } from '../schemas/transcode-update.ts';
import { redactSecrets } from '../shared/redact.ts';
import type { MultipartPlan, PublishedStreams, VideoCatalog, VideoRecord } from './ports/video-catalog.ts';
import { createCatalogReadCache, type CatalogReads } from './catalog-read-cache.ts';
import { masterPlaylistKey, sourceKey, streamPrefix, videoIdOfSourceKey } from './storage-layout.ts';
import { MultipartCompletionRefusedError, MultipartUploadGoneError, type VideoStorage } from './ports/video-storage.ts';
import type { Transcoder } from './ports/transcoder.ts';
import type { FastStartNews, FastStarter } from './ports/fast-starter.ts';
import type { Logger } from '../shared/logger.ts';
import type { SourceMedia, TranscodePlan } from '../schemas/transcode.ts';
import type { PlaybackSigner } from './ports/playback-signer.ts';
import type { Playback } from '../schemas/playback.ts';
import {
  ForbiddenError,
  InvalidInputError,
  JobRefusedError,
  SourceRejectedError,
  UnsupportedContentTypeError,
  UploadIncompleteError,
  UploadNotInProgressError,
  UploadTooLargeError,
  VideoNotFoundError,
  VideoNotReadyError,
} from './errors.ts';

export interface Viewer {
  userId: string;
}

export interface VideoServiceOptions {
  catalog: VideoCatalog;
  storage: VideoStorage;
  transcoder: Transcoder;
  /** Publishes a video's first rendition ahead of the ladder; without one, fast start is off. */
  fastStarter?: FastStarter;
  /** Signs CDN URLs for watching ready videos. */
  playback: PlaybackSigner;
  maxUploadBytes: number;
  uploadUrlTtlSeconds: number;
  /** Uploads in parts (S3 multipart): above which size, how large a part, how long one may take. */
  multipart: { thresholdBytes: number; partBytes: number; uploadTtlSeconds: number };
  /** How long viewers' catalog reads are shared (catalog-read-cache.ts); 0 reads every time. */
  catalogCacheMs?: number;
  now?: () => Date;
  newVideoId?: () => string;
}

/** What an event handler did with one event; logged, and asserted in tests. */
export type EventOutcome = 'applied' | 'ignored' | 'duplicate';

/** What may be uploaded: any video, and audio (music, podcasts) too. */
const MEDIA_CONTENT_TYPE = /^(video|audio)\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i;

/** Why a declared upload cannot be a video, in words for the person choosing the file; undefined when it can. */
function refusedUpload(request: CreateUploadRequest): Error | undefined {
  const type = request.contentType;
  if (request.sizeBytes === 0) return new InvalidInputError('The file is empty (0 bytes): choose a video or audio file.');
  if (/^image\//i.test(type)) return new UnsupportedContentTypeError(`This is a still image (${type}), not a video: upload a video or audio file.`);
  if (/^text\//i.test(type)) return new UnsupportedContentTypeError(`This is a text file (${type}), not a video: upload a video or audio file.`);
  if (!MEDIA_CONTENT_TYPE.test(type)) {
    return new UnsupportedContentTypeError(`${type} is not a video or audio content type (expected video/* or audio/*, e.g. video/mp4 or audio/mpeg)`);
  }
  return undefined;
}

/** Refuses part numbers asked for (or listed) twice, or beyond the upload's part count. */
function checkPartNumbers(numbers: readonly number[], layout: PartLayout, asked: 'asked for' | 'listed'): void {
  const repeated = numbers.filter((number, index) => numbers.indexOf(number) !== index);
  if (repeated.length > 0) throw new InvalidInputError(`Part ${listNumbers([...new Set(repeated)])} is ${asked} more than once`);
  const beyond = numbers.filter((number) => number > layout.partCount);
  if (beyond.length > 0) throw new InvalidInputError(`This upload has ${layout.partCount} parts; there is no part ${listNumbers(beyond)}`);
}

/** A record people may see: anything but a tombstone. */
export type VisibleRecord = VideoRecord & { status: VideoStatus };
export const isVisible = (record: VideoRecord | undefined): record is VisibleRecord => record !== undefined && record.status !== 'deleted';

export function toPublicVideo(record: VisibleRecord): Video {
  return {
    videoId: record.videoId,
    title: record.title,
    ownerId: record.ownerId,
    status: record.status,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    uploadedAt: record.uploadedAt,
    playableAt: record.playableAt,
    readyAt: record.readyAt,
    failedAt: record.failedAt,
    progressPercent: record.progressPercent,
    playable: canBeWatched(record) ? true : undefined,
    durationSeconds: record.durationSeconds,
    renditions: record.renditions,
    ...(record.audioOnly ? { audioOnly: true } : {}),
    ...(record.audioTracks && record.audioTracks.length > 0 ? { audioTracks: record.audioTracks } : {}),
    ...(record.warnings && record.warnings.length > 0 ? { warnings: record.warnings } : {}),
    error: record.error,
  };
}

const encodeCursor = (sortKey: string) => Buffer.from(sortKey, 'utf8').toString('base64url');
function decodeCursor(cursor: string): string {
  const sortKey = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^\d{4}-\d\d-\d\dT[^#]+#[0-9a-f-]{36}$/.test(sortKey)) {
    throw new InvalidInputError('cursor is not a nextCursor this API returned');
  }
  return sortKey;
}

/** The catalog, calling `invalidate` after each of its writes (whether it applied or not). */
function invalidatingWrites(catalog: VideoCatalog, invalidate: () => void): VideoCatalog {
  const after =
    <A extends unknown[], R>(write: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await write(...args);
      } finally {
        invalidate();
      }
    };
  // Every method named, no spread: a new catalog method must say whether it writes.
  return {
    get: catalog.get,
    queryByStatus: catalog.queryByStatus,
    queryByOwnerStatus: catalog.queryByOwnerStatus,
    queryDue: catalog.queryDue,
    create: after(catalog.create),
    recordJobIntent: after(catalog.recordJobIntent),
    recordReconcileAttempt: after(catalog.recordReconcileAttempt),
    recordFastStartRemoved: after(catalog.recordFastStartRemoved),
    markDeleted: after(catalog.markDeleted),
    claimForProcessing: after(catalog.claimForProcessing),
    recordJob: after(catalog.recordJob),
    recordProgress: after(catalog.recordProgress),
    recordRenditions: after(catalog.recordRenditions),
    markReady: after(catalog.markReady),
    markFailed: after(catalog.markFailed),
    recordWarning: after(catalog.recordWarning),
    delete: after(catalog.delete),
  };
}

export function createVideoService(options: VideoServiceOptions) {
  const { storage, transcoder } = options;
  const viewerReads = createCatalogReadCache(options.catalog, { ttlMs: options.catalogCacheMs ?? 0 });
  const catalog = invalidatingWrites(options.catalog, viewerReads.invalidate);
  const now = options.now ?? (() => new Date());
  const newVideoId = options.newVideoId ?? randomUUID;

  /** What a master playlist in storage offers (the parser loads on the first job event only). */
  async function readMaster(masterKey: string): Promise<PublishedStreams & { variants: number }> {
    const [text, { readMasterPlaylist }] = await Promise.all([storage.readText(masterKey), import('./master-playlist.ts')]);
    return readMasterPlaylist(text);
  }

  const canSee = (viewer: Viewer, video: VideoRecord) => video.status === 'ready' || video.ownerId === viewer.userId;

  async function visibleVideo(viewer: Viewer, videoId: string, reads: CatalogReads = viewerReads): Promise<VisibleRecord> {
    const video = await reads.get(videoId);
    // Someone else's unfinished video is as good as absent: its existence is not disclosed.
    if (!isVisible(video) || !canSee(viewer, video)) throw new VideoNotFoundError(videoId);
    return video;
  }

  /**
   * Removes what a deleted video left: its job (if one may still be writing) and every object.
   * Safe to repeat; the reconciler repeats it on tombstones until nothing is left. Throws when S3
   * keeps objects (ObjectsNotDeletedError) or the job cannot be canceled: never hidden.
   */
  async function clearDeleted(video: VideoRecord): Promise<number> {
    if (video.jobId) await transcoder.cancel(video.jobId);
    // Aborted first: parts are not objects, and no PUT of a part may land after the objects are gone.
    if (video.multipart) await storage.abortSourceUpload(video.videoId, video.multipart.uploadId);
    return storage.deleteVideoObjects(video.videoId);
  }

  /** The viewer's own video registered for an upload in parts, in whatever state. */
  async function ownUploadInParts(viewer: Viewer, videoId: string): Promise<{ video: VisibleRecord; multipart: MultipartPlan }> {
    const video = await visibleVideo(viewer, videoId, catalog);
    if (video.ownerId !== viewer.userId) throw new ForbiddenError('Only the owner of a video uploads it');
    if (!video.multipart) throw new UploadNotInProgressError(`Video ${videoId} was registered for one PUT, not an upload in parts`);
    return { video, multipart: video.multipart };
  }

  /** Refuses an upload in parts that no longer takes parts: completed, failed, or past its expiry. */
  function assertStillOpen(video: VisibleRecord, multipart: MultipartPlan): void {
    if (video.status !== 'awaiting_upload') {
      throw new UploadNotInProgressError(
        video.status === 'failed'
          ? `Video ${video.videoId} has no upload in progress: ${video.error?.message ?? 'it failed'}`
          : `The upload of video ${video.videoId} has completed already`,
      );
    }
    if (Date.parse(multipart.expiresAt) <= now().getTime()) {
      throw new UploadNotInProgressError(`The upload of video ${video.videoId} was abandoned at ${multipart.expiresAt}: upload the file again`);
    }
  }

  /** The viewer's own video with a multipart upload still open for parts. */
  async function uploadInProgress(viewer: Viewer, videoId: string): Promise<{ video: VisibleRecord; multipart: MultipartPlan }> {
    const upload = await ownUploadInParts(viewer, videoId);
    assertStillOpen(upload.video, upload.multipart);
    return upload;
  }

  const layoutOf = (video: VideoRecord, multipart: MultipartPlan): PartLayout => ({
    sizeBytes: video.sizeBytes,
    partSizeBytes: multipart.partSizeBytes,
    partCount: multipart.partCount,
  });

  async function storedParts(video: VideoRecord, multipart: MultipartPlan) {
    try {
      return await storage.listSourceParts(video.videoId, multipart.uploadId);
    } catch (error) {
      if (error instanceof MultipartUploadGoneError) {
        throw new UploadNotInProgressError(`The upload of video ${video.videoId} is no longer held by storage (completed, cancelled or abandoned)`);
      }
      throw error;
    }
  }

  /**
   * A completed upload's video is processing from then on (a cancel is refused, its owner sees it
   * move); the conversion starts with the storage notification (ObjectCreated:CompleteMultipartUpload),
   * which finds the video claimed and submits its one job.
   */
  async function claimCompleted(video: VisibleRecord): Promise<Video> {
    await catalog.claimForProcessing(video, 'complete-multipart-upload', now().toISOString());
    const current = await catalog.get(video.videoId);
    return toPublicVideo(isVisible(current) ? current : video);
  }

  /** Part URLs that live the usual upload URL lifetime, never past the upload's own expiry. */
  async function signParts(
    videoId: string,
    multipart: MultipartPlan,
    layout: PartLayout,
    parts: ReadonlyArray<{ partNumber: number; contentMd5?: string }>,
    at: Date,
  ): Promise<SignedParts> {
    const lifetime = Math.max(1, Math.min(options.uploadUrlTtlSeconds, Math.floor((Date.parse(multipart.expiresAt) - at.getTime()) / 1000)));
    const sized = parts.map((part) => ({ ...part, sizeBytes: partSize(layout, part.partNumber) }));
    const urls = await storage.presignSourceParts({ videoId, uploadId: multipart.uploadId, parts: sized, expiresInSeconds: lifetime, now: at });
    const signed: PartUploadUrl[] = urls.map((url, index) => ({
      partNumber: url.partNumber,
      url: url.url,
      sizeBytes: sized[index]!.sizeBytes,
      headers: url.headers,
    }));
    return { parts: signed, partUrlsExpireAt: new Date(at.getTime() + lifetime * 1000).toISOString() };
  }

  const service = {
    async requestUpload(viewer: Viewer, request: CreateUploadRequest): Promise<CreateUploadResponse> {
      const refused = refusedUpload(request);
      if (refused) throw refused;
      if (request.sizeBytes > options.maxUploadBytes) {
        throw new UploadTooLargeError(`The file is ${request.sizeBytes} bytes; the largest upload accepted is ${options.maxUploadBytes} bytes`);
      }
      if (request.multipart === false && request.sizeBytes > SINGLE_PUT_LIMIT_BYTES) {
        throw new UploadTooLargeError(
          `The file is ${request.sizeBytes} bytes; one PUT takes at most ${SINGLE_PUT_LIMIT_BYTES} bytes (S3's limit): upload it in parts (leave out multipart: false)`,
        );
      }
      const inParts = request.multipart ?? (request.sizeBytes > options.multipart.thresholdBytes || request.sizeBytes > SINGLE_PUT_LIMIT_BYTES);
      const createdAt = now();
      const videoId = newVideoId();
      const record = {
        videoId,
        title: request.title,
        ownerId: viewer.userId,
        filename: request.filename,
        contentType: request.contentType,
        sizeBytes: request.sizeBytes,
        createdAt: createdAt.toISOString(),
      };
      if (inParts) {
        const layout = planParts(request.sizeBytes, options.multipart.partBytes);
        // S3's upload first, then the record that names it: a crash between them leaves an upload
        // with no record, which the reconciler aborts; never a record naming no upload.
        const { uploadId } = await storage.createSourceMultipartUpload({ videoId, contentType: request.contentType });
        const expiresAt = new Date(createdAt.getTime() + options.multipart.uploadTtlSeconds * 1000);
        const multipart: MultipartPlan = { uploadId, partSizeBytes: layout.partSizeBytes, partCount: layout.partCount, expiresAt: expiresAt.toISOString() };
        await catalog.create({ ...record, multipart });
        const firstParts = Array.from({ length: Math.min(layout.partCount, PART_URLS_PER_BATCH) }, (_, index) => ({ partNumber: index + 1 }));
        const signed = await signParts(videoId, multipart, layout, firstParts, createdAt);
        return {
          videoId,
          upload: {
            method: 'multipart',
            uploadId,
            partSizeBytes: layout.partSizeBytes,
            partCount: layout.partCount,
            parts: signed.parts,
            partUrlsExpireAt: signed.partUrlsExpireAt,
            expiresAt: multipart.expiresAt,
          },
        };
      }
      await catalog.create(record);
      const upload = await storage.presignSourceUpload({
        videoId,
        contentType: request.contentType,
        sizeBytes: request.sizeBytes,
        expiresInSeconds: options.uploadUrlTtlSeconds,
        now: createdAt,
      });
      return {
        videoId,
        upload: { method: 'PUT', url: upload.url, headers: upload.headers, expiresAt: upload.expiresAt.toISOString() },
      };
    },

    /** The parts of the viewer's multipart upload stored so far (to resume after a crash or a reload). */
    async listUploadedParts(viewer: Viewer, videoId: string): Promise<UploadProgress> {
      const { video, multipart } = await uploadInProgress(viewer, videoId);
      const parts = await storedParts(video, multipart);
      return {
        videoId,
        uploadId: multipart.uploadId,
        sizeBytes: video.sizeBytes,
        partSizeBytes: multipart.partSizeBytes,
        partCount: multipart.partCount,
        parts,
        storedBytes: parts.reduce((sum, part) => sum + part.sizeBytes, 0),
        expiresAt: multipart.expiresAt,
      };
    },

    /** URLs for parts of the viewer's multipart upload: more of them, or new ones for expired URLs. */
    async signUploadParts(viewer: Viewer, videoId: string, parts: SignPartsRequest['parts']): Promise<SignedParts> {
      const { video, multipart } = await uploadInProgress(viewer, videoId);
      const layout = layoutOf(video, multipart);
      checkPartNumbers(
        parts.map((part) => part.partNumber),
        layout,
        'asked for',
      );
      return signParts(videoId, multipart, layout, parts, now());
    },

    /**
     * The parts become the source, once. Every part must be listed, stored with the ETag listed
     * and the length the plan gives it, so the source is exactly the declared file; otherwise
     * nothing is joined and the reason names the parts. A completion repeated after it succeeded
     * (its answer lost) answers the video again.
     */
    async completeUpload(viewer: Viewer, videoId: string, parts: CompleteUploadRequest['parts']): Promise<Video> {
      const { video, multipart } = await ownUploadInParts(viewer, videoId);
      // Completed before (the answer was lost): the video as it is now.
      if (video.status === 'processing' || video.status === 'ready' || (video.status === 'failed' && (await storage.hasSource(videoId)))) {
        return toPublicVideo(video);
      }
      assertStillOpen(video, multipart);
      const layout = layoutOf(video, multipart);
      const numbers = parts.map((part) => part.partNumber);
      checkPartNumbers(numbers, layout, 'listed');
      const listed = new Set(numbers);
      const unlisted = Array.from({ length: layout.partCount }, (_, index) => index + 1).filter((number) => !listed.has(number));
      if (unlisted.length > 0) {
        throw new UploadIncompleteError(
          `The file is ${layout.sizeBytes} bytes in ${layout.partCount} parts; part ${listNumbers(unlisted)} ${unlisted.length === 1 ? 'is' : 'are'} not listed`,
        );
      }
      let stored: Awaited<ReturnType<typeof storedParts>>;
      try {
        stored = await storedParts(video, multipart);
      } catch (error) {
        if (error instanceof UploadNotInProgressError && (await storage.hasSource(videoId))) return claimCompleted(video);
        throw error;
      }
      const storedByNumber = new Map(stored.map((part) => [part.partNumber, part]));
      const problems: string[] = [];
      const missing = numbers.filter((number) => !storedByNumber.has(number)).sort((a, b) => a - b);
      if (missing.length > 0)
        problems.push(`part ${listNumbers(missing)} ${missing.length === 1 ? 'is' : 'are'} not stored: upload ${missing.length === 1 ? 'it' : 'them'}`);
      for (const { partNumber, etag } of [...parts].sort((a, b) => a.partNumber - b.partNumber)) {
        const part = storedByNumber.get(partNumber);
        if (!part) continue;
        const expected = partSize(layout, partNumber);
        if (part.sizeBytes !== expected) problems.push(`part ${partNumber} is ${part.sizeBytes} bytes, not ${expected}`);
        else if (!sameEtag(part.etag, etag)) problems.push(`part ${partNumber} was stored with ETag ${part.etag}, not ${etag}`);
      }
      if (problems.length > 0) {
        throw new UploadIncompleteError(
          `The parts do not make the declared file of ${layout.sizeBytes} bytes: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? `; and ${problems.length - 10} more` : ''}`,
        );
      }
      try {
        await storage.completeSourceUpload(
          videoId,
          multipart.uploadId,
          [...parts].sort((a, b) => a.partNumber - b.partNumber).map(({ partNumber }) => ({ partNumber, etag: storedByNumber.get(partNumber)!.etag })),
        );
      } catch (error) {
        if (error instanceof MultipartUploadGoneError) {
          if (await storage.hasSource(videoId)) return claimCompleted(video);
          throw new UploadNotInProgressError(`The upload of video ${videoId} is no longer held by storage (abandoned or cancelled): upload the file again`);
        }
        if (error instanceof MultipartCompletionRefusedError)
          throw new UploadIncompleteError(`Storage refused to join the parts (${error.code}): ${error.message}`);
        throw error;
      }
      return claimCompleted(video);
    },

    /** Cancels the viewer's upload that has not completed: the parts and the video are removed. */
    async abortUpload(viewer: Viewer, videoId: string): Promise<{ cleanupError?: unknown }> {
      const video = await visibleVideo(viewer, videoId, catalog);
      if (video.ownerId !== viewer.userId) throw new ForbiddenError('Only the owner of a video may cancel its upload');
      // A source stored whose notification is still on its way is a completed upload too.
      if (video.status !== 'awaiting_upload' || (await storage.hasSource(videoId))) {
        throw new UploadNotInProgressError(`The upload of video ${videoId} has completed already: delete the video instead`);
      }
      if (!(await catalog.markDeleted(video, now().toISOString()))) return {};
      try {
        await clearDeleted(video);
        return {};
      } catch (error) {
        return { cleanupError: error };
      }
    },

    /**
     * ready: everybody's ready videos. processing / failed: the viewer's own. all: both, merged.
     * Pages are keyset pages on sortKey, so merging several index queries stays exact.
     */
    async listVideos(viewer: Viewer, query: ListVideosQuery): Promise<VideoPage> {
      const status = query.status ?? 'ready';
      const limit = query.limit ?? 20;
      const before = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
      const ownStates: VideoStatus[] = status === 'all' ? ['awaiting_upload', 'processing', 'failed'] : status === 'ready' ? [] : [status];
      const sources = await Promise.all([
        ...(status === 'ready' || status === 'all' ? [viewerReads.queryByStatus('ready', limit + 1, before)] : []),
        ...ownStates.map((state) => viewerReads.queryByOwnerStatus(viewer.userId, state, limit + 1, before)),
      ]);
      const merged = sources.flat().sort((a, b) => (a.sortKey < b.sortKey ? 1 : a.sortKey > b.sortKey ? -1 : 0));
      const page = merged.slice(0, limit);
      const last = page.at(-1);
      return {
        items: page.filter(isVisible).map(toPublicVideo),
        ...(merged.length > limit && last ? { nextCursor: encodeCursor(last.sortKey) } : {}),
      };
    },

    async getVideo(viewer: Viewer, videoId: string): Promise<Video> {
      return toPublicVideo(await visibleVideo(viewer, videoId));
    },

    /**
     * A signed manifest URL on the CDN for a video the viewer may see and that can be watched:
     * ready, or (for its owner, the only one who sees it then) processing with a first rendition
     * published.
     */
    async getPlayback(viewer: Viewer, videoId: string): Promise<Playback> {
      const video = await visibleVideo(viewer, videoId);
      if (!canBeWatched(video)) {
        throw new VideoNotReadyError(`Video ${videoId} is ${video.status.replace('_', ' ')}; it can be watched once its first rendition is ready`);
      }
      const grant = await options.playback.signManifest({ videoId, durationSeconds: video.durationSeconds, now: now() });
      return { manifestUrl: grant.manifestUrl, expiresAt: grant.expiresAt.toISOString() };
    },

    /**
     * The video disappears at once (a tombstone nobody sees), its job is canceled and its objects
     * removed. What cannot be removed now (S3 errors, a job still writing, a late upload through a
     * URL handed out before) is removed by the reconciler, which keeps the tombstone until the last
     * upload URL has expired and nothing is left. Such a failure is returned for the caller to log,
     * never reported as done.
     */
    async deleteVideo(viewer: Viewer, videoId: string): Promise<{ cleanupError?: unknown }> {
      const video = await visibleVideo(viewer, videoId, catalog);
      if (video.ownerId !== viewer.userId) throw new ForbiddenError('Only the owner of a video may delete it');
      if (!(await catalog.markDeleted(video, now().toISOString()))) return {}; // deleted meanwhile
      try {
        await clearDeleted(video);
        return {};
      } catch (error) {
        return { cleanupError: error };
      }
    },

    clearDeleted,

    /**
     * The source of a video arrived in storage: claim the video, find out what the source is,
     * plan it with the shared rules and submit one transcode job. A source that cannot become a
     * stream (a still image, a text file...) fails here, with the reason, and no job is started.
     * Safe to repeat: a claimed video with a recorded job is left alone, the plan of a source is
     * always the same, and the job submission carries the videoId as its idempotency token, so a
     * retry after a crash between submitting and recording returns the same job.
     */
    async handleSourceUploaded(object: { key: string; sequencer: string }): Promise<EventOutcome> {
      const videoId = videoIdOfSourceKey(object.key);
      if (!videoId) return 'ignored';
      let video = await catalog.get(videoId);
      if (!video) return 'ignored';
      if (video.status === 'deleted') {
        // A late upload through a URL handed out before the delete: nothing may keep it.
        await storage.deleteVideoObjects(videoId);
        return 'applied';
      }
      const at = () => now().toISOString();
      if (video.status === 'awaiting_upload') {
        await catalog.claimForProcessing(video, object.sequencer, at());
        video = await catalog.get(videoId);
        if (!video) return 'ignored';
      }
      if (video.status !== 'processing' || video.jobId) return 'duplicate';
      const key = sourceKey(videoId);
      let plan: TranscodePlan;
      let source: SourceMedia;
      try {
        // The rules load at the first upload event only: the API function never plans.
        const [{ planTranscode }, inspected] = await Promise.all([import('./transcode-plan.ts'), transcoder.inspect(key)]);
        source = inspected;
        plan = planTranscode(source);
      } catch (error) {
        if (!(error instanceof SourceRejectedError)) throw error;
        const failed = await catalog.markFailed(video, undefined, { code: error.reason, message: error.message }, at());
        return failed ? 'applied' : 'duplicate';
      }
      // A job may exist already: submitted by an earlier try that crashed before recording it,
      // longer ago than a transcoder keeps idempotency tokens (a minute, for some).
      if (video.jobRequestedAt) {
        const found = await transcoder.findJob(videoId, new Date(video.jobRequestedAt));
        if (found) {
          await catalog.recordJob(video, found.jobId, at(), { audioOnly: !plan.video });
          return 'applied';
        }
      }
      // The intent is durable before the job exists, so no retry ever creates a second one.
      if (!(await catalog.recordJobIntent(video, at(), { audioOnly: !plan.video, source }))) return 'duplicate';
      let jobId: string;
      try {
        ({ jobId } = await transcoder.submit({
          videoId,
          sourceKey: key,
          outputPrefix: streamPrefix(videoId),
          clientRequestToken: videoId,
          plan,
        }));
      } catch (error) {
        if (!(error instanceof JobRefusedError)) throw error;
        // Refused for good: the video fails now with the transcoder's reason, rather than after
        // every retry has failed the same way.
        const failed = await catalog.markFailed(video, undefined, { code: error.code, message: redactSecrets(error.message) }, at());
        return failed ? 'applied' : 'duplicate';
      }
      await catalog.recordJob(video, jobId, at(), { audioOnly: !plan.video });
      return 'applied';
    },

    /**
     * A transcoder reported on a job, in the domain's words (each transcoder's adapter translates
     * its own reports), or fast start did (startFastStart: renditions-published, news no transcoder
     * gives). Updates arrive at least once and in any order: an update of another job, a repeated
     * one, or one that comes after the video moved on changes nothing.
     */
    async applyTranscodeUpdate(update: TranscodeUpdate): Promise<EventOutcome> {
      const { videoId, jobId } = update;
      const video = await catalog.get(videoId);
      if (!video) return 'ignored';
      if (video.status === 'deleted') {
        // The job of a deleted video has ended: whatever it wrote after the delete goes too.
        if (!isFinalUpdate(update)) return 'ignored';
        await storage.deleteVideoObjects(videoId);
        return 'applied';
      }
      const at = now().toISOString();
      let applied: boolean;
      switch (update.type) {
        case 'started':
          applied = await catalog.recordJob(video, jobId, at);
          break;
        case 'progress':
          // 100 is kept for ready: a job at 100% may still be writing its last outputs.
          applied = await catalog.recordProgress(video, jobId, Math.max(0, Math.min(99, Math.floor(update.percent))), at);
          break;
        case 'renditions-published': {
          // A late or repeated report names no more renditions than recorded: no read needed.
          if (video.status !== 'processing' || (video.playable && (video.renditions?.length ?? 0) >= update.videoRenditions)) return 'duplicate';
          const { variants, ...streams } = await readMaster(masterPlaylistKey(videoId));
          if (variants === 0) return 'ignored';
          applied = await catalog.recordRenditions(video, jobId, { ...streams, durationSeconds: update.durationSeconds }, at);
          break;
        }
        case 'complete': {
          if (video.status !== 'processing') return 'duplicate';
          const { variants: _variants, ...streams } = await readMaster(masterPlaylistKey(videoId));
          applied = await catalog.markReady(video, jobId, { ...streams, durationSeconds: update.durationSeconds }, at);
          break;
        }
        case 'warning': {
          const warning = { code: update.code, message: update.message };
          if (video.warnings?.some((known) => known.code === warning.code && known.message === warning.message)) return 'duplicate';
          applied = await catalog.recordWarning(video, jobId, warning, at);
          break;
        }
        case 'failed':
          // The transcoder's words reach the owner: never with a URL's signature or a token.
          applied = await catalog.markFailed(video, jobId, { code: update.code, message: redactSecrets(update.message) }, at);
          break;
        case 'canceled':
          applied = await catalog.markFailed(video, jobId, { code: 'canceled', message: 'The transcode job was canceled' }, at);
          break;
      }
      return applied ? 'applied' : 'duplicate';
    },

    /**
     * Fast start for an uploaded source whose job is recorded: its first rendition published
     * within seconds (planFastStart says how, and whether it fits `secondsLeft`), then reported as
     * that job's renditions-published update. At least once, like every event: a video already
     * playable, or no longer processing, is left alone; a source the upload handler refused too.
     */
    async startFastStart(
      object: { key: string },
      run: { secondsLeft: number; signal: AbortSignal; logger: Pick<Logger, 'info' | 'warn'> },
    ): Promise<EventOutcome> {
      const videoId = videoIdOfSourceKey(object.key);
      if (!options.fastStarter || !videoId) return 'ignored';
      const video = await catalog.get(videoId);
      // Its updates name the recorded job: before the upload handler recorded one, there is none.
      if (!video || video.status !== 'processing' || !video.jobId) return 'ignored';
      if (video.playable) return 'duplicate';
      const key = sourceKey(videoId);
      const { planTranscode, planFastStart } = await import('./transcode-plan.ts');
      let plan: TranscodePlan;
      try {
        // As the upload handler found it, when it kept it: a second inspection costs half a second.
        plan = planTranscode(video.source ?? (await transcoder.inspect(key)));
      } catch (error) {
        if (error instanceof SourceRejectedError) return 'ignored';
        throw error;
      }
      const fastStart = planFastStart(plan, run.secondsLeft);
      if (fastStart.how === 'none') {
        run.logger.info({ videoId, reason: fastStart.reason }, `No fast start: ${fastStart.reason}; playable when the transcoder completes`);
        return 'ignored';
      }
      const jobId = video.jobId;
      let recorded: EventOutcome = 'duplicate';
      let news: FastStartNews | undefined;
      try {
        news = await options.fastStarter.publish({
          videoId,
          sourceKey: key,
          plan,
          how: fastStart.how,
          signal: run.signal,
          logger: run.logger,
          // Playable as soon as the master lists it, while a growing rendition is still encoded.
          onListed: async (listed) => void (recorded = await service.applyTranscodeUpdate({ ...listed, videoId, jobId })),
        });
      } finally {
        // Deleted while it ran: what it wrote goes too, as a job's last event does for the job's outputs.
        if ((await catalog.get(videoId))?.status === 'deleted') await storage.deleteVideoObjects(videoId);
      }
      // The ladder's master was there first: nothing was listed.
      return news ? recorded : 'duplicate';
    },
  };
  return service;
}

export type VideoService = ReturnType<typeof createVideoService>;
