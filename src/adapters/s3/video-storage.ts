/**
 * The one private bucket: `uploads/{videoId}/source` holds the original bytes and
 * `video-streams/{videoId}/` the HLS output. Keys never contain user-supplied names.
 *
 * The S3 SDK is loaded at the first storage call, not with the module: most API requests (list,
 * show, play) never touch the bucket, and a cold start need not parse the SDK for them.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { loadOnce } from '../../shared/load-once.ts';
import { AREA_PREFIX, fastStartPrefix, sourceKey, streamPrefix, UPLOADS_PREFIX } from '../../domain/storage-layout.ts';
import {
  MultipartCompletionRefusedError,
  MultipartUploadGoneError,
  ObjectsNotDeletedError,
  type PendingMultipartUpload,
  type StoredUploadPart,
  type VideoStorage,
} from '../../domain/ports/video-storage.ts';

/** S3's answer for an upload id it does not hold (NoSuchUpload, 404). */
function isNoSuchUpload(error: unknown): boolean {
  return (error as { name?: string }).name === 'NoSuchUpload' || (error as { Code?: string }).Code === 'NoSuchUpload';
}

/** The S3 SDK's commands and presigner, loaded once at the first storage call. */
const loadSdk = loadOnce(() => Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/s3-request-presigner')]));

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

    async createSourceMultipartUpload({ videoId, contentType }) {
      const [[{ CreateMultipartUploadCommand }], s3] = await Promise.all([loadSdk(), client()]);
      const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: sourceKey(videoId), ContentType: contentType }));
      if (!created.UploadId) throw new Error(`S3 answered CreateMultipartUpload for ${videoId} without an UploadId`);
      return { uploadId: created.UploadId };
    },

    async presignSourceParts({ videoId, uploadId, parts, expiresInSeconds, now }) {
      const [[{ UploadPartCommand }, { getSignedUrl }], s3] = await Promise.all([loadSdk(), client()]);
      return Promise.all(
        parts.map(async ({ partNumber, sizeBytes, contentMd5 }) => {
          // The upload id and part number are in the signed query, Content-Length (and Content-MD5)
          // are signed headers: the URL stores this part of this upload, at this length, only.
          const command = new UploadPartCommand({
            Bucket: bucket,
            Key: sourceKey(videoId),
            UploadId: uploadId,
            PartNumber: partNumber,
            ContentLength: sizeBytes,
            ...(contentMd5 ? { ContentMD5: contentMd5 } : {}),
          });
          const url = await getSignedUrl(s3, command, {
            expiresIn: expiresInSeconds,
            signableHeaders: new Set(contentMd5 ? ['content-length', 'content-md5'] : ['content-length']),
            signingDate: now,
          });
          const headers: Record<string, string> = contentMd5 ? { 'Content-MD5': contentMd5 } : {};
          return { partNumber, url, headers };
        }),
      );
    },

    async listSourceParts(videoId, uploadId) {
      const [[{ ListPartsCommand }], s3] = await Promise.all([loadSdk(), client()]);
      const parts: StoredUploadPart[] = [];
      let marker: string | undefined;
      try {
        do {
          const page = await s3.send(
            new ListPartsCommand({ Bucket: bucket, Key: sourceKey(videoId), UploadId: uploadId, ...(marker ? { PartNumberMarker: marker } : {}) }),
          );
          for (const part of page.Parts ?? []) {
            if (part.PartNumber !== undefined && part.ETag) parts.push({ partNumber: part.PartNumber, sizeBytes: part.Size ?? 0, etag: part.ETag });
          }
          marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
        } while (marker);
      } catch (error) {
        if (isNoSuchUpload(error)) throw new MultipartUploadGoneError(`S3 holds no multipart upload ${uploadId} for video ${videoId}`);
        throw error;
      }
      return parts.sort((a, b) => a.partNumber - b.partNumber);
    },

    async completeSourceUpload(videoId, uploadId, parts) {
      const [[{ CompleteMultipartUploadCommand }], s3] = await Promise.all([loadSdk(), client()]);
      try {
        await s3.send(
          new CompleteMultipartUploadCommand({
            Bucket: bucket,
            Key: sourceKey(videoId),
            UploadId: uploadId,
            MultipartUpload: { Parts: parts.map(({ partNumber, etag }) => ({ PartNumber: partNumber, ETag: etag })) },
            // Created once, as the single PUT: never overwrites a source already stored.
            IfNoneMatch: '*',
          }),
        );
        return 'created';
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        const code = (error as { name?: string }).name ?? '';
        if (status === 412) return 'exists';
        if (isNoSuchUpload(error)) throw new MultipartUploadGoneError(`S3 holds no multipart upload ${uploadId} for video ${videoId}`);
        if (status === 400) throw new MultipartCompletionRefusedError(code, (error as Error).message);
        throw error;
      }
    },

    async abortSourceUpload(videoId, uploadId) {
      const [[{ AbortMultipartUploadCommand }], s3] = await Promise.all([loadSdk(), client()]);
      try {
        await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: sourceKey(videoId), UploadId: uploadId }));
      } catch (error) {
        if (!isNoSuchUpload(error)) throw error;
      }
    },

    async listPendingSourceUploads(limit) {
      const [[{ ListMultipartUploadsCommand }], s3] = await Promise.all([loadSdk(), client()]);
      const uploads: PendingMultipartUpload[] = [];
      let keyMarker: string | undefined;
      let uploadIdMarker: string | undefined;
      do {
        const page = await s3.send(
          new ListMultipartUploadsCommand({
            Bucket: bucket,
            Prefix: UPLOADS_PREFIX,
            MaxUploads: Math.min(1000, limit - uploads.length),
            ...(keyMarker ? { KeyMarker: keyMarker } : {}),
            ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}),
          }),
        );
        for (const upload of page.Uploads ?? []) {
          if (upload.Key && upload.UploadId) uploads.push({ key: upload.Key, uploadId: upload.UploadId, initiated: upload.Initiated ?? new Date(0) });
        }
        keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        uploadIdMarker = page.IsTruncated ? page.NextUploadIdMarker : undefined;
      } while (keyMarker && uploads.length < limit);
      return uploads.slice(0, limit);
    },

    async readText(key) {
      const [[{ GetObjectCommand }], s3] = await Promise.all([loadSdk(), client()]);
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!object.Body) throw new Error(`Object ${key} has no body`);
      return object.Body.transformToString('utf8');
    },

    async hasSource(videoId) {
      // A LIST of the one key rather than a HEAD: S3 answers a HEAD of a missing key with 404
      // only to callers allowed to list the whole bucket (403 otherwise), and the API may list
      // under uploads/ only. LIST is strongly consistent, as HEAD is.
      const [[{ ListObjectsV2Command }], s3] = await Promise.all([loadSdk(), client()]);
      const key = sourceKey(videoId);
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
      return (page.Contents ?? []).some((object) => object.Key === key);
    },

    async deleteVideoObjects(videoId, options = {}) {
      const [sources, streams] = await Promise.all([
        deletePrefix(`${UPLOADS_PREFIX}${videoId}/`, options.olderThan),
        deletePrefix(streamPrefix(videoId), options.olderThan),
      ]);
      return sources + streams;
    },

    deleteFastStartObjects: (videoId) => deletePrefix(fastStartPrefix(videoId)),

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
