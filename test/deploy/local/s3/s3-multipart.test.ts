/**
 * Multipart upload in the S3 stand-in (deploy/local/s3/s3-multipart.ts), driven as the API and the
 * browser will drive it: SDK v3 commands for create, list, complete and abort; pre-signed
 * UploadPart URLs PUT with fetch. Every answer is S3's: the object assembled byte for byte with
 * the `-N` ETag, one ObjectCreated:CompleteMultipartUpload notification, and S3's error codes for
 * part URLs used elsewhere, bodies that are not what was signed, parts too small, missing or out
 * of order, conditional completions and aborted uploads. Parts survive a restart; half-written
 * ones do not.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startLocalS3 } from '../../../../deploy/local/s3/s3-server.ts';
import { toAwsS3Event } from '../../../../deploy/local/s3/s3-notifications.ts';
import { MIN_PART_SIZE, MULTIPART_FOLDER } from '../../../../deploy/local/s3/s3-multipart.ts';
import { putExpectingContinue, putThenDropConnection, rawRequest, s3Error, standInS3Client, storedBytes } from '../../../helpers/s3-requests.ts';
import { loadServiceModel, validateOperationOutput } from '../../../helpers/aws-model.ts';

const BUCKET = 'multipart-test';
const REGION = 'us-east-1';
const ORIGIN = 'http://page.example';
const s3Model = loadServiceModel('s3');

interface Notification {
  eventName: string;
  s3: { bucket: { name: string }; object: { key: string; size?: number; eTag?: string } };
}

async function startStandIn(directory: string) {
  const localS3 = await startLocalS3({ directory, port: 0, bucket: BUCKET });
  const events: Array<{ Records: Notification[] }> = [];
  localS3.onEvent((event) => events.push(event));
  const s3 = standInS3Client(localS3.url);
  return { localS3, s3, events, records: (key: string) => events.flatMap((event) => event.Records).filter((record) => record.s3.object.key === key) };
}

const dir = await mkdtemp(path.join(tmpdir(), 's3-multipart-test-'));
const { localS3, s3, events, records } = await startStandIn(dir);
t.teardown(async () => {
  await localS3.close();
  await rm(dir, { recursive: true, force: true });
});

/** `size` bytes of a pattern that differs per part, so a part out of place changes the object. */
const partBytes = (partNumber: number, size: number) => Buffer.alloc(size, `part ${partNumber} of the test video; `);
const md5Hex = (data: Buffer) => createHash('md5').update(data).digest('hex');
const md5Base64 = (data: Buffer) => createHash('md5').update(data).digest('base64');
/** S3's ETag of an object made of these parts. */
const multipartETag = (parts: Buffer[]) => `"${md5Hex(Buffer.concat(parts.map((part) => createHash('md5').update(part).digest())))}-${parts.length}"`;

async function createUpload(key: string, client: S3Client = s3): Promise<string> {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key, ContentType: 'video/mp4' }));
  return UploadId!;
}

/** A pre-signed UploadPart URL as the API hands browsers: Content-Length signed, Content-MD5 when given. */
function presignPart(key: string, uploadId: string, partNumber: number, body: Buffer, options: { contentMd5?: string; client?: S3Client } = {}) {
  return getSignedUrl(
    options.client ?? s3,
    new UploadPartCommand({
      Bucket: BUCKET,
      Key: key,
      UploadId: uploadId,
      PartNumber: partNumber,
      ContentLength: body.length,
      ...(options.contentMd5 ? { ContentMD5: options.contentMd5 } : {}),
    }),
    { expiresIn: 300, signableHeaders: new Set(['content-length', ...(options.contentMd5 ? ['content-md5'] : [])]) },
  );
}

async function uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer, client: S3Client = s3): Promise<CompletedPart> {
  const { ETag } = await client.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body }));
  return { PartNumber: partNumber, ETag: ETag! };
}

const complete = (key: string, uploadId: string, parts: CompletedPart[], options: { ifNoneMatch?: string; client?: S3Client } = {}) =>
  (options.client ?? s3).send(
    new CompleteMultipartUploadCommand({
      Bucket: BUCKET,
      Key: key,
      UploadId: uploadId,
      MultipartUpload: { Parts: parts },
      ...(options.ifNoneMatch ? { IfNoneMatch: options.ifNoneMatch } : {}),
    }),
  );

