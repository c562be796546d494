/**
 * Uploads that cannot be abused, against the whole local stack: the pre-signed PUT from
 * POST /uploads is bound to its key, its content type and its exact length, and dies at its
 * expiry. Each abuse is refused by the S3 stand-in (which verifies SigV4 as S3 does) with S3's
 * error; after each, nothing is stored at the source key and the video still awaits its upload.
 * The honest PUT, sent last with the same URL, stores the bytes exactly; the URL then writes
 * nothing more (If-None-Match: * is signed into it, S3 answers 412), so the stored source stays
 * the one that was transcoded.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { createAwsClients } from '../../src/app/aws-clients.ts';
import { createVideoStorage } from '../../src/adapters/s3/video-storage.ts';
import { sourceKey } from '../../src/domain/storage-layout.ts';
import type { CreateUploadResponse } from '../../src/schemas/upload.ts';
import type { Video } from '../../src/schemas/video.ts';
import type { Problem } from '../../src/schemas/problem.ts';
import { callApi, startTestStack, waitForStatus } from '../helpers/stack.ts';
import { putThenDropConnection, rawRequest, s3Error } from '../helpers/s3-requests.ts';
import { makeClip } from '../helpers/media.ts';
import { singlePut } from '../helpers/uploads.ts';

const MAX_UPLOAD_BYTES = 1024 * 1024;
const stack = await startTestStack(t, { settings: { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) } });
const token = await stack.token('uploader');
const s3 = await createAwsClients(stack.config).s3();
const bucket = stack.config.BUCKET_NAME;

async function createUpload(sizeBytes: number, contentType = 'video/mp4') {
  const created = await callApi<CreateUploadResponse>(stack, 'POST', '/uploads', {
    token,
    body: { title: 'Upload abuse', filename: 'clip.mp4', contentType, sizeBytes },
  });
  if (created.status !== 201) throw new Error(`POST /uploads answered ${created.status}`);
  return created.body;
}

/** No object at the video's source key, and the video still awaits its upload. */
async function checkNothingStored(t: Test, videoId: string, label: string) {
  await stack.idle();
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: sourceKey(videoId) })).catch((error: unknown) => error);
  t.match(head, { $metadata: { httpStatusCode: 404 } }, `${label}: HeadObject 404 on the source key`);
  const video = await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token });
  t.equal(video.body.status, 'awaiting_upload', `${label}: video still awaiting_upload`);
}

// A real (short) video, so the honest upload at the end goes all the way to ready.
const file = await readFile(await makeClip({ seconds: 1, width: 320, height: 240, audio: false }));
const SIZE = file.length;
const target = await createUpload(SIZE);
const other = await createUpload(SIZE);
const targetPut = singlePut(target.upload);
const { url } = targetPut;
const headers = targetPut.headers;

t.test('the pre-signed PUT signs the key, the content type, the length and create-only', async (t) => {
  const signed = new URL(url).searchParams.get('X-Amz-SignedHeaders')?.split(';');
  t.same(signed, ['content-length', 'content-type', 'host', 'if-none-match']);
  t.same(headers, { 'Content-Type': 'video/mp4', 'If-None-Match': '*' });
});

t.test('every abuse of the pre-signed PUT is refused with S3 error and stores nothing', async (t) => {
  const put = (putUrl: string, body: Buffer, putHeaders: Record<string, string> = headers) =>
    fetch(putUrl, { method: 'PUT', headers: putHeaders, body: new Uint8Array(body) }).then(async (response) => ({
      status: response.status,
      body: await response.text(),
    }));
  const otherKeyUrl = url.replace(sourceKey(target.videoId), sourceKey(other.videoId));
  const streamKeyUrl = url.replace(sourceKey(target.videoId), `video-streams/${target.videoId}/master.m3u8`);
  const cases: Array<[string, () => Promise<{ status: number; body: string }>, number, string]> = [
    ['PUT to another video’s source key', () => put(otherKeyUrl, file), 403, 'SignatureDoesNotMatch'],
    ['PUT to a key under video-streams/', () => put(streamKeyUrl, file), 403, 'SignatureDoesNotMatch'],
    ['another Content-Type', () => put(url, file, { 'Content-Type': 'text/html' }), 403, 'SignatureDoesNotMatch'],
    ['no Content-Type', () => put(url, file, { 'If-None-Match': '*' }), 403, 'SignatureDoesNotMatch'],
    ['If-None-Match left out', () => put(url, file, { 'Content-Type': 'video/mp4' }), 403, 'SignatureDoesNotMatch'],
    ['If-None-Match naming an ETag', () => put(url, file, { ...headers, 'If-None-Match': '"0123"' }), 403, 'SignatureDoesNotMatch'],
    ['a body one byte larger', () => put(url, Buffer.concat([file, Buffer.from([0])])), 403, 'SignatureDoesNotMatch'],
    ['a body twice as large', () => put(url, Buffer.concat([file, file])), 403, 'SignatureDoesNotMatch'],
    ['a body over the upload limit', () => put(url, randomBytes(MAX_UPLOAD_BYTES + 1)), 403, 'SignatureDoesNotMatch'],
    ['a body one byte smaller', () => put(url, file.subarray(1)), 403, 'SignatureDoesNotMatch'],
    ['an empty body', () => put(url, Buffer.alloc(0)), 403, 'SignatureDoesNotMatch'],
    ['the signature stripped', () => put(url.split('?')[0]!, file), 403, 'AccessDenied'],
    ['an ACL and metadata added', () => put(url, file, { ...headers, 'x-amz-acl': 'public-read', 'x-amz-meta-title': 'x' }), 403, 'AccessDenied'],
    [
      'turned into a copy of another object',
      () => put(url, file, { ...headers, 'x-amz-copy-source': `/${bucket}/${sourceKey(other.videoId)}` }),
      403,
      'AccessDenied',
    ],
    ['a longer expiry written into the URL', () => put(url.replace(/X-Amz-Expires=\d+/, 'X-Amz-Expires=604800'), file), 403, 'SignatureDoesNotMatch'],
    ['used to DELETE', () => rawRequest(url, { method: 'DELETE' }), 403, 'SignatureDoesNotMatch'],
  ];
  for (const [label, send, status, code] of cases) {
    const response = await send();
    t.equal(response.status, status, `${label}: ${status}`);
    t.equal(s3Error(response.body).code, code, `${label}: ${code}`);
  }
  await checkNothingStored(t, target.videoId, 'target');
  await checkNothingStored(t, other.videoId, 'other video');
});

