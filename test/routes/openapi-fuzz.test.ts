/**
 * A property-based fuzz of every operation in openapi/openapi.json against the running local
 * stack: requests generated from each operation's parameters and body schema (valid values, values
 * the schema refuses, odd strings, unicode, huge values, wrong types, unknown parameters, bodies
 * that are not JSON or not the declared type), with and without a valid token. Every answer must be
 * below 500, its status declared for the operation, its content type the declared one and its body
 * valid against the declared schema (test/helpers/openapi-contract.ts).
 *
 * Requests go out through node:http with the path exactly as generated (fetch would normalise
 * `..` and `%2e` segments away and refuse a stray `%`). FUZZ_RUNS (per operation) and FUZZ_SEED
 * reproduce or widen a run; the counts land in test-artifacts/openapi-fuzz.json.
 */
import t from 'tap';
import http from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import fc from 'fast-check';
import { generateKeyPair, SignJWT } from 'jose';
import { applyJobUpdates, callApi, createVideo, makeReadyWithStreams, startTestStack } from '../helpers/stack.ts';
import { contractProblems, operations, type Operation } from '../helpers/openapi-contract.ts';
import { anyJson, fuzzValue, oddString, validValue, type Hints } from '../helpers/schema-arbitraries.ts';
import { createAwsClients } from '../../src/app/aws-clients.ts';
import { createVideoCatalog } from '../../src/adapters/dynamodb/video-catalog.ts';
import type { CreateUploadResponse } from '../../src/schemas/upload.ts';
import { multipartPlan, putPartBytes } from '../helpers/uploads.ts';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../deploy/local/cognito/issuer.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 500);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

// The fuzz sends thousands of requests from one address; the rate limit has its own test
// (test/routes/cors-and-rate-limit.test.ts), so here it is set where it never refuses.
const stack = await startTestStack(t, { settings: { RATE_LIMIT_MAX: String(1e9) } });
const apiUrl = new URL(stack.apiUrl);

// ---------------------------------------------------------------------------------- fixtures

const alice = await stack.token('alice');
const bob = await stack.token('bob');
const catalog = createVideoCatalog({ dynamo: createAwsClients(stack.config).dynamo, tableName: stack.config.TABLE_NAME });

/** A video of `owner` in each state: awaiting its upload, processing, failed, ready. */
async function videosOf(owner: string): Promise<string[]> {
  const token = await stack.token(owner);
  const [awaiting, processing, failed, ready] = await Promise.all(
    ['Awaiting upload', 'Processing', 'Failed', 'Ready'].map((title) => createVideo(stack, token, `${title} of ${owner}`)),
  );
  await makeReadyWithStreams(stack, ready!, {
    objects: [{ key: 'master.m3u8', body: '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"\n360p/index.m3u8\n' }],
    durationSeconds: 4,
  });
  for (const videoId of [processing!, failed!]) {
    const video = await catalog.get(videoId);
    if (!video || !(await catalog.claimForProcessing(video, '0001', new Date().toISOString()))) throw new Error(`could not claim ${videoId}`);
    await applyJobUpdates(stack, videoId, { type: 'started' }, { type: 'progress', percent: 40 });
  }
  await applyJobUpdates(stack, failed!, { type: 'failed', code: '1010', message: 'The source is broken.' });
  return [awaiting!, processing!, failed!, ready!];
}
/**
 * Two uploads in parts of `owner`, one part stored in each: `completable`, whose part's ETag the
 * fuzz may send (so completeUpload can succeed), and `open`, whose ETag it never knows (so it stays
 * in progress for listUploadedParts and signUploadParts, whatever order the operations run in).
 */
async function uploadsInPartsOf(owner: string): Promise<{ completable: string; open: string; etag: string }> {
  const token = await stack.token(owner);
  const [completable, open] = await Promise.all(
    ['completable', 'open'].map(async (kind) => {
      const body = Buffer.from(`${kind} ${owner}`.padEnd(16, '.'));
      const created = await callApi<CreateUploadResponse>(stack, 'POST', '/uploads', {
        token,
        body: { title: `Upload in parts (${kind}) of ${owner}`, filename: 'clip.mp4', contentType: 'video/mp4', sizeBytes: body.length, multipart: true },
      });
      const etag = await putPartBytes(multipartPlan(created.body.upload).parts[0]!, body);
      return { videoId: created.body.videoId, etag };
    }),
  );
  return { completable: completable!.videoId, open: open!.videoId, etag: completable!.etag };
}
const uploadsInParts = [await uploadsInPartsOf('alice'), await uploadsInPartsOf('bob')];