const stored = (key: string, client: S3Client = s3) => storedBytes(client, BUCKET, key);

/** What the SDK parsed, checked against S3's API model (botocore), without the SDK's own $metadata. */
function modelProblems(operation: string, output: object): string[] {
  const { $metadata: _metadata, ...members } = output as Record<string, unknown>;
  // The SDK types the part number markers as strings; botocore's model, as integers.
  for (const name of ['PartNumberMarker', 'NextPartNumberMarker']) {
    if (typeof members[name] === 'string') members[name] = Number(members[name]);
  }
  return validateOperationOutput(s3Model, operation, members);
}

const uploadFolders = async (directory: string) => (await readdir(path.join(directory, MULTIPART_FOLDER)).catch(() => [])).sort();

t.test('a browser uploads parts with pre-signed URLs; completion assembles the object, with the -N ETag and one notification', async (t) => {
  const key = 'uploads/happy/source';
  const uploadId = (
    await s3.send(
      new CreateMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        ContentType: 'video/mp4',
        ContentDisposition: 'attachment; filename="holiday.mp4"',
        Metadata: { 'video-id': 'happy' },
      }),
    )
  ).UploadId!;
  t.match(uploadId, /^[A-Za-z0-9_-]+$/, 'an upload id');
  const parts = [partBytes(1, MIN_PART_SIZE), partBytes(2, MIN_PART_SIZE), partBytes(3, MIN_PART_SIZE), partBytes(4, 123_457)];

  const firstUrl = await presignPart(key, uploadId, 1, parts[0]!);
  const preflight = await rawRequest(firstUrl, {
    method: 'OPTIONS',
    headers: { origin: ORIGIN, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
  });
  t.equal(preflight.status, 200, 'the preflight of a part URL (query and all) passes');
  t.match(preflight.headers['access-control-allow-methods'], /PUT/);

  const completed: CompletedPart[] = [];
  for (const [index, body] of parts.entries()) {
    const url = index === 0 ? firstUrl : await presignPart(key, uploadId, index + 1, body);
    t.match(new URL(url).searchParams.get('X-Amz-SignedHeaders'), /^content-length;host$/, 'Content-Length is signed');
    const answer = await fetch(url, { method: 'PUT', headers: { origin: ORIGIN, 'content-type': 'application/octet-stream' }, body });
    t.equal(answer.status, 200, `part ${index + 1} stored`);
    t.equal(answer.headers.get('etag'), `"${md5Hex(body)}"`, "the part's ETag is its quoted MD5");
    t.equal(answer.headers.get('access-control-allow-origin'), '*', 'a cross-origin page may read the answer');
    t.match(answer.headers.get('access-control-expose-headers'), /ETag/, '... and its ETag header');
    completed.push({ PartNumber: index + 1, ETag: answer.headers.get('etag')! });
  }
  // A part the completion does not list is discarded, as S3 does.
  await uploadPart(key, uploadId, 7, partBytes(7, 1000));
  t.same(records(key), [], 'parts are not notified');

  const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
  t.same(
    listed.Parts?.map((part) => [part.PartNumber, part.ETag, part.Size]),
    [...completed.map((part, index) => [part.PartNumber, part.ETag, parts[index]!.length]), [7, `"${md5Hex(partBytes(7, 1000))}"`, 1000]],
    'ListParts shows every stored part',
  );
  t.ok(
    listed.Parts?.every((part) => part.LastModified instanceof Date),
    'with its LastModified',
  );

  const result = await complete(key, uploadId, completed, { ifNoneMatch: '*' });
  const etag = multipartETag(parts);
  t.match(result, { Bucket: BUCKET, Key: key, ETag: etag, Location: new RegExp(`/${BUCKET}/uploads/happy/source$`) });
  t.match(result.ETag, /^"[0-9a-f]{32}-4"$/, 'the ETag of an object assembled from 4 parts');
  t.same(modelProblems('CompleteMultipartUpload', result), [], "the result fits S3's model");

  t.same(await stored(key), Buffer.concat(parts), 'the object is the parts, in order');
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
  t.equal(head.ETag, etag, 'HEAD gives the multipart ETag');
  t.equal(head.ContentLength, 3 * MIN_PART_SIZE + 123_457);
  t.equal(head.ContentType, 'video/mp4', 'the Content-Type given at creation');
  t.equal(head.ContentDisposition, 'attachment; filename="holiday.mp4"');
  t.same(head.Metadata, { 'video-id': 'happy' }, 'and the metadata');
  const range = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: `bytes=${MIN_PART_SIZE - 5}-${MIN_PART_SIZE + 4}` }));
  t.same(
    Buffer.from(await range.Body!.transformToByteArray()),
    Buffer.concat(parts).subarray(MIN_PART_SIZE - 5, MIN_PART_SIZE + 5),
    'a range across two parts',
  );

  const notified = records(key);
  t.equal(notified.length, 1, 'exactly one notification');
  t.match(notified[0], { eventName: 'ObjectCreated:CompleteMultipartUpload', s3: { object: { key, size: head.ContentLength, eTag: etag.replace(/"/g, '') } } });
  const notification = events.find((event) => event.Records.some((record) => record.s3.object.key === key))!;
  const aws = toAwsS3Event(notification as unknown as Parameters<typeof toAwsS3Event>[0], REGION);
  t.match(
    aws?.Records,
    [
      {
        eventVersion: '2.1',
        eventName: 'ObjectCreated:CompleteMultipartUpload',
        s3: { object: { key, size: head.ContentLength, eTag: etag.replace(/"/g, '') } },
      },
    ],
    "in S3's notification shape",
  );

  await t.rejects(
    s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId })),
    { name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } },
    'the upload is gone',
  );
  t.same(await uploadFolders(dir), [], 'with every part, the unlisted one too');
  t.same(
    (await s3.send(new ListBucketsCommand({}))).Buckets?.map((bucket) => bucket.Name),
    [BUCKET],
    'the store is no bucket',
  );
  await t.rejects(s3.send(new PutObjectCommand({ Bucket: MULTIPART_FOLDER, Key: 'planted', Body: 'x' })), { name: 'NoSuchBucket' }, 'and takes no object');

  const single = 'uploads/single/source';
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: single, Body: 'one PUT' }));
  t.match(
    records(single),
    [{ eventName: 'ObjectCreated:Put', s3: { object: { eTag: md5Hex(Buffer.from('one PUT')) } } }],
    'a single PUT stays ObjectCreated:Put',
  );
});

