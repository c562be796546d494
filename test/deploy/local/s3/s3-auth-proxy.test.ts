/**
 * The S3 stand-in's verifying front (deploy/local/s3/s3-auth-proxy.ts) as startLocalS3 runs it,
 * in front of a real s3rver: the SDK's requests and pre-signed URLs work; anonymous, forged,
 * tampered, expired and future-dated requests get S3's error codes; a body that is not what was
 * signed stores nothing. A second front, before a recording server, shows refused requests are
 * never forwarded at all.
 */
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startLocalS3 } from '../../../../deploy/local/s3/s3-server.ts';
import { startS3AuthProxy } from '../../../../deploy/local/s3/s3-auth-proxy.ts';
import {
  putExpectingContinue,
  putThenDropConnection,
  rawRequest,
  s3Error,
  sha256Hex,
  signRequest,
  standInS3Client,
  storedBytes,
} from '../../../helpers/s3-requests.ts';

const BUCKET = 'auth-test';
const REGION = 'us-east-1';

const dir = await mkdtemp(path.join(tmpdir(), 's3-auth-proxy-test-'));
const localS3 = await startLocalS3({ directory: dir, port: 0, bucket: BUCKET });
const events: Array<{ eventName: string; key: string }> = [];
localS3.onEvent((event) => {
  for (const record of event.Records as Array<{ eventName: string; s3: { object: { key: string } } }>) {
    events.push({ eventName: record.eventName, key: record.s3.object.key });
  }
});
t.teardown(async () => {
  await localS3.close();
  await rm(dir, { recursive: true, force: true });
});

function client(overrides: Partial<S3ClientConfig> = {}): S3Client {
  return standInS3Client(localS3.url, { region: REGION, ...overrides });
}
const s3 = client();
const objectUrl = (key: string) => `${localS3.url}/${BUCKET}/${key.split('/').map(encodeURIComponent).join('/')}`;

const stored = (key: string) => storedBytes(s3, BUCKET, key);

async function presignPut(key: string, body: Buffer, options: { signingDate?: Date; expiresIn?: number } = {}) {
  return getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: key, ContentType: 'video/mp4', ContentLength: body.length }), {
    expiresIn: options.expiresIn ?? 300,
    signableHeaders: new Set(['content-type', 'content-length']),
    ...(options.signingDate ? { signingDate: options.signingDate } : {}),
  });
}

t.test('SDK requests work through the front: put, get, head, list with pagination, delete, multipart', async (t) => {
  const key = 'sdk/a key with spaces/ünïcödé+plus.bin';
  const body = randomBytes(100_000);
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, ContentType: 'application/octet-stream' }));
  t.same(await stored(key), body, 'stored byte for byte, odd key included');
  const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
  t.equal(head.ContentLength, body.length);
  const range = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key, Range: 'bytes=10-19' }));
  t.same(Buffer.from(await range.Body!.transformToByteArray()), body.subarray(10, 20), 'ranged GET');

  for (let i = 0; i < 5; i++) {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `sdk/list/${i}`, Body: `item ${i}` }));
  }
  const listed: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'sdk/list/', MaxKeys: 2, ContinuationToken: token }));
    listed.push(...(page.Contents ?? []).map((object) => object.Key!));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    pages++;
  } while (token);
  t.same(listed, ['sdk/list/0', 'sdk/list/1', 'sdk/list/2', 'sdk/list/3', 'sdk/list/4']);
  t.equal(pages, 3, 'three pages of two');

  await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'sdk/list/0' }));
  await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: 'sdk/list/1' }, { Key: 'sdk/list/2' }] } }));
  const after = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'sdk/list/' }));
  t.same(
    after.Contents?.map((object) => object.Key),
    ['sdk/list/3', 'sdk/list/4'],
    'DeleteObject and DeleteObjects',
  );

  const multipartKey = 'sdk/multipart.bin';
  const parts = [randomBytes(5 * 1024 * 1024), randomBytes(1234)];
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: multipartKey }));
  const etags = [];
  for (const [index, part] of parts.entries()) {
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: multipartKey, UploadId, PartNumber: index + 1, Body: part }));
    etags.push({ ETag, PartNumber: index + 1 });
  }
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: multipartKey, UploadId, MultipartUpload: { Parts: etags } }));
  t.same(await stored(multipartKey), Buffer.concat(parts), 'multipart upload assembled');
  t.ok(
    events.some((event) => event.key === key && event.eventName.startsWith('ObjectCreated')),
    'notifications still flow',
  );
  t.ok(
    events.some((event) => event.key === multipartKey),
    'multipart completion notified',
  );
});