// Every operation meets the videos of both users in every state (deleteVideo, which runs last,
// deletes some of them).
const existingIds = [...(await videosOf('alice')), ...(await videosOf('bob')), ...uploadsInParts.flatMap((uploads) => [uploads.completable, uploads.open])];

const foreignKeys = await generateKeyPair('RS256');
const forged = await new SignJWT({ token_use: 'id' })
  .setProtectedHeader({ alg: 'RS256', kid: 'not-the-issuer', typ: 'JWT' })
  .setSubject('alice')
  .setIssuer(LOCAL_ISSUER)
  .setAudience(LOCAL_AUDIENCE)
  .setIssuedAt()
  .setExpirationTime('1h')
  .sign(foreignKeys.privateKey);

/** Authorization header values: signed-in users (most often), nobody, and every broken kind. */
const authorization = fc.oneof(
  { arbitrary: fc.constantFrom(`Bearer ${alice}`, `Bearer ${bob}`), weight: 8 },
  {
    arbitrary: fc.constantFrom(
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `bearer ${alice}`,
      `Basic ${Buffer.from('alice:secret').toString('base64')}`,
      `Bearer ${alice}x`,
      `Bearer ${alice.split('.').slice(0, 2).join('.')}.`,
      `Bearer ${forged}`,
      `Bearer ${await stack.token('alice', { expiresInSeconds: -60 })}`,
      `Bearer ${await stack.token('alice', { audience: 'someone-else' })}`,
      `Bearer ${await stack.token('alice', { issuer: 'https://evil.example' })}`,
      `Bearer ${await stack.token('')}`,
      `Bearer ${'a'.repeat(8000)}`,
      'Bearer e30.e30.',
      `Bearer ${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"sub":"alice"}').toString('base64url')}.`,
    ),
    weight: 2,
  },
);

// Real cursors: the next pages of alice's and bob's lists.
const cursors: string[] = [];
for (const token of [alice, bob]) {
  const page = await callApi<{ nextCursor?: string }>(stack, 'GET', '/videos?status=all&limit=1', { token });
  if (page.body.nextCursor) cursors.push(page.body.nextCursor);
}
if (cursors.length === 0) throw new Error('no next page to take a cursor from');

/** Domain values the schemas cannot name: ids that exist, media types the API tells apart, cursors. */
const hints: Hints = {
  // Uploads in parts weigh more: only 4 of the ids can succeed for their three operations.
  videoId: fc.oneof(
    { arbitrary: fc.constantFrom(...existingIds), weight: 3 },
    { arbitrary: fc.constantFrom(...uploadsInParts.flatMap((uploads) => [uploads.completable, uploads.open])), weight: 2 },
    { arbitrary: fc.uuid(), weight: 1 },
  ),
  contentType: fc.oneof(
    { arbitrary: fc.constantFrom('video/mp4', 'video/quicktime', 'video/x-matroska', 'audio/mpeg', 'audio/flac'), weight: 3 },
    {
      arbitrary: fc.constantFrom(
        'VIDEO/MP4',
        'video/mp4; codecs="avc1"',
        'image/png',
        'text/plain',
        'application/octet-stream',
        'video/',
        '/mp4',
        'video/mp4\r\nx: y',
      ),
      weight: 1,
    },
  ),
  sizeBytes: fc.constantFrom(0, 1, 1234, 5 * 1024 ** 3, 5 * 1024 ** 3 + 1, Number.MAX_SAFE_INTEGER),
  // The one part of an upload in parts: to sign again, or (with the ETag storage gave it) to complete.
  parts: fc.oneof(
    { arbitrary: fc.constant([{ partNumber: 1 }]), weight: 2 },
    { arbitrary: fc.constantFrom(...uploadsInParts.map(({ etag }) => [{ partNumber: 1, etag }])), weight: 2 },
  ),
  cursor: fc.oneof(
    { arbitrary: fc.constantFrom(...cursors), weight: 2 },
    {
      arbitrary: fc.oneof(
        fc.constantFrom('eyJ2aWRlb0lkIjoieCJ9', Buffer.from('{"createdAt":1}').toString('base64url'), 'bm90IGpzb24', '!!!'),
        // A real cursor tampered with: a character changed, cut short, extended.
        fc
          .tuple(fc.constantFrom(...cursors), fc.nat(), fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }))
          .map(([cursor, at, character]) => cursor.slice(0, at % cursor.length) + character + cursor.slice((at % cursor.length) + 1)),
        fc.tuple(fc.constantFrom(...cursors), fc.nat()).map(([cursor, at]) => cursor.slice(0, at % cursor.length)),
        fc.constantFrom(...cursors).map((cursor) => `${cursor}AAAA`),
      ),
      weight: 1,
    },
  ),
};