t.test('ListParts pages with MaxParts and PartNumberMarker; a part uploaded again replaces the first', async (t) => {
  const key = 'list-parts/source';
  const uploadId = await createUpload(key);
  for (const partNumber of [8, 1, 3, 2, 5]) await uploadPart(key, uploadId, partNumber, partBytes(partNumber, 100 + partNumber));
  const replaced = await uploadPart(key, uploadId, 2, partBytes(22, 222));

  const pages: number[][] = [];
  let marker: string | undefined;
  for (;;) {
    const page = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, MaxParts: 2, PartNumberMarker: marker }));
    t.same(modelProblems('ListParts', page), [], "each page fits S3's model");
    t.match(page, { Bucket: BUCKET, Key: key, UploadId: uploadId, MaxParts: 2, StorageClass: 'STANDARD' });
    pages.push(page.Parts!.map((part) => part.PartNumber!));
    if (!page.IsTruncated) break;
    marker = page.NextPartNumberMarker;
  }
  t.same(pages, [[1, 2], [3, 5], [8]], 'three pages in part number order');
  const all = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
  t.equal(all.MaxParts, 1000, 'MaxParts is 1000 by default');
  t.equal(all.IsTruncated, false);
  t.match(
    all.Parts?.find((part) => part.PartNumber === 2),
    { ETag: replaced.ETag, Size: 222 },
    'part 2 is the second upload',
  );

  for (const partNumber of [0, 10_001]) {
    await t.rejects(
      uploadPart(key, uploadId, partNumber, Buffer.from('x')),
      { name: 'InvalidArgument', $metadata: { httpStatusCode: 400 } },
      `part number ${partNumber} is refused`,
    );
  }
  await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
});

