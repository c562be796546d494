/**
 * The video storage the domain needs (the one private bucket; see storage-layout.ts for where
 * things are in it), and the errors it may answer with. Implemented on S3 by
 * src/adapters/s3/video-storage.ts (and in memory by the tests).
 */
import type { StorageArea } from '../storage-layout.ts';

export interface PresignedPut {
  url: string;
  headers: Record<string, string>;
  expiresAt: Date;
}

/** S3 answered a DeleteObjects with errors: these keys are still there. Never swallowed. */
export class ObjectsNotDeletedError extends Error {
  override name = 'ObjectsNotDeletedError';
  constructor(readonly failures: Array<{ key: string; code: string }>) {
    super(
      `S3 did not delete ${failures.length} object(s): ${failures
        .slice(0, 5)
        .map((failure) => `${failure.key} (${failure.code})`)
        .join(', ')}`,
    );
  }
}

/** One part of a multipart upload, as S3 stores it. */
export interface StoredUploadPart {
  partNumber: number;
  sizeBytes: number;
  /** Quoted, as S3 answers it. */
  etag: string;
}

/** A multipart upload S3 holds for the bucket (ListMultipartUploads). */
export interface PendingMultipartUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** S3 no longer knows the multipart upload: completed, aborted, or removed by the lifecycle rule. */
export class MultipartUploadGoneError extends Error {
  override name = 'MultipartUploadGoneError';
}

/** S3 refused the completion of a multipart upload (a part missing, too small, another ETag). */
export class MultipartCompletionRefusedError extends Error {
  override name = 'MultipartCompletionRefusedError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface VideoStorage {
  readonly bucket: string;
  presignSourceUpload(input: { videoId: string; contentType: string; sizeBytes: number; expiresInSeconds: number; now: Date }): Promise<PresignedPut>;
  /** Starts a multipart upload of a video's source; the parts are PUT through presignSourceParts. */
  createSourceMultipartUpload(input: { videoId: string; contentType: string }): Promise<{ uploadId: string }>;
  /** One PUT URL per part, each bound to its upload, its part number, its length (and its MD5 when given). */
  presignSourceParts(input: {
    videoId: string;
    uploadId: string;
    parts: ReadonlyArray<{ partNumber: number; sizeBytes: number; contentMd5?: string }>;
    expiresInSeconds: number;
    now: Date;
  }): Promise<Array<{ partNumber: number; url: string; headers: Record<string, string> }>>;
  /** The parts stored so far, by part number. Throws MultipartUploadGoneError when S3 knows no such upload. */
  listSourceParts(videoId: string, uploadId: string): Promise<StoredUploadPart[]>;
  /**
   * Joins the listed parts into the source, once: 'created', or 'exists' when a source is stored
   * already (a completion repeated after it succeeded). Throws MultipartUploadGoneError or
   * MultipartCompletionRefusedError.
   */
  completeSourceUpload(videoId: string, uploadId: string, parts: ReadonlyArray<{ partNumber: number; etag: string }>): Promise<'created' | 'exists'>;
  /** Removes a multipart upload and its parts; one S3 no longer knows is gone already. */
  abortSourceUpload(videoId: string, uploadId: string): Promise<void>;
  /** Multipart uploads of sources S3 holds, at most `limit`, oldest key first. */
  listPendingSourceUploads(limit: number): Promise<PendingMultipartUpload[]>;
  readText(key: string): Promise<string>;
  /** Whether a video's source is stored. */
  hasSource(videoId: string): Promise<boolean>;
  /**
   * Removes the source and every stream object of a video (only those last written before
   * `olderThan`, when given); returns how many. Throws ObjectsNotDeletedError when S3 keeps any.
   */
  deleteVideoObjects(videoId: string, options?: { olderThan?: Date }): Promise<number>;
  /** Removes a video's fast-start rendition (`video-streams/{id}/fast-start/`); returns how many objects. */
  deleteFastStartObjects(videoId: string): Promise<number>;
  /**
   * Ids of videos with objects in one area, in key order after `startAfter` (one LIST per 1000),
   * at most `limit`.
   */
  listVideoIds(area: StorageArea, options: { startAfter?: string; limit: number }): Promise<string[]>;
}
