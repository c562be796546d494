/**
 * Uploads: a single pre-signed PUT for small files, S3 multipart (resumable, parts in parallel)
 * above a threshold or on request. The multipart routes are thin: the domain checks the plan and
 * S3 keeps the parts, so a client that crashed or reloaded asks which parts are stored and goes on.
 */
import { Type, type Static } from '@sinclair/typebox';
import { PART_URLS_PER_BATCH } from '../shared/upload-limits.ts';
import { VideoId } from './video.ts';

/** S3's rules for multipart uploads (Amazon S3 multipart upload limits). */
export const S3_MULTIPART = {
  minPartBytes: 5 * 1024 ** 2,
  maxPartBytes: 5 * 1024 ** 3,
  maxParts: 10_000,
  /** The largest object S3 stores. */
  maxObjectBytes: 5 * 1024 ** 4,
} as const;

/** S3's limit for a single PUT; larger files are uploaded in parts. */
export const SINGLE_PUT_LIMIT_BYTES = 5 * 1024 ** 3;

export const CreateUploadRequest = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 200 }),
    filename: Type.String({ minLength: 1, maxLength: 255, description: 'Original file name; kept as metadata only' }),
    contentType: Type.String({
      minLength: 3,
      maxLength: 100,
      description: 'A video/* or audio/* media type, for example video/mp4 or audio/mpeg; image/* and text/* are refused with 415',
    }),
    sizeBytes: Type.Integer({ minimum: 0, description: 'Exact size of the file to upload; 0 (an empty file) is refused with 400' }),
    multipart: Type.Optional(
      Type.Boolean({
        description:
          "true: a resumable multipart upload whatever the size. false: one PUT (413 above 5 GiB, S3's limit for one PUT). " +
          "Absent: multipart above the service's threshold (see the upload's `method`).",
      }),
    ),
  },
  { $id: 'CreateUploadRequest', additionalProperties: false },
);
export type CreateUploadRequest = Static<typeof CreateUploadRequest>;

export const PresignedUpload = Type.Object(
  {
    method: Type.Literal('PUT'),
    url: Type.String({ format: 'uri' }),
    headers: Type.Record(Type.String(), Type.String(), { description: 'Send exactly these headers with the PUT' }),
    expiresAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'PresignedUpload', additionalProperties: false },
);
export type PresignedUpload = Static<typeof PresignedUpload>;

const PartNumber = Type.Integer({ minimum: 1, maximum: S3_MULTIPART.maxParts, description: 'From 1 to the part count' });

export const PartUploadUrl = Type.Object(
  {
    partNumber: PartNumber,
    url: Type.String({ format: 'uri', description: 'Pre-signed PUT for this part of this upload only' }),
    sizeBytes: Type.Integer({ minimum: 1, description: 'The exact length this part must have: the URL is signed for it' }),
    headers: Type.Record(Type.String(), Type.String(), { description: 'Send exactly these headers with the PUT (may be empty)' }),
  },
  { $id: 'PartUploadUrl', additionalProperties: false },
);
export type PartUploadUrl = Static<typeof PartUploadUrl>;

export const MultipartUpload = Type.Object(
  {
    method: Type.Literal('multipart', { description: 'PUT each part to its URL (any order, in parallel), then POST /uploads/{videoId}/complete' }),
    uploadId: Type.String({ minLength: 1 }),
    partSizeBytes: Type.Integer({
      minimum: S3_MULTIPART.minPartBytes,
      maximum: S3_MULTIPART.maxPartBytes,
      description: 'Every part but the last is exactly this long',
    }),
    partCount: Type.Integer({ minimum: 1, maximum: S3_MULTIPART.maxParts }),
    parts: Type.Array(Type.Ref(PartUploadUrl), {
      maxItems: PART_URLS_PER_BATCH,
      description: `URLs for the first parts (all of them up to ${PART_URLS_PER_BATCH}); POST /uploads/{videoId}/parts signs more`,
    }),
    partUrlsExpireAt: Type.String({ format: 'date-time', description: 'When these part URLs stop working; sign new ones after' }),
    expiresAt: Type.String({ format: 'date-time', description: 'When the upload is abandoned: its parts are removed and the video fails' }),
  },
  { $id: 'MultipartUpload', additionalProperties: false },
);
export type MultipartUpload = Static<typeof MultipartUpload>;

export const CreateUploadResponse = Type.Object(
  {
    videoId: VideoId,
    upload: Type.Union([Type.Ref(PresignedUpload), Type.Ref(MultipartUpload)], {
      description: '`method` says which: PUT the whole file once, or upload it in parts',
    }),
  },
  { $id: 'CreateUploadResponse', additionalProperties: false },
);
export type CreateUploadResponse = Static<typeof CreateUploadResponse>;

export const SignPartsRequest = Type.Object(
  {
    parts: Type.Array(
      Type.Object(
        {
          partNumber: PartNumber,
          contentMd5: Type.Optional(
            Type.String({
              pattern: '^[A-Za-z0-9+/]{22}==$',
              description: 'Base64 MD5 of the part: signed into its URL, so storage refuses bytes that differ (send it as Content-MD5)',
            }),
          ),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: PART_URLS_PER_BATCH },
    ),
  },
  { $id: 'SignPartsRequest', additionalProperties: false },
);
export type SignPartsRequest = Static<typeof SignPartsRequest>;

export const SignedParts = Type.Object(
  {
    parts: Type.Array(Type.Ref(PartUploadUrl)),
    partUrlsExpireAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'SignedParts', additionalProperties: false },
);
export type SignedParts = Static<typeof SignedParts>;

export const StoredPart = Type.Object(
  {
    partNumber: PartNumber,
    sizeBytes: Type.Integer({ minimum: 0 }),
    etag: Type.String({ description: "As storage answered the part's PUT (quoted)" }),
  },
  { $id: 'StoredPart', additionalProperties: false },
);
export type StoredPart = Static<typeof StoredPart>;

export const UploadProgress = Type.Object(
  {
    videoId: VideoId,
    uploadId: Type.String(),
    sizeBytes: Type.Integer({ minimum: 1 }),
    partSizeBytes: Type.Integer({ minimum: 1 }),
    partCount: Type.Integer({ minimum: 1 }),
    parts: Type.Array(Type.Ref(StoredPart), { description: 'The parts stored so far, by part number; upload the others' }),
    storedBytes: Type.Integer({ minimum: 0 }),
    expiresAt: Type.String({ format: 'date-time' }),
  },
  { $id: 'UploadProgress', additionalProperties: false },
);
export type UploadProgress = Static<typeof UploadProgress>;

export const CompleteUploadRequest = Type.Object(
  {
    parts: Type.Array(
      Type.Object(
        {
          partNumber: PartNumber,
          etag: Type.String({ minLength: 1, maxLength: 200, description: "The ETag header storage answered the part's PUT with" }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: S3_MULTIPART.maxParts, description: 'Every part, each once' },
    ),
  },
  { $id: 'CompleteUploadRequest', additionalProperties: false },
);
export type CompleteUploadRequest = Static<typeof CompleteUploadRequest>;