t.test("a part URL works only for its upload, key and part number; another upload's id is NoSuchUpload", async (t) => {
  const key = 'part-urls/source';
  const uploadA = await createUpload(key);
  const uploadB = await createUpload(key);
  const body = partBytes(2, 4096);
  const urlA2 = await presignPart(key, uploadA, 2, body);
  const put = (url: string, bytes: Buffer = body) => rawRequest(url, { method: 'PUT', headers: { 'content-length': String(bytes.length) }, body: bytes });
  const withParam = (url: string, name: string, value: string) => {
    const changed = new URL(url);
    changed.searchParams.set(name, value);
    return changed.toString();
  };

  const cases: Array<[string, string, Buffer?]> = [
    ["upload A's URL with upload B's id", withParam(urlA2, 'uploadId', uploadB)],
    ['the URL of part 2 used as part 3', withParam(urlA2, 'partNumber', '3')],
    ['the URL used for another key', urlA2.replace('/part-urls/source', '/part-urls/other')],
    ['a body of another length than the signed Content-Length', urlA2, partBytes(2, 4097)],
  ];
  for (const [label, url, bytes] of cases) {
    const answer = await put(url, bytes);
    t.equal(answer.status, 403, `${label}: 403`);
    t.equal(s3Error(answer.body).code, 'SignatureDoesNotMatch', `${label}: SignatureDoesNotMatch`);
  }
  for (const uploadId of [uploadA, uploadB]) {
    const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
    t.same(listed.Parts ?? [], [], 'no part was stored');
  }

  // Correctly signed, but naming an upload of another key, or none.
  const otherKey = await rawRequest(await presignPart('part-urls/other', uploadA, 2, body), {
    method: 'PUT',
    headers: { 'content-length': String(body.length) },
    body,
  });
  t.equal(otherKey.status, 404);
  t.match(s3Error(otherKey.body), { code: 'NoSuchUpload', message: /upload does not exist/ }, "an upload id is no use for another key's parts");
  await t.rejects(uploadPart(key, 'no-such-upload', 1, body), { name: 'NoSuchUpload', $metadata: { httpStatusCode: 404 } }, 'an unknown upload id');
  await t.rejects(
    s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: 'part-urls/other', UploadId: uploadA })),
    { name: 'NoSuchUpload' },
    'ListParts under another key',
  );

  // As S3 does, a part for no upload is refused before its body is asked for.
  const expecting = (url: string) => putExpectingContinue(url, {}, body);
  const uploadC = await createUpload(key);
  const urlC1 = await presignPart(key, uploadC, 1, body);
  await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadC }));
  t.same(await expecting(urlC1), { status: 404, continued: false }, 'Expect: 100-continue: NoSuchUpload before the body');
  t.same(await expecting(await presignPart(key, uploadA, 3, body)), { status: 200, continued: true }, 'and a good part is continued');

  t.equal((await put(urlA2)).status, 200, 'the URL as signed still works');
  t.same(
    (await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadA }))).Parts?.map((part) => part.PartNumber),
    [2, 3],
  );
  t.same((await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadB }))).Parts ?? [], [], "upload B's parts untouched");
  for (const uploadId of [uploadA, uploadB]) await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
});