t.test('an upload whose connection drops mid-body stores nothing', async (t) => {
  await putThenDropConnection(url, { 'Content-Type': 'video/mp4', 'Content-Length': String(SIZE) }, file, SIZE - 1);
  await new Promise((resolve) => setTimeout(resolve, 200));
  await checkNothingStored(t, target.videoId, 'cut short');
});

t.test('a pre-signed PUT past its expiry is refused', async (t) => {
  // The API's TTL is at least 60 s; the same storage code signs with a 1-second one here.
  const storage = createVideoStorage({ s3, bucket });
  const expiring = await createUpload(SIZE);
  const shortLived = await storage.presignSourceUpload({
    videoId: expiring.videoId,
    contentType: 'video/mp4',
    sizeBytes: SIZE,
    expiresInSeconds: 1,
    now: new Date(),
  });
  await new Promise((resolve) => setTimeout(resolve, 2100));
  const response = await fetch(shortLived.url, { method: 'PUT', headers: shortLived.headers, body: file });
  const body = await response.text();
  t.equal(response.status, 403);
  t.match(s3Error(body), { code: 'AccessDenied', message: 'Request has expired' });
  await checkNothingStored(t, expiring.videoId, 'expired');
});

t.test('the upload size limit holds at POST /uploads', async (t) => {
  const response = await callApi<Problem>(stack, 'POST', '/uploads', {
    token,
    body: { title: 'Too big', filename: 'big.mp4', contentType: 'video/mp4', sizeBytes: MAX_UPLOAD_BYTES + 1 },
  });
  t.equal(response.status, 413);
});

t.test('the honest PUT with the same URL still works and stores the bytes exactly', async (t) => {
  const response = await fetch(url, { method: 'PUT', headers, body: file });
  t.equal(response.status, 200);
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: sourceKey(target.videoId) }));
  t.equal(object.ContentType, 'video/mp4');
  t.same(Buffer.from(await object.Body!.transformToByteArray()), file, 'byte for byte');
  // The upload notification still reaches the pipeline, and the video is transcoded.
  const { video } = await waitForStatus(stack, token, target.videoId, ['ready', 'failed']);
  t.equal(video.status, 'ready', JSON.stringify(video.error));
  await checkNothingStored(t, other.videoId, 'the other video');
});

t.test('the URL writes once: a second PUT, same bytes or others, answers 412 and changes nothing', async (t) => {
  const before = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: sourceKey(target.videoId) }));
  for (const [label, body] of [
    ['the same bytes', file],
    ['other bytes of the same length', randomBytes(SIZE)],
  ] as const) {
    const response = await fetch(url, { method: 'PUT', headers, body: new Uint8Array(body) });
    t.equal(response.status, 412, `${label}: 412`);
    t.match(s3Error(await response.text()), { code: 'PreconditionFailed' });
  }
  await stack.idle();
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: sourceKey(target.videoId) }));
  t.equal(object.ETag, before.ETag, 'the stored source is the one that was transcoded');
  t.same(Buffer.from(await object.Body!.transformToByteArray()), file);
  const video = await callApi<Video>(stack, 'GET', `/videos/${target.videoId}`, { token });
  t.equal(video.body.status, 'ready', 'no second transcode was started');
});
