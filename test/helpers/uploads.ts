/** What tests and the bench do with the upload POST /uploads answered: one PUT, or parts. */
import { open } from 'node:fs/promises';
import type { LocalStack } from '../../deploy/local/stack.ts';
import type { CreateUploadResponse, MultipartUpload, PartUploadUrl, PresignedUpload, SignedParts } from '../../src/schemas/upload.ts';
import { callApi } from './stack.ts';

/** The single PUT of an upload, or a failure saying the API answered a multipart plan instead. */
export function singlePut(upload: CreateUploadResponse['upload']): PresignedUpload {
  if (upload.method !== 'PUT') throw new Error(`Expected a single pre-signed PUT, got a ${upload.method} upload`);
  return upload;
}

/** The multipart plan of an upload, or a failure saying the API answered a single PUT. */
export function multipartPlan(upload: CreateUploadResponse['upload']): MultipartUpload {
  if (upload.method !== 'multipart') throw new Error(`Expected a multipart upload, got a ${upload.method} upload`);
  return upload;
}

/** Bytes `[start, start + length)` of a file. */
export async function readSlice(file: string, start: number, length: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** PUTs `body` to a part's URL; resolves with the ETag storage answered. */
export async function putPartBytes(part: PartUploadUrl, body: Buffer): Promise<string> {
  const response = await fetch(part.url, { method: 'PUT', headers: part.headers, body: new Uint8Array(body) });
  const text = await response.text();
  const etag = response.headers.get('etag');
  if (response.status !== 200 || !etag) throw new Error(`PUT part ${part.partNumber} answered ${response.status}: ${text}`);
  return etag;
}

/** PUTs one part's bytes of `file` to its URL; resolves with the ETag storage answered. */
export async function putPart(file: string, partSizeBytes: number, part: PartUploadUrl): Promise<string> {
  return putPartBytes(part, await readSlice(file, (part.partNumber - 1) * partSizeBytes, part.sizeBytes));
}

/** Signs URLs for `partNumbers` (in batches the API takes) with POST /uploads/{id}/parts. */
export async function signParts(stack: LocalStack, token: string, videoId: string, partNumbers: readonly number[]): Promise<PartUploadUrl[]> {
  const urls: PartUploadUrl[] = [];
  for (let start = 0; start < partNumbers.length; start += 100) {
    const batch = partNumbers.slice(start, start + 100).map((partNumber) => ({ partNumber }));
    const signed = await callApi<SignedParts>(stack, 'POST', `/uploads/${videoId}/parts`, { token, body: { parts: batch } });
    if (signed.status !== 200) throw new Error(`POST /uploads/${videoId}/parts answered ${signed.status}: ${JSON.stringify(signed.body)}`);
    urls.push(...signed.body.parts);
  }
  return urls;
}

/**
 * Uploads the given parts of `file`, `concurrency` at a time, with URLs from the plan where it
 * has them and newly signed ones for the rest. Resolves with each part's ETag.
 */
export async function uploadParts(
  stack: LocalStack,
  token: string,
  videoId: string,
  file: string,
  plan: Pick<MultipartUpload, 'partSizeBytes' | 'parts'>,
  partNumbers: readonly number[],
  concurrency = 4,
): Promise<Map<number, string>> {
  const known = new Map(plan.parts.map((part) => [part.partNumber, part]));
  const unsigned = partNumbers.filter((number) => !known.has(number));
  for (const part of await signParts(stack, token, videoId, unsigned)) known.set(part.partNumber, part);
  const etags = new Map<number, string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, partNumbers.length) }, async () => {
      while (next < partNumbers.length) {
        const part = known.get(partNumbers[next++]!)!;
        etags.set(part.partNumber, await putPart(file, plan.partSizeBytes, part));
      }
    }),
  );
  return etags;
}