t.test('a part whose bytes are not what was declared is not stored: Content-MD5 mismatch, invalid Content-MD5, cut short', async (t) => {
  const key = 'part-bodies/source';
  const uploadId = await createUpload(key);
  const body = partBytes(1, 64 * 1024);
  const other = Buffer.from(body);
  other.writeUInt8(other.readUInt8(other.length - 1) ^ 0xff, other.length - 1);

  const url = await presignPart(key, uploadId, 1, body, { contentMd5: md5Base64(body) });
  t.match(new URL(url).searchParams.get('X-Amz-SignedHeaders'), /^content-length;content-md5;host$/);
  const mismatch = await fetch(url, { method: 'PUT', headers: { 'content-md5': md5Base64(body) }, body: other });
  t.equal(mismatch.status, 400);
  const mismatchError = await mismatch.text();
  t.match(s3Error(mismatchError), { code: 'BadDigest', message: 'The Content-MD5 you specified did not match what we received.' });
  t.match(mismatchError, `<CalculatedDigest>${md5Base64(other)}</CalculatedDigest>`);

  await t.rejects(
    s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: 1, Body: body, ContentMD5: 'not an md5' })),
    { name: 'InvalidDigest', $metadata: { httpStatusCode: 400 } },
    'a Content-MD5 that is no MD5',
  );
  await putThenDropConnection(await presignPart(key, uploadId, 1, body), { 'Content-Length': String(body.length) }, body, body.length - 1);
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.same((await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }))).Parts ?? [], [], 'no part stored');
  const uploadFiles = await readdir(path.join(dir, MULTIPART_FOLDER, uploadId));
  t.same(uploadFiles, ['upload.json'], 'and no part data left behind');

  // A client left at the SDK's default checksum setting: its pre-signed URL carries the CRC32 of
  // an empty body, which S3 refuses; its own UploadPart sends the right CRC32, which S3 accepts.
  const defaults = new S3Client({
    region: REGION,
    endpoint: localS3.url,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    maxAttempts: 1,
  });
  const defaultUrl = await getSignedUrl(
    defaults,
    new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: 1, ContentLength: body.length }),
    {
      expiresIn: 300,
      signableHeaders: new Set(['content-length']),
    },
  );
  t.match(new URL(defaultUrl).search, /x-amz-checksum-crc32=/, 'the default presigner adds a CRC32');
  const wrongCrc = await fetch(defaultUrl, { method: 'PUT', body });
  t.equal(wrongCrc.status, 400);
  t.match(s3Error(await wrongCrc.text()), { code: 'BadDigest', message: 'The CRC32 you specified did not match the calculated checksum.' });
  const withCrc = await defaults.send(new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId, PartNumber: 9, Body: body }));
  t.equal(withCrc.ETag, `"${md5Hex(body)}"`, "the SDK's correct CRC32 is accepted");
  await t.rejects(
    s3.send(
      new UploadPartCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId: uploadId,
        PartNumber: 9,
        Body: body,
        ChecksumSHA256: createHash('sha256').update(other).digest('base64'),
      }),
    ),
    { name: 'BadDigest', message: /SHA256/ },
    'a SHA-256 of other bytes',
  );

  const good = await fetch(url, { method: 'PUT', headers: { 'content-md5': md5Base64(body) }, body });
  t.equal(good.status, 200, 'the right bytes with their MD5 are stored');
  t.equal(good.headers.get('etag'), `"${md5Hex(body)}"`);
  await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
});