// ------------------------------------------------------------------------ requests from schemas

interface FuzzRequest {
  authorization: string | undefined;
  /** Each path parameter as sent: percent-encoded, or raw (a stray % stays a stray %). */
  path: Record<string, string>;
  query: string;
  body?: { contentType: string | undefined; payload: Buffer };
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;
/** Percent-encodes UTF-8 bytes (a lone surrogate becomes U+FFFD, as any client would send it). */
function percentEncode(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) => (UNRESERVED.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`))
    .join('');
}
/** As raw as node:http lets a path be: only what it refuses (controls, spaces, non-ASCII) is encoded. */
function rawEncode(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are exactly what it encodes
  return [...text].map((character) => (/[\u0000-\u0020\u007f-\uffff]/.test(character) ? percentEncode(character) : character)).join('');
}
const asText = (value: unknown) => (typeof value === 'string' ? value : (JSON.stringify(value) ?? ''));

const encoded = (value: fc.Arbitrary<unknown>) =>
  fc.tuple(value, fc.boolean()).map(([raw, percent]) => (percent ? percentEncode(asText(raw)) : rawEncode(asText(raw))));

function pathArbitrary(op: Operation): fc.Arbitrary<Record<string, string>> {
  const model: Record<string, fc.Arbitrary<string>> = {};
  for (const parameter of op.parameters.filter((candidate) => candidate.in === 'path')) {
    // Never empty: `/videos/` is another operation (listVideos), not this one with an empty id.
    const value = fc.oneof(
      { arbitrary: validValue(parameter.schema, hints, parameter.name), weight: 4 },
      { arbitrary: fuzzValue(parameter.schema, hints, parameter.name), weight: 3 },
      { arbitrary: oddString, weight: 1 },
    );
    model[parameter.name] = encoded(value).filter((text) => text !== '');
  }
  return fc.record(model);
}

function queryArbitrary(op: Operation): fc.Arbitrary<string> {
  const declared = op.parameters.filter((parameter) => parameter.in === 'query');
  const pair = (name: string, value: fc.Arbitrary<unknown>) => fc.tuple(encoded(fc.constant(name)), encoded(value)).map(([key, text]) => `${key}=${text}`);
  const pairs: Array<fc.Arbitrary<string[]>> = declared.map((parameter) =>
    fc.oneof(
      { arbitrary: fc.constant<string[]>([]), weight: 2 },
      { arbitrary: pair(parameter.name, fuzzValue(parameter.schema, hints, parameter.name)).map((one) => [one]), weight: 4 },
      // Repeated: an array where a value is declared.
      { arbitrary: fc.array(pair(parameter.name, validValue(parameter.schema, hints, parameter.name)), { minLength: 2, maxLength: 3 }), weight: 1 },
      { arbitrary: fc.constantFrom<string[]>([parameter.name], [`${parameter.name}=`], [`${parameter.name}[x]=1`]), weight: 1 },
    ),
  );
  // Parameters nobody declared, once in a while; now and then long enough for a 414.
  const unknown = fc.oneof(
    { arbitrary: fc.constant([] as string[]), weight: 8 },
    { arbitrary: fc.tuple(oddString, oddString).map(([name, value]) => [`${percentEncode(name)}=${percentEncode(value)}`]), weight: 1 },
    { arbitrary: fc.integer({ min: 8_000, max: 40_000 }).map((length) => [`pad=${'p'.repeat(length)}`]), weight: 1 },
  );
  // Now and then only declared parameters with valid values, to get past validation.
  const valid: Array<fc.Arbitrary<string[]>> = declared.map((parameter) =>
    fc.option(
      pair(parameter.name, validValue(parameter.schema, hints, parameter.name)).map((one) => [one]),
      { nil: [] as string[] },
    ),
  );
  const query = fc.oneof(fc.tuple(fc.tuple(...pairs), unknown), fc.tuple(fc.tuple(...valid), fc.constant([] as string[])));
  return query.map(([declaredPairs, extra]) => {
    const all = [...declaredPairs.flat(), ...extra];
    return all.length === 0 ? '' : `?${all.join('&')}`;
  });
}

const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/problem+json'];
const OTHER_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/jsonx',
  '*/*',
  '',
];
const brokenJson = fc.oneof(
  fc.constantFrom(
    '',
    '{',
    '{"title":',
    'nul',
    '[1,]',
    '{"a":1}}',
    '\u0000',
    '\ufeff{}',
    'NaN',
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
  ),
  fc.integer({ min: 1, max: 50_000 }).map((depth) => '['.repeat(depth) + ']'.repeat(depth)),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
  fc.string({ unit: 'binary', maxLength: 64 }),
);

function bodyArbitrary(op: Operation): fc.Arbitrary<FuzzRequest['body']> {
  const declared = op.requestBody?.content['application/json']?.schema;
  const json = (value: fc.Arbitrary<unknown>) =>
    fc.tuple(value, fc.constantFrom(...JSON_TYPES)).map(([payload, contentType]) => ({ contentType, payload: Buffer.from(JSON.stringify(payload) ?? 'null') }));
  const other = fc
    .tuple(fc.oneof(brokenJson, oddString), fc.constantFrom<string | undefined>(...JSON_TYPES, ...OTHER_TYPES, undefined))
    .map(([text, contentType]) => ({
      contentType,
      payload: Buffer.from(text),
    }));
  // Over the API's 1 MiB body limit, rarely: one such body costs as much as hundreds of others.
  const oversized = fc.constant({ contentType: 'application/json', payload: Buffer.from(JSON.stringify({ title: 'x'.repeat(1100 * 1024) })) });
  if (declared) {
    return fc.oneof(
      { arbitrary: json(validValue(declared, hints)), weight: 8 },
      { arbitrary: json(fuzzValue(declared, hints)), weight: 8 },
      { arbitrary: json(anyJson), weight: 2 },
      { arbitrary: other, weight: 3 },
      { arbitrary: fc.constant(undefined), weight: 1 },
      { arbitrary: oversized, weight: 1 },
    );
  }
  // An operation without a body: mostly none, sometimes one anyway.
  return fc.oneof({ arbitrary: fc.constant(undefined), weight: 12 }, { arbitrary: json(anyJson), weight: 1 }, { arbitrary: other, weight: 1 });
}

function requestArbitrary(op: Operation): fc.Arbitrary<FuzzRequest> {
  return fc.record({ authorization, path: pathArbitrary(op), query: queryArbitrary(op), body: bodyArbitrary(op) });
}

// ----------------------------------------------------------------------------------- sending

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
t.teardown(() => agent.destroy());

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function send(op: Operation, request: FuzzRequest): Promise<Answer> {
  const path = op.path.replace(/\{(\w+)\}/g, (_match, name: string) => request.path[name]!) + request.query;
  const headers: http.OutgoingHttpHeaders = {};
  if (request.authorization !== undefined) headers.authorization = request.authorization;
  if (request.body) {
    if (request.body.contentType !== undefined) headers['content-type'] = request.body.contentType;
    headers['content-length'] = request.body.payload.length;
  }
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ host: apiUrl.hostname, port: apiUrl.port, method: op.method, path, headers, agent, timeout: 20_000 }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer in 20 s: ${op.method} ${path.slice(0, 200)}`)));
    outgoing.on('error', reject);
    outgoing.end(request.body?.payload);
  });
}

