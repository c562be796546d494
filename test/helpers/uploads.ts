/** What tests do with the upload POST /uploads answered. */
import type { CreateUploadResponse, PresignedUpload } from '../../src/schemas/upload.ts';

/** The single PUT of an upload, or a failure saying the API answered a multipart plan instead. */
export function singlePut(upload: CreateUploadResponse['upload']): PresignedUpload {
  if (upload.method !== 'PUT') throw new Error(`Expected a single pre-signed PUT, got a ${upload.method} upload`);
  return upload;
}