t.test('completion checks the list as S3 does: EntityTooSmall, InvalidPart, InvalidPartOrder, MalformedXML; the upload stays', async (t) => {
  const key = 'uploads/checks/source';
  const uploadId = await createUpload(key);
  const small = await uploadPart(key, uploadId, 1, partBytes(1, MIN_PART_SIZE - 1));
  const last = await uploadPart(key, uploadId, 2, partBytes(2, 10));
  const eventsBefore = events.length;

  const tooSmall = await complete(key, uploadId, [small, last]).catch((error: unknown) => error);
  t.match(
    tooSmall,
    { name: 'EntityTooSmall', $metadata: { httpStatusCode: 400 }, message: 'Your proposed upload is smaller than the minimum allowed size' },
    'every part but the last is at least 5 MiB',
  );
  t.match(tooSmall, { ProposedSize: String(MIN_PART_SIZE - 1), MinSizeAllowed: String(MIN_PART_SIZE), PartNumber: '1' });
  const big = await uploadPart(key, uploadId, 1, partBytes(1, MIN_PART_SIZE));

  const refusals: Array<[string, CompletedPart[], string]> = [
    ['a wrong ETag', [big, { PartNumber: 2, ETag: `"${md5Hex(Buffer.from('other'))}"` }], 'InvalidPart'],
    ['the ETag of the part that was replaced', [small, last], 'InvalidPart'],
    ['a part never uploaded', [big, last, { PartNumber: 3, ETag: last.ETag! }], 'InvalidPart'],
    ['parts out of order', [last, big], 'InvalidPartOrder'],
    ['a part listed twice', [big, big, last], 'InvalidPartOrder'],
    ['no part at all', [], 'MalformedXML'],
  ];
  for (const [label, parts, code] of refusals) {
    await t.rejects(complete(key, uploadId, parts), { name: code, $metadata: { httpStatusCode: 400 } }, `${label}: ${code}`);
  }
  t.equal(await stored(key), undefined, 'no object');
  t.equal(events.length, eventsBefore, 'no notification');
  t.equal((await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }))).Parts?.length, 2, 'the upload and its parts remain');

  // S3 ignores the quotes of the ETags it is given.
  const result = await complete(key, uploadId, [{ PartNumber: 1, ETag: big.ETag!.replace(/"/g, '') }, last]);
  t.equal(result.ETag, multipartETag([partBytes(1, MIN_PART_SIZE), partBytes(2, 10)]));
  t.same(await stored(key), Buffer.concat([partBytes(1, MIN_PART_SIZE), partBytes(2, 10)]));
  t.match(records(key), [{ eventName: 'ObjectCreated:CompleteMultipartUpload', s3: { object: { size: MIN_PART_SIZE + 10 } } }]);
});

t.test('a one-part upload of any size completes', async (t) => {
  const key = 'one-part/source';
  const uploadId = await createUpload(key);
  const part = await uploadPart(key, uploadId, 1, Buffer.from('tiny'));
  const result = await complete(key, uploadId, [part]);
  t.equal(result.ETag, multipartETag([Buffer.from('tiny')]));
  t.same(await stored(key), Buffer.from('tiny'));
});

t.test('AbortMultipartUpload removes the upload and its parts; later parts are NoSuchUpload', async (t) => {
  const key = 'abort/source';
  const uploadId = await createUpload(key);
  await uploadPart(key, uploadId, 1, partBytes(1, 2048));
  const url = await presignPart(key, uploadId, 2, partBytes(2, 2048));
  const aborted = await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
  t.equal(aborted.$metadata.httpStatusCode, 204);
  t.notOk((await uploadFolders(dir)).includes(uploadId), 'its folder is gone');
  await t.rejects(s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId })), {
    name: 'NoSuchUpload',
    $metadata: { httpStatusCode: 404 },
  });
  const late = await fetch(url, { method: 'PUT', body: partBytes(2, 2048) });
  t.equal(late.status, 404, 'a part URL handed out before is refused');
  t.equal(s3Error(await late.text()).code, 'NoSuchUpload');
  await t.rejects(s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId })), { name: 'NoSuchUpload' }, 'aborting twice');
  await t.rejects(complete(key, uploadId, [{ PartNumber: 1, ETag: '"x"' }]), { name: 'NoSuchUpload' }, 'completing an aborted upload');
  t.equal(await stored(key), undefined);
});