t.test('pre-signed URLs work, and a browser preflight passes unauthenticated with the CORS answer', async (t) => {
  const body = randomBytes(4096);
  const url = await presignPut('presigned/source', body);
  t.match(new URL(url).searchParams.get('X-Amz-SignedHeaders'), /content-length;content-type;host/, 'length and type are signed');
  const preflight = await rawRequest(url, {
    method: 'OPTIONS',
    headers: { origin: 'http://page.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
  });
  t.equal(preflight.status, 200, 'OPTIONS needs no signature');
  t.equal(preflight.headers['access-control-allow-origin'], '*');
  t.match(preflight.headers['access-control-allow-methods'], /PUT/);
  const put = await fetch(url, { method: 'PUT', headers: { 'content-type': 'video/mp4', origin: 'http://page.example' }, body });
  t.equal(put.status, 200);
  t.equal(put.headers.get('access-control-allow-origin'), '*', "s3rver's CORS headers pass through");
  t.same(await stored('presigned/source'), body);
  const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: BUCKET, Key: 'presigned/source' }), { expiresIn: 60 });
  const got = await fetch(getUrl, { headers: { range: 'bytes=0-99' } });
  t.equal(got.status, 206);
  t.same(Buffer.from(await got.arrayBuffer()), body.subarray(0, 100), 'pre-signed ranged GET, as ffmpeg reads sources');
});

