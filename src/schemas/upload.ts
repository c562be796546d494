import { Type, type Static } from '@sinclair/typebox';
import { VideoId } from './video.ts';

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

export const CreateUploadResponse = Type.Object(
  { videoId: VideoId, upload: Type.Ref(PresignedUpload) },
  { $id: 'CreateUploadResponse', additionalProperties: false },
);
export type CreateUploadResponse = Static<typeof CreateUploadResponse>;