t.test('ListMultipartUploads lists uploads in progress by key then initiation, pages, and forgets completed and aborted ones', async (t) => {
  const created: Array<[string, string]> = [];
  for (const key of ['lmu/b', 'lmu/a', 'lmu/b', 'lmu/c', 'elsewhere/a']) {
    created.push([key, await createUpload(key)]);
    await new Promise((resolve) => setTimeout(resolve, 5)); // distinct initiation times
  }
  const expected = created.filter(([key]) => key.startsWith('lmu/')).sort(([a], [b]) => a.localeCompare(b));
  const all = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'lmu/' }));
  t.same(modelProblems('ListMultipartUploads', all), [], "the answer fits S3's model");
  t.same(
    all.Uploads?.map((upload) => [upload.Key, upload.UploadId]),
    expected,
    'by key, then initiation time, under the prefix',
  );
  t.match(all.Uploads?.[0], { StorageClass: 'STANDARD', Initiated: Date, Initiator: { ID: String }, Owner: { ID: String } });
  t.equal(all.IsTruncated, false);

  const pages: Array<Array<[string, string]>> = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'lmu/', MaxUploads: 2, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
    );
    pages.push(page.Uploads!.map((upload) => [upload.Key!, upload.UploadId!]));
    if (!page.IsTruncated) break;
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
  }
  t.same(pages, [expected.slice(0, 2), expected.slice(2)], 'two pages, the two uploads of lmu/b split across them');

  const [completedKey, completedId] = expected[0]!;
  await complete(completedKey, completedId, [await uploadPart(completedKey, completedId, 1, Buffer.from('done'))]);
  const [abortedKey, abortedId] = expected[1]!;
  await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: abortedKey, UploadId: abortedId }));
  const after = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'lmu/' }));
  t.same(
    after.Uploads?.map((upload) => [upload.Key, upload.UploadId]),
    expected.slice(2),
    'the completed and the aborted upload are no longer listed',
  );
  await t.rejects(s3.send(new ListMultipartUploadsCommand({ Bucket: 'no-such-bucket' })), { name: 'NoSuchBucket', $metadata: { httpStatusCode: 404 } });
  for (const [key, uploadId] of [...expected.slice(2), created.at(-1)!])
    await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
});

t.test('CompleteMultipartUpload with If-None-Match: * answers 412 when the object exists, and keeps the upload', async (t) => {
  const key = 'uploads/exists/source';
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'the first upload' }));
  const uploadId = await createUpload(key);
  const part = await uploadPart(key, uploadId, 1, partBytes(1, 100));
  const eventsBefore = records(key).length;
  const refused = await complete(key, uploadId, [part], { ifNoneMatch: '*' }).catch((error: unknown) => error);
  t.match(refused, { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 }, Condition: 'If-None-Match' });
  t.same(await stored(key), Buffer.from('the first upload'), 'the object is unchanged');
  t.equal(records(key).length, eventsBefore, 'no notification');
  t.equal((await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }))).Parts?.length, 1, 'the upload remains');

  // Two uploads of a new key racing to complete create-only: exactly one wins.
  const raced = 'uploads/raced/source';
  const uploads = await Promise.all(
    [1, 2, 3].map(async (n) => {
      const id = await createUpload(raced);
      return { id, part: await uploadPart(raced, id, 1, partBytes(n, 1000)), bytes: partBytes(n, 1000) };
    }),
  );
  const outcomes = await Promise.all(
    uploads.map(({ id, part }) =>
      complete(raced, id, [part], { ifNoneMatch: '*' }).then(
        () => 200,
        (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode,
      ),
    ),
  );
  t.same(outcomes.filter((status) => status === 200).length, 1, `one completion of three won (${outcomes.join(', ')})`);
  t.same(outcomes.filter((status) => status === 412).length, 2);
  t.same(await stored(raced), uploads[outcomes.indexOf(200)]!.bytes);
  t.equal(records(raced).length, 1, 'one notification');

  await complete(key, uploadId, [part]);
  t.same(await stored(key), partBytes(1, 100), 'without the condition the completion replaces the object, as S3 does');
  for (const [index, { id }] of uploads.entries())
    if (outcomes[index] !== 200) await s3.send(new AbortMultipartUploadCommand({ Bucket: BUCKET, Key: raced, UploadId: id }));
});