t.test('refuses what S3 refuses, with its status and error code, and stores nothing', async (t) => {
  const body = randomBytes(2048);
  const key = 'refused/source';
  const url = await presignPut(key, body);
  const putHeaders = { 'content-type': 'video/mp4', 'content-length': String(body.length) };
  const withParam = (base: string, name: string, value: string) => {
    const changed = new URL(base);
    changed.searchParams.set(name, value);
    return changed.toString();
  };
  const flipLastHex = (signature: string) => signature.slice(0, -1) + (signature.endsWith('0') ? '1' : '0');
  const signatureOf = (base: string) => new URL(base).searchParams.get('X-Amz-Signature')!;
  const hourAgo = new Date(Date.now() - 3600_000);
  /** The body PUT to `target` with `headers`, by default those the pre-signed URL was made for. */
  const put = (target: string, headers: http.OutgoingHttpHeaders = putHeaders) => rawRequest(target, { method: 'PUT', headers, body });
  /** The body PUT to the key's plain URL, signed in an Authorization header as `signing` says. */
  const headerSignedPut = async (signing: { headers: Record<string, string>; signingDate?: Date; service?: string }) =>
    put(objectUrl(key), await signRequest({ url: objectUrl(key), method: 'PUT', ...signing }));
  const unsignedPayload = { ...putHeaders, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };

  const cases: Array<[string, () => Promise<{ status: number; body: string; headers?: http.IncomingHttpHeaders }>, number, string, RegExp?]> = [
    ['an anonymous PUT', () => put(objectUrl(key)), 403, 'AccessDenied', /^Access Denied$/],
    ['a tampered signature', () => put(withParam(url, 'X-Amz-Signature', flipLastHex(signatureOf(url)))), 403, 'SignatureDoesNotMatch'],
    ['a tampered query parameter', () => put(withParam(url, 'X-Amz-Expires', '600')), 403, 'SignatureDoesNotMatch'],
    ['an added query parameter', () => put(withParam(url, 'response-content-type', 'text/html')), 403, 'SignatureDoesNotMatch'],
    ['a URL signed for another key', () => put(url.replace('/refused/source', '/refused/other')), 403, 'SignatureDoesNotMatch'],
    ['another method', () => rawRequest(url, { method: 'DELETE' }), 403, 'SignatureDoesNotMatch'],
    ['a signed header left out', () => put(url, { 'content-length': String(body.length) }), 403, 'SignatureDoesNotMatch'],
    [
      'an unsigned x-amz-* header added',
      () => put(url, { ...putHeaders, 'x-amz-acl': 'public-read', 'x-amz-meta-owner': 'mallory' }),
      403,
      'AccessDenied',
      /headers present in the request which were not signed/,
    ],
    ['an expired URL', async () => put(await presignPut(key, body, { signingDate: hourAgo, expiresIn: 60 })), 403, 'AccessDenied', /^Request has expired$/],
    [
      'a URL dated a day ahead',
      async () => put(await presignPut(key, body, { signingDate: new Date(Date.now() + 86400_000), expiresIn: 60 })),
      403,
      'AccessDenied',
      /^Request is not yet valid$/,
    ],
    ['X-Amz-Expires over a week', () => put(withParam(url, 'X-Amz-Expires', '604801')), 400, 'AuthorizationQueryParametersError', /less than a week/],
    [
      'a credential for another service',
      () => put(withParam(url, 'X-Amz-Credential', new URL(url).searchParams.get('X-Amz-Credential')!.replace('/s3/', '/sqs/'))),
      400,
      'AuthorizationQueryParametersError',
      /incorrect service/,
    ],
    [
      'an unknown access key (pre-signed)',
      () => put(withParam(url, 'X-Amz-Credential', new URL(url).searchParams.get('X-Amz-Credential')!.replace('S3RVER', 'AKIAOTHER'))),
      403,
      'InvalidAccessKeyId',
    ],
    [
      'a host that is not signed',
      async () => {
        const signed = new URL(url);
        signed.searchParams.set('X-Amz-SignedHeaders', 'content-length;content-type');
        return put(signed.toString());
      },
      403,
      'AccessDenied',
      /not signed/,
    ],
    [
      'header auth dated an hour ago',
      () => headerSignedPut({ signingDate: hourAgo, headers: { ...putHeaders, 'x-amz-content-sha256': sha256Hex(body) } }),
      403,
      'RequestTimeTooSkewed',
    ],
    [
      'header auth without x-amz-content-sha256',
      async () => {
        const headers = await signRequest({ url: objectUrl(key), method: 'PUT', headers: unsignedPayload });
        delete headers['x-amz-content-sha256'];
        return put(objectUrl(key), headers);
      },
      400,
      'InvalidRequest',
      /x-amz-content-sha256/,
    ],
    ['header auth scoped to another service', () => headerSignedPut({ service: 'sqs', headers: unsignedPayload }), 400, 'AuthorizationHeaderMalformed'],
    [
      'Signature Version 2',
      () => put(objectUrl(key), { ...putHeaders, authorization: 'AWS S3RVER:c2lnbmF0dXJl', date: new Date().toUTCString() }),
      400,
      'InvalidRequest',
      /AWS4-HMAC-SHA256/,
    ],
    [
      'two auth mechanisms at once',
      async () => put(url, await signRequest({ url: objectUrl(key), method: 'PUT', headers: unsignedPayload })),
      400,
      'InvalidArgument',
      /Only one auth mechanism/,
    ],
    [
      'an aws-chunked body',
      () =>
        headerSignedPut({
          headers: {
            ...putHeaders,
            'content-encoding': 'aws-chunked',
            'x-amz-content-sha256': 'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
            'x-amz-decoded-content-length': String(body.length),
          },
        }),
      501,
      'NotImplemented',
      /WHEN_REQUIRED/,
    ],
  ];
  const eventsBefore = events.length;
  for (const [label, send, status, code, message] of cases) {
    const response = await send();
    t.equal(response.status, status, `${label}: ${status}`);
    t.equal(s3Error(response.body).code, code, `${label}: ${code}`);
    if (message) t.match(s3Error(response.body).message, message, `${label}: message`);
    t.match(response.headers?.['content-type'], /application\/xml/);
  }
  t.equal(await stored(key), undefined, 'nothing stored at the key');
  t.equal(await stored('refused/other'), undefined, 'nor at the other key');
  t.equal(events.length, eventsBefore, 'no notification');
  const correct = await put(url);
  t.equal(correct.status, 200, 'the untouched URL still works');
  t.same(await stored(key), body);
});