function describe(op: Operation, request: FuzzRequest): string {
  const path = op.path.replace(/\{(\w+)\}/g, (_match, name: string) => request.path[name]!) + request.query;
  const auth =
    request.authorization === undefined
      ? 'no token'
      : request.authorization.startsWith(`Bearer ${alice}`)
        ? 'alice'
        : request.authorization === `Bearer ${bob}`
          ? 'bob'
          : `Authorization: ${request.authorization.slice(0, 40)}`;
  const body = request.body ? ` ${request.body.contentType ?? '(no content type)'} ${request.body.payload.toString('utf8').slice(0, 300)}` : '';
  return `${op.method} ${path.length > 300 ? `${path.slice(0, 300)}… (${path.length} chars)` : path} [${auth}]${body}`;
}

// ------------------------------------------------------------------------------------- the fuzz

/**
 * Requests that succeed, tried before the generated ones, for operations whose success needs what
 * no schema can generate (the ETag storage gave a part): the fuzz then reaches every declared
 * success whatever the seed, and the generated requests meet an upload in each state.
 */
const [aliceUploads] = uploadsInParts;
const jsonBody = (value: unknown) => ({ contentType: 'application/json', payload: Buffer.from(JSON.stringify(value)) });
const successExamples: Record<string, FuzzRequest[]> = {
  listUploadedParts: [{ authorization: `Bearer ${alice}`, path: { videoId: aliceUploads!.open }, query: '' }],
  signUploadParts: [{ authorization: `Bearer ${alice}`, path: { videoId: aliceUploads!.open }, query: '', body: jsonBody({ parts: [{ partNumber: 1 }] }) }],
  completeUpload: [
    {
      authorization: `Bearer ${alice}`,
      path: { videoId: aliceUploads!.completable },
      query: '',
      body: jsonBody({ parts: [{ partNumber: 1, etag: aliceUploads!.etag }] }),
    },
  ],
};