t.test('stored parts survive a restart of the stand-in; a part write cut by a crash does not', async (t) => {
  const restartDir = await mkdtemp(path.join(tmpdir(), 's3-multipart-restart-'));
  t.teardown(() => rm(restartDir, { recursive: true, force: true }));
  const key = 'uploads/resumed/source';
  const parts = [partBytes(1, MIN_PART_SIZE), partBytes(2, MIN_PART_SIZE), partBytes(3, 777)];

  const first = await startStandIn(restartDir);
  const uploadId = await createUpload(key, first.s3);
  const part1 = await uploadPart(key, uploadId, 1, parts[0]!, first.s3);
  await first.localS3.close();

  // What a SIGKILL mid-write leaves: part 2's data half written, never recorded; a record's
  // temporary file; a removed upload's folder; an upload folder whose record was never written.
  const uploadPath = path.join(restartDir, MULTIPART_FOLDER, uploadId);
  await writeFile(path.join(uploadPath, `2-${randomUUID()}.data`), parts[1]!.subarray(0, 1000));
  await writeFile(path.join(uploadPath, `2.json.partial-${randomUUID()}`), '{"partNumber":2');
  await mkdir(path.join(restartDir, MULTIPART_FOLDER, `.removed-${randomUUID()}`));
  await mkdir(path.join(restartDir, MULTIPART_FOLDER, 'x'.repeat(48)));

  const second = await startStandIn(restartDir);
  t.teardown(() => second.localS3.close());
  t.same(await uploadFolders(restartDir), [uploadId], 'only the real upload remains');
  t.same((await readdir(uploadPath)).filter((name) => !name.startsWith('1')).sort(), ['upload.json'], 'the interrupted writes are gone');
  const listed = await second.s3.send(new ListPartsCommand({ Bucket: BUCKET, Key: key, UploadId: uploadId }));
  t.same(
    listed.Parts?.map((part) => [part.PartNumber, part.ETag, part.Size]),
    [[1, part1.ETag, MIN_PART_SIZE]],
    'part 1 is kept, part 2 was never stored',
  );
  t.same(
    (await second.s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads?.map((upload) => upload.UploadId),
    [uploadId],
    'the upload is still listed',
  );

  // The client resumes: uploads what ListParts does not show, then completes.
  const part2 = await uploadPart(key, uploadId, 2, parts[1]!, second.s3);
  const part3 = await uploadPart(key, uploadId, 3, parts[2]!, second.s3);
  const result = await complete(key, uploadId, [part1, part2, part3], { client: second.s3, ifNoneMatch: '*' });
  t.equal(result.ETag, multipartETag(parts));
  t.same(await stored(key, second.s3), Buffer.concat(parts), 'the resumed upload assembled byte for byte');
  t.match(second.records(key), [{ eventName: 'ObjectCreated:CompleteMultipartUpload', s3: { object: { size: 2 * MIN_PART_SIZE + 777 } } }]);
});

t.test("the crash point after-upload-200 fires once a source's CompleteMultipartUpload is answered, not before", async (t) => {
  const crashDir = await mkdtemp(path.join(tmpdir(), 's3-multipart-crash-'));
  t.teardown(() => rm(crashDir, { recursive: true, force: true }));
  const serverModule = fileURLToPath(new URL('../../../../deploy/local/s3/s3-server.ts', import.meta.url));
  const script = `import { startLocalS3 } from ${JSON.stringify(serverModule)};
    const s3 = await startLocalS3({ directory: process.argv[1], port: 0, bucket: ${JSON.stringify(BUCKET)} });
    console.log(s3.url);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, crashDir], {
    env: { ...process.env, VOD_CRASH_AT: 'after-upload-200' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = once(child, 'exit');
  const [firstLine] = (await once(child.stdout, 'data')) as [Buffer];
  const client = new S3Client({
    region: REGION,
    endpoint: firstLine.toString().trim(),
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
  const key = 'uploads/crash/source';
  const uploadId = await createUpload(key, client);
  const part = await uploadPart(key, uploadId, 1, partBytes(1, 1000), client);
  t.equal(child.signalCode, null, 'creating the upload and storing a part do not crash');
  const result = await complete(key, uploadId, [part], { client, ifNoneMatch: '*' });
  t.equal(result.ETag, multipartETag([partBytes(1, 1000)]), 'the client got the 200');
  const signal = await Promise.race([
    exited.then(([, exitSignal]) => exitSignal as string | null),
    new Promise<string>((resolve) => setTimeout(() => resolve('still running after 5 s'), 5000).unref()),
  ]);
  t.equal(signal, 'SIGKILL', 'then the stand-in died');

  const restarted = await startStandIn(crashDir);
  t.teardown(() => restarted.localS3.close());
  t.same(await stored(key, restarted.s3), partBytes(1, 1000), 'the object was durable');
  t.same((await restarted.s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET }))).Uploads ?? [], [], 'and the upload gone');
});