t.test('SDK clients with a wrong secret or an unknown access key are refused', async (t) => {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'creds/existing', Body: 'kept' }));
  const wrongSecret = client({ credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'not-the-secret' } });
  const unknownKey = client({ credentials: { accessKeyId: 'AKIAUNKNOWN', secretAccessKey: 'S3RVER' } });
  await t.rejects(wrongSecret.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'creds/existing' })), {
    name: 'SignatureDoesNotMatch',
    $metadata: { httpStatusCode: 403 },
  });
  await t.rejects(wrongSecret.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'creds/new', Body: 'x' })), { name: 'SignatureDoesNotMatch' });
  await t.rejects(wrongSecret.send(new ListObjectsV2Command({ Bucket: BUCKET })), { name: 'SignatureDoesNotMatch' });
  await t.rejects(unknownKey.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'creds/existing' })), {
    name: 'InvalidAccessKeyId',
    $metadata: { httpStatusCode: 403 },
  });
  await t.rejects(unknownKey.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: 'creds/existing' })), { name: 'InvalidAccessKeyId' });
  // HEAD answers carry no body, so the SDK sees only the status.
  const headError = await unknownKey.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'creds/existing' })).catch((error: unknown) => error);
  t.match(headError, { $metadata: { httpStatusCode: 403 } }, 'HEAD refused');
  const anonymous = await fetch(objectUrl('creds/existing'));
  t.equal(anonymous.status, 403);
  t.equal(s3Error(await anonymous.text()).code, 'AccessDenied');
  t.equal(await stored('creds/new'), undefined);
  t.same(await stored('creds/existing'), Buffer.from('kept'), 'not deleted');
});

t.test('an SDK client that sends aws-chunked bodies is told clearly, and nothing is stored', async (t) => {
  // SDK defaults (checksums WHEN_SUPPORTED) frame streamed bodies with aws-chunked, which s3rver
  // would store framing and all; our clients set WHEN_REQUIRED.
  const defaults = client({ requestChecksumCalculation: 'WHEN_SUPPORTED', responseChecksumValidation: 'WHEN_SUPPORTED' });
  const body = randomBytes(10_000);
  const error = await defaults
    .send(new PutObjectCommand({ Bucket: BUCKET, Key: 'chunked/object', Body: Readable.from([body]), ContentLength: body.length }))
    .catch((caught: unknown) => caught);
  t.match(error, { name: 'NotImplemented', message: /aws-chunked.*WHEN_REQUIRED/, $metadata: { httpStatusCode: 501 } });
  t.equal(await stored('chunked/object'), undefined);
});

t.test('a body must be exactly what was signed, or nothing is stored', async (t) => {
  const key = 'body/source';
  const original = Buffer.from('the object that was there before');
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: original }));
  const eventsBefore = events.length;

  await t.test('a body whose SHA-256 differs from x-amz-content-sha256', async (t) => {
    const signedFor = randomBytes(64 * 1024);
    const sent = Buffer.from(signedFor);
    sent.writeUInt8(sent.readUInt8(sent.length - 1) ^ 0xff, sent.length - 1);
    const headers = await signRequest({
      url: objectUrl(key),
      method: 'PUT',
      headers: { 'content-length': String(sent.length), 'x-amz-content-sha256': sha256Hex(signedFor) },
    });
    const response = await rawRequest(objectUrl(key), { method: 'PUT', headers, body: sent });
    t.equal(response.status, 400);
    t.equal(s3Error(response.body).code, 'XAmzContentSHA256Mismatch');
    const good = await rawRequest(objectUrl('body/hashed'), {
      method: 'PUT',
      headers: await signRequest({
        url: objectUrl('body/hashed'),
        method: 'PUT',
        headers: { 'content-length': String(signedFor.length), 'x-amz-content-sha256': sha256Hex(signedFor) },
      }),
      body: signedFor,
    });
    t.equal(good.status, 200, 'the matching body is accepted');
    t.same(await stored('body/hashed'), signedFor);
  });

  await t.test('a pre-signed upload whose connection drops mid-body', async (t) => {
    const body = randomBytes(1024 * 1024);
    const url = await presignPut(key, body);
    await putThenDropConnection(url, { 'Content-Type': 'video/mp4', 'Content-Length': String(body.length) }, body, body.length / 2);
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.same(await stored(key), original, 'the object that was there is intact');
  });

  await t.test('a pre-signed upload cut one byte short', async (t) => {
    const body = randomBytes(200_000);
    const url = await presignPut('body/fresh', body);
    await putThenDropConnection(url, { 'Content-Type': 'video/mp4', 'Content-Length': String(body.length) }, body, body.length - 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.equal(await stored('body/fresh'), undefined, 'no partial object appears');
    await t.rejects(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'body/fresh' })), { name: 'NotFound' });
  });

  await t.test('a PUT without Content-Length', async (t) => {
    const headers = await signRequest({ url: objectUrl(key), method: 'PUT', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' } });
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = http.request(objectUrl(key), { method: 'PUT', headers: { ...headers, 'transfer-encoding': 'chunked' }, agent: false }, (answer) => {
        let text = '';
        answer.on('data', (chunk: Buffer) => (text += chunk.toString()));
        answer.on('end', () => resolve({ status: answer.statusCode ?? 0, body: text }));
      });
      request.on('error', reject);
      request.write('some');
      request.end('bytes');
    });
    t.equal(response.status, 411);
    t.equal(s3Error(response.body).code, 'MissingContentLength');
  });

  t.same(await stored(key), original, 'still the original object');
  t.equal(
    events.filter((event) => event.key === key).length,
    events.slice(0, eventsBefore).filter((event) => event.key === key).length,
    'no notification for the key',
  );
});