const counts: Record<string, Record<string, number>> = {};
let requests = 0;
let serverErrors = 0;

// deleteVideo last: it removes the fixtures the other operations find.
const ordered = [...operations].sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'));

for (const op of ordered) {
  t.test(`${op.operationId} (${op.method} ${op.path}): no 5xx, every answer as declared`, async (t) => {
    const byStatus: Record<string, number> = (counts[op.operationId] ??= {});
    await fc.assert(
      fc.asyncProperty(requestArbitrary(op), async (request) => {
        const answer = await send(op, request);
        requests++;
        byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
        if (answer.status >= 500) serverErrors++;
        const problems = contractProblems(op, {
          status: answer.status,
          contentType: answer.headers['content-type'],
          body: answer.body,
          headers: answer.headers,
        });
        if (answer.status >= 500) problems.unshift('a server error');
        if (answer.headers['x-content-type-options'] !== 'nosniff') problems.push('no security headers');
        if (problems.length > 0) throw new Error(`${describe(op, request)}\n  → ${answer.status} ${answer.body.slice(0, 300)}\n  ${problems.join('\n  ')}`);
      }),
      {
        numRuns: RUNS,
        examples: (successExamples[op.operationId] ?? []).map((request) => [request] as [FuzzRequest]),
        ...(SEED === undefined ? {} : { seed: SEED }),
      },
    );
    t.comment(
      `${op.operationId}: ${Object.entries(byStatus)
        .map(([status, count]) => `${count}× ${status}`)
        .join(', ')}`,
    );
    const declaredSuccess = Object.keys(op.responses).filter((status) => status.startsWith('2'));
    t.ok(
      declaredSuccess.some((status) => byStatus[status]),
      `the fuzz reached a success (${declaredSuccess.join(', ')}) too`,
    );
  });
}

t.test('summary', async (t) => {
  t.comment(`fuzz: ${requests} requests over ${operations.length} operations, ${serverErrors} answered 5xx`);
  t.equal(serverErrors, 0, 'no 5xx');
  await mkdir('test-artifacts', { recursive: true });
  await writeFile('test-artifacts/openapi-fuzz.json', `${JSON.stringify({ requests, serverErrors, runsPerOperation: RUNS, byOperation: counts }, null, 2)}\n`);
});
