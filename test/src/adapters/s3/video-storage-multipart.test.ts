/**
 * The storage adapter's multipart calls (src/adapters/s3/video-storage.ts), sent by the real SDK client to the
 * S3 stand-in: each request the adapter makes is checked against botocore's S3 model, part URLs
 * store their part only, and S3's refusals become the adapter's errors (never a silent success).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { startLocalS3 } from '../../../../deploy/local/s3/s3-server.ts';
import { createVideoStorage } from '../../../../src/adapters/s3/video-storage.ts';
import { MultipartCompletionRefusedError, MultipartUploadGoneError } from '../../../../src/domain/ports/video-storage.ts';
import { loadServiceModel, validateOperationInput } from '../../../helpers/aws-model.ts';
import { standInS3Client } from '../../../helpers/s3-requests.ts';

const BUCKET = 'storage-multipart';
const MiB = 1024 ** 2;
const dir = await mkdtemp(path.join(tmpdir(), 'storage-multipart-'));
const localS3 = await startLocalS3({ directory: dir, port: 0, bucket: BUCKET });
const s3 = standInS3Client(localS3.url);
t.teardown(async () => {
  s3.destroy();
  await localS3.close();
  await rm(dir, { recursive: true, force: true });
});

// Every command the adapter sends, by operation, with its input as the SDK received it.
const sent: Array<{ operation: string; input: unknown }> = [];
s3.middlewareStack.add(
  (next, context) => async (args) => {
    sent.push({ operation: String(context.commandName).replace(/Command$/, ''), input: args.input });
    return next(args);
  },
  { step: 'initialize', name: 'recordCommands' },
);
const s3Model = loadServiceModel('s3');

const storage = createVideoStorage({ s3, bucket: BUCKET });
const videoId = '0b5e5c1e-7a61-4a7f-9a55-1d3f0a3c2b10';
const bytes = (partNumber: number, size: number) => Buffer.alloc(size, `part ${partNumber}; `);

t.test('create, sign, list, complete: the source is the parts, in order, once', async (t) => {
  const { uploadId } = await storage.createSourceMultipartUpload({ videoId, contentType: 'video/mp4' });
  const sizes = [5 * MiB, 5 * MiB, 1234];
  const md5 = createHash('md5').update(bytes(2, sizes[1]!)).digest('base64');
  const urls = await storage.presignSourceParts({
    videoId,
    uploadId,
    parts: sizes.map((sizeBytes, index) => ({ partNumber: index + 1, sizeBytes, ...(index === 1 ? { contentMd5: md5 } : {}) })),
    expiresInSeconds: 300,
    now: new Date(),
  });
  t.same(urls[1]!.headers, { 'Content-MD5': md5 }, 'a part with an MD5 carries it as a signed header');
  t.match(new URL(urls[1]!.url).searchParams.get('X-Amz-SignedHeaders'), /content-length;content-md5/);
  t.same(urls[0]!.headers, {});
  const etags: string[] = [];
  for (const [index, url] of urls.entries()) {
    const answer = await fetch(url.url, { method: 'PUT', headers: url.headers, body: new Uint8Array(bytes(index + 1, sizes[index]!)) });
    t.equal(answer.status, 200, `part ${index + 1}`);
    etags.push(answer.headers.get('etag')!);
  }
  const stored = await storage.listSourceParts(videoId, uploadId);
  t.same(
    stored.map(({ partNumber, sizeBytes, etag }) => ({ partNumber, sizeBytes, etag })),
    sizes.map((sizeBytes, index) => ({ partNumber: index + 1, sizeBytes, etag: etags[index] })),
  );

  await t.rejects(
    storage.completeSourceUpload(videoId, uploadId, [
      { partNumber: 1, etag: etags[0]! },
      { partNumber: 2, etag: '"00000000000000000000000000000000"' },
    ]),
    MultipartCompletionRefusedError,
    "S3's InvalidPart is a refusal, not a success",
  );
  t.equal(
    await storage.completeSourceUpload(
      videoId,
      uploadId,
      etags.map((etag, index) => ({ partNumber: index + 1, etag })),
    ),
    'created',
  );
  t.equal(await storage.hasSource(videoId), true);
  t.equal(
    await storage.readText(`uploads/${videoId}/source`).then((text) => text.length),
    sizes.reduce((a, b) => a + b, 0),
  );
  await t.rejects(storage.listSourceParts(videoId, uploadId), MultipartUploadGoneError, 'a completed upload is gone');
  // If-None-Match is checked first: a repeated completion finds the source it made.
  t.equal(await storage.completeSourceUpload(videoId, uploadId, [{ partNumber: 1, etag: etags[0]! }]), 'exists');
  await t.rejects(
    storage.completeSourceUpload('9a0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d', uploadId, [{ partNumber: 1, etag: etags[0]! }]),
    MultipartUploadGoneError,
    'an upload S3 does not hold',
  );

  // A second upload of the same key cannot replace the source: created once (If-None-Match: *).
  const second = await storage.createSourceMultipartUpload({ videoId, contentType: 'video/mp4' });
  const [url] = await storage.presignSourceParts({
    videoId,
    uploadId: second.uploadId,
    parts: [{ partNumber: 1, sizeBytes: 10 }],
    expiresInSeconds: 300,
    now: new Date(),
  });
  const etag = (await fetch(url!.url, { method: 'PUT', body: new Uint8Array(10) })).headers.get('etag')!;
  t.equal(await storage.completeSourceUpload(videoId, second.uploadId, [{ partNumber: 1, etag }]), 'exists');
});

t.test('pending uploads are listed; aborting one is safe to repeat', async (t) => {
  const other = '5d1f0b2c-3e4a-4b5c-8d6e-7f8091a2b3c4';
  const { uploadId } = await storage.createSourceMultipartUpload({ videoId: other, contentType: 'video/mp4' });
  const pending = await storage.listPendingSourceUploads(10);
  t.ok(pending.some((upload) => upload.uploadId === uploadId && upload.key === `uploads/${other}/source` && upload.initiated instanceof Date));
  await storage.abortSourceUpload(other, uploadId);
  await storage.abortSourceUpload(other, uploadId);
  t.notOk((await storage.listPendingSourceUploads(10)).some((upload) => upload.uploadId === uploadId));
  await t.rejects(storage.listSourceParts(other, uploadId), MultipartUploadGoneError);
  t.equal(await storage.hasSource(other), false);
});

t.test("every request the adapter sent is valid against botocore's S3 model", async (t) => {
  const operations = new Set(sent.map((request) => request.operation));
  for (const operation of ['CreateMultipartUpload', 'ListParts', 'CompleteMultipartUpload', 'AbortMultipartUpload', 'ListMultipartUploads', 'ListObjectsV2']) {
    t.ok(operations.has(operation), `${operation} was sent`);
  }
  for (const { operation, input } of sent) {
    if (!(operation in s3Model.operations)) continue; // e.g. GetObject's input carries nothing odd
    t.same(validateOperationInput(s3Model, operation, input), [], operation);
  }
});
