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

export interface VideoStorage {
  readonly bucket: string;
  presignSourceUpload(input: { videoId: string; contentType: string; sizeBytes: number; expiresInSeconds: number; now: Date }): Promise<PresignedPut>;
  readText(key: string): Promise<string>;
  /** Removes the source and every stream object of a video. */
  deleteVideoObjects(videoId: string): Promise<number>;
}

/** The S3 SDK's commands and presigner, loaded once at the first storage call. */
const loadSdk = (() => {
  let pending: Promise<[typeof import('@aws-sdk/client-s3'), typeof import('@aws-sdk/s3-request-presigner')]> | undefined;
  return () => (pending ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/s3-request-presigner')]));
})();

export function createVideoStorage(deps: { s3: S3Client | (() => Promise<S3Client>); bucket: string }): VideoStorage {
  const { bucket } = deps;
  const client = async (): Promise<S3Client> => (typeof deps.s3 === 'function' ? deps.s3() : deps.s3);

  async function deletePrefix(prefix: string): Promise<number> {
    const [[{ ListObjectsV2Command, DeleteObjectsCommand }], s3] = await Promise.all([loadSdk(), client()]);
    let deleted = 0;
    let continuationToken: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: continuationToken }),
      );
      const keys = (page.Contents ?? []).flatMap((object) => (object.Key ? [{ Key: object.Key }] : []));
      if (keys.length > 0) {
        await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
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

    async deleteVideoObjects(videoId) {
      const [sources, streams] = await Promise.all([
        deletePrefix(`${UPLOADS_PREFIX}${videoId}/`),
        deletePrefix(streamPrefix(videoId)),
      ]);
      return sources + streams;
    },
  };
}