t.test('Expect: 100-continue is answered only once the signature holds', async (t) => {
  const body = randomBytes(10_000);
  const sendExpecting = (url: string) => putExpectingContinue(url, { 'content-type': 'video/mp4' }, body);
  const url = await presignPut('continue/source', body);
  const refused = await sendExpecting(url.replace('/continue/source', '/continue/other'));
  t.same(refused, { status: 403, continued: false }, 'refused before the body is sent');
  const accepted = await sendExpecting(url);
  t.same(accepted, { status: 200, continued: true });
  t.same(await stored('continue/source'), body);
});

t.test('refused requests never reach the server behind the front', async (t) => {
  const seen: string[] = [];
  const upstream = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const front = await startS3AuthProxy({
    port: 0,
    upstream: { host: '127.0.0.1', port: (upstream.address() as AddressInfo).port },
    credentials: { S3RVER: 'S3RVER' },
    region: REGION,
  });
  t.teardown(async () => {
    await front.close();
    await new Promise((resolve) => upstream.close(resolve));
  });
  const url = `${front.url}/${BUCKET}/key`;
  const signed = (region: string) => signRequest({ url, method: 'GET', region });

  t.equal((await rawRequest(url)).status, 403, 'anonymous');
  t.equal((await rawRequest(url, { headers: await signRequest({ url, method: 'GET', secretAccessKey: 'wrong' }) })).status, 403, 'wrong secret');
  const otherRegion = await rawRequest(url, { headers: await signed('eu-west-1') });
  t.equal(otherRegion.status, 400, 'a credential scoped to another region');
  t.match(s3Error(otherRegion.body), { code: 'AuthorizationHeaderMalformed', message: /the region 'eu-west-1' is wrong; expecting 'us-east-1'/ });
  const head = await rawRequest(url, { method: 'HEAD' });
  t.equal(head.status, 403, 'HEAD refused');
  t.equal(head.body, '', 'with no body, as S3 answers HEAD');
  t.same(seen, [], 'nothing forwarded');

  const ok = await rawRequest(url, { headers: await signed(REGION) });
  t.equal(ok.status, 200);
  t.equal(ok.body, 'ok');
  t.equal((await rawRequest(url, { method: 'OPTIONS', headers: { origin: 'http://page.example', 'access-control-request-method': 'GET' } })).status, 200);
  t.same(seen, ['GET /auth-test/key', 'OPTIONS /auth-test/key'], 'signed requests and preflights are forwarded as received');
});

