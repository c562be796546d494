/**
 * The one private bucket: `uploads/{videoId}/source` holds the original bytes and
 * `video-streams/{videoId}/` the HLS output. Keys never contain user-supplied names.
 *
 * The S3 SDK is loaded at the first storage call, not with the module: most API requests (list,
 * show, play) never touch the bucket, and a cold start need not parse the SDK for them.
 */
import type { S3Client } from '@aws-sdk/client-s3';

export const UPLOADS_PREFIX = 'uploads/';
export const STREAMS_PREFIX = 'video-streams/';
export const MASTER_PLAYLIST = 'master.m3u8';

export const sourceKey = (videoId: string) => `${UPLOADS_PREFIX}${videoId}/source`;
export const streamPrefix = (videoId: string) => `${STREAMS_PREFIX}${videoId}/`;
export const masterPlaylistKey = (videoId: string) => `${streamPrefix(videoId)}${MASTER_PLAYLIST}`;

/** The videoId of an upload's source key, or undefined for any other key. */
export function videoIdOfSourceKey(key: string): string | undefined {
  return /^uploads\/([^/]+)\/source$/.exec(key)?.[1];
}

/** `s3://bucket/key` (as MediaConvert reports outputs) → key, when it is in this bucket. */
export function keyOfS3Uri(uri: string, bucket: string): string | undefined {
  const prefix = `s3://${bucket}/`;
  return uri.startsWith(prefix) ? uri.slice(prefix.length) : undefined;
}

export interface PresignedPut {
  url: string;
  headers: Record<string, string>;
  expiresAt: Date;
}

/** S3 answered a DeleteObjects with errors: these keys are still there. Never swallowed. */
export class ObjectsNotDeletedError extends Error {
  override name = 'ObjectsNotDeletedError';
  constructor(readonly failures: Array<{ key: string; code: string }>) {
    super(`S3 did not delete ${failures.length} object(s): ${failures.slice(0, 5).map((failure) => `${failure.key} (${failure.code})`).join(', ')}`);
  }
}

/** The two folders a video's objects live in. */
export type StorageArea = 'uploads' | 'streams';
const AREA_PREFIX: Record<StorageArea, string> = { uploads: UPLOADS_PREFIX, streams: STREAMS_PREFIX };

export interface VideoStorage {
  readonly bucket: string;
  presignSourceUpload(input: { videoId: string; contentType: string; sizeBytes: number; expiresInSeconds: number; now: Date }): Promise<PresignedPut>;
  readText(key: string): Promise<string>;
  /** Whether a video's source is stored. */
  hasSource(videoId: string): Promise<boolean>;
  /**
   * Removes the source and every stream object of a video (only those last written before
   * `olderThan`, when given); returns how many. Throws ObjectsNotDeletedError when S3 keeps any.
   */
  deleteVideoObjects(videoId: string, options?: { olderThan?: Date }): Promise<number>;
  /**
   * Ids of videos with objects in one area, in key order after `startAfter` (one LIST per 1000),
   * at most `limit`.
   */
  listVideoIds(area: StorageArea, options: { startAfter?: string; limit: number }): Promise<string[]>;
}

/** The S3 SDK's commands and presigner, loaded once at the first storage call. */
const loadSdk = (() => {
  let pending: Promise<[typeof import('@aws-sdk/client-s3'), typeof import('@aws-sdk/s3-request-presigner')]> | undefined;
  return () => (pending ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/s3-request-presigner')]));
})();

export function createVideoStorage(deps: { s3: S3Client | (() => Promise<S3Client>); bucket: string }): VideoStorage {
  const { bucket } = deps;
  const client = async (): Promise<S3Client> => (typeof deps.s3 === 'function' ? deps.s3() : deps.s3);

  async function deletePrefix(prefix: string, olderThan?: Date): Promise<number> {
    const [[{ ListObjectsV2Command, DeleteObjectsCommand }], s3] = await Promise.all([loadSdk(), client()]);
    let deleted = 0;
    let continuationToken: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(continuationToken ? { ContinuationToken: continuationToken } : {}) }),
      );
      const keys = (page.Contents ?? []).flatMap((object) =>
        object.Key && (!olderThan || (object.LastModified && object.LastModified < olderThan)) ? [{ Key: object.Key }] : [],
      );
      if (keys.length > 0) {
        // Quiet: S3 lists only the keys it could not delete, and those are an error here.
        const result = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
        const failures = (result.Errors ?? []).map((error) => ({ key: error.Key ?? '?', code: error.Code ?? 'Unknown' }));
        if (failures.length > 0) throw new ObjectsNotDeletedError(failures);
        deleted += keys.length;
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (continuationToken);
    return deleted;
  }

  return {
    bucket,

    async presignSourceUpload({ videoId, contentType, sizeBytes, expiresInSeconds, now }) {
      const [[{ PutObjectCommand }, { getSignedUrl }], s3] = await Promise.all([loadSdk(), client()]);
      const command = new PutObjectCommand({
        Bucket: bucket,
        Key: sourceKey(videoId),
        ContentType: contentType,
        ContentLength: sizeBytes,
        IfNoneMatch: '*',
      });
      // Content-Type and Content-Length are signed headers: S3 refuses a PUT whose type or size
      // differs from what the API accepted. If-None-Match: * is signed too: the URL may create the
      // source once, never overwrite it (S3 answers 412), so what was transcoded stays what is stored.
      const url = await getSignedUrl(s3, command, {
        expiresIn: expiresInSeconds,
        signableHeaders: new Set(['content-type', 'content-length', 'if-none-match']),
        signingDate: now,
      });
      return {
        url,
        headers: { 'Content-Type': contentType, 'If-None-Match': '*' },
        expiresAt: new Date(now.getTime() + expiresInSeconds * 1000),
      };
    },

    async readText(key) {
      const [[{ GetObjectCommand }], s3] = await Promise.all([loadSdk(), client()]);
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!object.Body) throw new Error(`Object ${key} has no body`);
      return object.Body.transformToString('utf8');
    },

    async hasSource(videoId) {
      const [[{ HeadObjectCommand }], s3] = await Promise.all([loadSdk(), client()]);
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: sourceKey(videoId) }));
        return true;
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
        throw error;
      }
    },

    async deleteVideoObjects(videoId, options = {}) {
      const [sources, streams] = await Promise.all([
        deletePrefix(`${UPLOADS_PREFIX}${videoId}/`, options.olderThan),
        deletePrefix(streamPrefix(videoId), options.olderThan),
      ]);
      return sources + streams;
    },

    async listVideoIds(area, { startAfter, limit }) {
      const [[{ ListObjectsV2Command }], s3] = await Promise.all([loadSdk(), client()]);
      const prefix = AREA_PREFIX[area];
      const ids: string[] = [];
      let continuationToken: string | undefined;
      do {
        // Delimited: one entry per video folder, however many objects it holds.
        const page = await s3.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            Delimiter: '/',
            MaxKeys: Math.min(1000, limit - ids.length),
            ...(continuationToken ? { ContinuationToken: continuationToken } : startAfter ? { StartAfter: `${prefix}${startAfter}/\uffff` } : {}),
          }),
        );
        for (const common of page.CommonPrefixes ?? []) {
          const id = common.Prefix?.slice(prefix.length, -1);
          if (id) ids.push(id);
        }
        continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (continuationToken && ids.length < limit);
      return ids.slice(0, limit);
    },
  };
}
