/**
 * An in-memory VideoStorage for testing the domain on its own: objects in a Map, multipart uploads
 * with their parts, and S3's answers where the domain relies on them (a completed or aborted
 * upload is gone, a completion never overwrites a stored source, a part with another ETag is
 * refused). The adapter itself is tested against the S3 stand-in (test/src/adapters/s3/video-storage*.test.ts).
 */
import { createHash } from 'node:crypto';
import {
  MultipartCompletionRefusedError,
  MultipartUploadGoneError,
  ObjectsNotDeletedError,
  type StoredUploadPart,
  type VideoStorage,
} from '../../src/domain/ports/video-storage.ts';
import { fastStartPrefix, sourceKey, STREAMS_PREFIX, UPLOADS_PREFIX } from '../../src/domain/storage-layout.ts';

interface StoredObject {
  text: string;
  lastModified: Date;
}

interface MultipartUpload {
  videoId: string;
  initiated: Date;
  parts: Map<number, StoredUploadPart>;
}

export interface MemoryStorage extends VideoStorage {
  readonly objects: Map<string, StoredObject>;
  readonly uploads: Map<string, MultipartUpload>;
  /** Stores an object, as a PUT (or the transcoder writing its outputs) would. */
  put(key: string, text?: string): void;
  /** Stores a part, as a PUT through a part URL would; returns its ETag (quoted, as S3 answers). */
  putPart(uploadId: string, partNumber: number, sizeBytes: number): string;
  /** Keys under a video's two folders. */
  keysOf(videoId: string): string[];
  /** While set, deletions fail as S3's DeleteObjects errors do (ObjectsNotDeletedError). */
  failDeletes: boolean;
}

export function createMemoryStorage(options: { bucket?: string; now: () => Date }): MemoryStorage {
  const objects = new Map<string, StoredObject>();
  const uploads = new Map<string, MultipartUpload>();
  let uploadsMade = 0;
  const signed = (key: string, query: Record<string, string | number>) =>
    `https://s3.test/${key}?${new URLSearchParams(Object.entries(query).map(([name, value]): [string, string] => [name, String(value)]))}&X-Amz-Signature=test`;
  const videoFolders = (videoId: string) => [`${UPLOADS_PREFIX}${videoId}/`, `${STREAMS_PREFIX}${videoId}/`];
  function upload(videoId: string, uploadId: string): MultipartUpload {
    const found = uploads.get(uploadId);
    if (!found || found.videoId !== videoId) throw new MultipartUploadGoneError(`No multipart upload ${uploadId} for video ${videoId}`);
    return found;
  }

  /** Deletes these keys, as S3's DeleteObjects would, or refuses all of them when told to fail. */
  function deleteKeys(keys: string[]): number {
    if (storage.failDeletes && keys.length > 0) throw new ObjectsNotDeletedError(keys.map((key) => ({ key, code: 'InternalError' })));
    for (const key of keys) objects.delete(key);
    return keys.length;
  }

  const storage: MemoryStorage = {
    bucket: options.bucket ?? 'vod-test',
    objects,
    uploads,
    failDeletes: false,

    put(key, text = '') {
      objects.set(key, { text, lastModified: options.now() });
    },

    putPart(uploadId, partNumber, sizeBytes) {
      const found = uploads.get(uploadId);
      if (!found) throw new Error(`No multipart upload ${uploadId}`);
      const etag = `"${createHash('md5').update(`${uploadId} ${partNumber} ${sizeBytes}`).digest('hex')}"`;
      found.parts.set(partNumber, { partNumber, sizeBytes, etag });
      return etag;
    },

    keysOf: (videoId) => [...objects.keys()].filter((key) => videoFolders(videoId).some((folder) => key.startsWith(folder))).sort(),

    async presignSourceUpload({ videoId, contentType, expiresInSeconds, now }) {
      return {
        url: signed(sourceKey(videoId), { 'X-Amz-Date': now.toISOString(), 'X-Amz-Expires': expiresInSeconds }),
        headers: { 'Content-Type': contentType, 'If-None-Match': '*' },
        expiresAt: new Date(now.getTime() + expiresInSeconds * 1000),
      };
    },

    async createSourceMultipartUpload({ videoId }) {
      const uploadId = `upload-${++uploadsMade}`;
      uploads.set(uploadId, { videoId, initiated: options.now(), parts: new Map() });
      return { uploadId };
    },

    async presignSourceParts({ videoId, uploadId, parts, expiresInSeconds, now }) {
      return parts.map(({ partNumber, contentMd5 }): { partNumber: number; url: string; headers: Record<string, string> } => ({
        partNumber,
        url: signed(sourceKey(videoId), { partNumber, uploadId, 'X-Amz-Date': now.toISOString(), 'X-Amz-Expires': expiresInSeconds }),
        headers: contentMd5 ? { 'Content-MD5': contentMd5 } : {},
      }));
    },

    async listSourceParts(videoId, uploadId) {
      return [...upload(videoId, uploadId).parts.values()].sort((a, b) => a.partNumber - b.partNumber);
    },

    async completeSourceUpload(videoId, uploadId, parts) {
      const found = upload(videoId, uploadId);
      // If-None-Match: * — a stored source is never overwritten (S3's 412).
      if (objects.has(sourceKey(videoId))) return 'exists';
      parts.forEach(({ partNumber, etag }, index) => {
        if (index > 0 && partNumber <= parts[index - 1]!.partNumber)
          throw new MultipartCompletionRefusedError('InvalidPartOrder', 'The parts are not in ascending order');
        if (found.parts.get(partNumber)?.etag !== etag)
          throw new MultipartCompletionRefusedError('InvalidPart', `Part ${partNumber} is not stored with ETag ${etag}`);
      });
      storage.put(sourceKey(videoId), parts.map(({ partNumber }) => `part ${partNumber}`).join('\n'));
      uploads.delete(uploadId);
      return 'created';
    },

    async abortSourceUpload(videoId, uploadId) {
      if (uploads.get(uploadId)?.videoId === videoId) uploads.delete(uploadId);
    },

    async listPendingSourceUploads(limit) {
      return [...uploads.entries()]
        .map(([uploadId, { videoId, initiated }]) => ({ key: sourceKey(videoId), uploadId, initiated }))
        .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
        .slice(0, limit);
    },

    async readText(key) {
      const found = objects.get(key);
      if (!found) throw Object.assign(new Error(`The specified key does not exist: ${key}`), { name: 'NoSuchKey' });
      return found.text;
    },

    async hasSource(videoId) {
      return objects.has(sourceKey(videoId));
    },

    async deleteVideoObjects(videoId, { olderThan } = {}) {
      return deleteKeys(storage.keysOf(videoId).filter((key) => !olderThan || objects.get(key)!.lastModified < olderThan));
    },

    async deleteFastStartObjects(videoId) {
      return deleteKeys([...objects.keys()].filter((key) => key.startsWith(fastStartPrefix(videoId))));
    },

    async listVideoIds(area, { startAfter, limit }) {
      const prefix = area === 'uploads' ? UPLOADS_PREFIX : STREAMS_PREFIX;
      const ids = new Set([...objects.keys()].filter((key) => key.startsWith(prefix)).map((key) => key.slice(prefix.length).split('/')[0]!));
      return [...ids]
        .sort()
        .filter((id) => startAfter === undefined || id > startAfter)
        .slice(0, limit);
    },
  };
  return storage;
}