t.test('a key with dot, empty or backslash segments is refused, signed or not, and nothing lands outside the bucket', async (t) => {
  const { readdir } = await import('node:fs/promises');
  const outside = async () => (await readdir(dir, { recursive: true })).filter((name) => !name.startsWith(BUCKET)).sort();
  const before = await outside();
  const body = Buffer.from('escaped bytes');
  // Through the SDK, which signs the key as given, segment by segment.
  for (const key of ['a/../../escaped', '../escaped', 'a/./b', 'a//b', 'a\\..\\..\\escaped', './escaped']) {
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body })).then(
      () => undefined,
      (error: { name?: string; $metadata?: { httpStatusCode?: number }; message?: string }) => error,
    );
    t.equal(put?.name, 'InvalidArgument', `PUT ${JSON.stringify(key)}: InvalidArgument`);
    t.equal(put?.$metadata?.httpStatusCode, 400);
    t.match(put?.message, /refuses this object key/);
    const get = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key })).catch((error: { name?: string }) => error);
    t.equal((get as { name?: string }).name, 'InvalidArgument', `GET ${JSON.stringify(key)} too`);
  }
  // Raw signed requests: the path as sent is what is signed, every encoding of `..`.
  for (const rawPath of ['a/%2e%2e/%2e%2e/escaped', 'a/%2E%2E%2F%2E%2E%2Fescaped', 'a/..%2F..%2Fescaped', 'a/..%5C..%5Cescaped']) {
    const path = `/${BUCKET}/${rawPath}`;
    const headers = await signRequest({
      url: localS3.url,
      rawPath: path,
      method: 'PUT',
      headers: { 'content-length': String(body.length), 'x-amz-content-sha256': sha256Hex(body) },
    });
    const answer = await rawRequest(localS3.url, { method: 'PUT', headers, body, rawPath: path });
    t.equal(answer.status, 400, `PUT /${rawPath}`);
    t.equal(s3Error(answer.body).code, 'InvalidArgument');
  }
  // Encoded twice is one literal segment after the one decoding: stored inside the bucket, under that name.
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'a/%2e%2e/%2e%2e/literal', Body: body }));
  t.same(await stored('a/%2e%2e/%2e%2e/literal'), body, 'a key holding %2e is stored literally');
  t.same(await outside(), before, 'no file appeared outside the bucket folder');
  t.same(await stored('escaped'), undefined);
});

t.test('If-None-Match: * creates once: a second PUT answers 412, and of two racing PUTs exactly one wins', async (t) => {
  const key = 'create-once/source';
  const body = randomBytes(4096);
  const url = await getSignedUrl(s3, new PutObjectCommand({ Bucket: BUCKET, Key: key, ContentLength: body.length, IfNoneMatch: '*' }), {
    expiresIn: 300,
    signableHeaders: new Set(['content-length', 'if-none-match']),
  });
  const put = (bytes: Buffer) => rawRequest(url, { method: 'PUT', headers: { 'content-length': String(bytes.length), 'if-none-match': '*' }, body: bytes });
  t.equal((await put(body)).status, 200, 'the first PUT creates');
  const again = await put(randomBytes(4096));
  t.equal(again.status, 412);
  t.match(s3Error(again.body), { code: 'PreconditionFailed', message: 'At least one of the pre-conditions you specified did not hold' });
  t.same(await stored(key), body, 'the object is the first one');
  const viaSdk = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body, IfNoneMatch: '*' })).catch((error: unknown) => error);
  t.equal((viaSdk as { name?: string }).name, 'PreconditionFailed', 'the SDK sees PreconditionFailed');

  const raced = 'create-once/raced';
  const bodies = Array.from({ length: 6 }, () => randomBytes(64 * 1024));
  const answers = await Promise.all(
    bodies.map((bytes) =>
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: raced, Body: bytes, IfNoneMatch: '*' })).then(
        () => 200,
        (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode,
      ),
    ),
  );
  t.same(answers.filter((status) => status === 200).length, 1, `one of six racing PUTs created the object (${answers.join(', ')})`);
  t.same(answers.filter((status) => status === 412).length, 5, 'the others got 412');
  t.same(await stored(raced), bodies[answers.indexOf(200)], 'the object is the winner');

  const notStar = await s3
    .send(new PutObjectCommand({ Bucket: BUCKET, Key: 'create-once/etag', Body: body, IfNoneMatch: '"abc"' }))
    .catch((error: { name?: string }) => error);
  t.equal((notStar as { name?: string }).name, 'NotImplemented', 'S3 takes only * on a PUT');
  t.equal(await stored('create-once/etag'), undefined);
});
