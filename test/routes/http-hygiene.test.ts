/**
 * HTTP hygiene against the running local stack: every error is RFC 9457 problem+json with the
 * Problem schema, including the ones Fastify's router and Node's HTTP parser answer before any
 * route runs; every status an operation answers is declared in the OpenAPI document.
 */
import t, { type Test } from 'tap';
import { callApi, createVideo, startTestStack } from '../helpers/stack.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { contractProblems, operation, operations, schemaProblems } from '../helpers/openapi-contract.ts';
import type { Problem } from '../../src/schemas/problem.ts';

const stack = await startTestStack(t);
const alice = await stack.token('alice');
const videoId = await createVideo(stack, alice, 'Hygiene');
const videoOperations = operations.filter((op) => op.path.includes('{videoId}'));

/** The answer is problem+json with `status`, matching the Problem schema and the security headers. */
function isProblem(t: Test, label: string, answer: { status: number; headers: Record<string, string> | Headers; body: string }, status: number, type?: string) {
  const header = (name: string) => (answer.headers instanceof Headers ? answer.headers.get(name) : answer.headers[name]);
  t.equal(answer.status, status, `${label}: ${status}`);
  t.match(header('content-type'), /^application\/problem\+json/, `${label}: problem+json`);
  const body = JSON.parse(answer.body) as Problem;
  t.same(schemaProblems('Problem', body), [], `${label}: the Problem schema`);
  t.equal(body.status, status, `${label}: status in the body`);
  if (type) t.equal(body.type, type, `${label}: ${type}`);
  t.equal(header('x-content-type-options'), 'nosniff', `${label}: security headers too`);
  t.match(header('content-security-policy'), /default-src 'none'/, `${label}: strict CSP`);
  t.ok(answer.body.length < 2000, `${label}: a short answer (${answer.body.length} bytes), the request is not echoed`);
  return body;
}

const fetched = async (response: Response) => ({ status: response.status, headers: response.headers, body: await response.text() });
const bearer = { authorization: `Bearer ${alice}` };

t.test('a path that does not decode (GET /videos/%) is a 400 problem', async (t) => {
  for (const path of ['/videos/%', '/videos/%zz', `/videos/${videoId}%/playback`]) {
    const answer = await rawRequest(stack.apiUrl, `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\nConnection: close\r\n\r\n`);
    isProblem(t, path, answer, 400, '/problems/malformed-url');
  }
});

t.test('a 10 KB video id is a 414 problem on every {videoId} operation; 65 characters a 400', async (t) => {
  for (const op of videoOperations) {
    const long = await fetch(`${stack.apiUrl}${op.path.replace('{videoId}', 'a'.repeat(10_240))}`, { method: op.method, headers: bearer });
    const answer = await fetched(long);
    isProblem(t, `${op.operationId} with a 10 KB id`, answer, 414, '/problems/uri-too-long');
    t.same(
      contractProblems(op, { status: answer.status, contentType: answer.headers.get('content-type'), body: answer.body }),
      [],
      `${op.operationId}: 414 declared`,
    );
    const over = await fetched(await fetch(`${stack.apiUrl}${op.path.replace('{videoId}', 'a'.repeat(65))}`, { method: op.method, headers: bearer }));
    isProblem(t, `${op.operationId} with a 65-character id`, over, 400, '/problems/invalid-input');
    t.same(
      contractProblems(op, { status: over.status, contentType: over.headers.get('content-type'), body: over.body }),
      [],
      `${op.operationId}: 400 declared`,
    );
  }
});

t.test("what Node's HTTP parser refuses is a problem too: 414, 431, a broken Content-Length", async (t) => {
  const url = `/videos?cursor=${'c'.repeat(100_000)}`;
  isProblem(t, 'a 100 KB URI', await rawRequest(stack.apiUrl, `GET ${url} HTTP/1.1\r\nHost: x\r\n\r\n`), 414, '/problems/uri-too-long');
  isProblem(
    t,
    '20 KB of headers',
    await rawRequest(stack.apiUrl, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`),
    431,
    '/problems/headers-too-large',
  );
  // One 16 KB limit for both: whichever is most of it is to blame.
  const nearLimit = 15_000;
  isProblem(
    t,
    'a 15 KB URI and 2 KB of headers',
    await rawRequest(stack.apiUrl, `GET /health?pad=${'p'.repeat(nearLimit)} HTTP/1.1\r\nHost: x\r\nX-Some: ${'s'.repeat(2000)}\r\n\r\n`),
    414,
    '/problems/uri-too-long',
  );
  isProblem(
    t,
    'a 2 KB URI and 15 KB of headers',
    await rawRequest(stack.apiUrl, `GET /health?pad=${'p'.repeat(2000)} HTTP/1.1\r\nHost: x\r\nX-Some: ${'s'.repeat(nearLimit)}\r\n\r\n`),
    431,
    '/problems/headers-too-large',
  );
  const post = (headers: string, body = '{}') =>
    rawRequest(stack.apiUrl, `POST /uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice}\r\nContent-Type: application/json\r\n${headers}\r\n${body}`);
  isProblem(t, 'Content-Length: abc', await post('Content-Length: abc\r\n'), 400, '/problems/invalid-content-length');
  isProblem(t, 'two different Content-Lengths', await post('Content-Length: 2\r\nContent-Length: 3\r\n'), 400, '/problems/invalid-content-length');
  isProblem(t, 'Content-Length with chunked', await post('Content-Length: 2\r\nTransfer-Encoding: chunked\r\n', '2\r\n{}\r\n0\r\n\r\n'), 400);
  isProblem(t, 'not HTTP at all', await rawRequest(stack.apiUrl, 'HELLO\r\n\r\n'), 400, '/problems/malformed-request');
  // The server still answers afterwards.
  t.equal((await callApi(stack, 'GET', '/health')).status, 200);
});

t.test("Fastify's own body errors are problems: not JSON, too large, not application/json", async (t) => {
  const post = (body: string, contentType: string) =>
    fetch(`${stack.apiUrl}/uploads`, { method: 'POST', headers: { ...bearer, 'content-type': contentType }, body });
  isProblem(t, 'malformed JSON', await fetched(await post('{nope', 'application/json')), 400, '/problems/invalid-input');
  isProblem(t, 'an empty JSON body', await fetched(await post('', 'application/json')), 400, '/problems/invalid-input');
  isProblem(t, 'a 2 MB body', await fetched(await post(' '.repeat(2 * 1024 * 1024), 'application/json')), 413, '/problems/body-too-large');
  isProblem(t, 'an XML body', await fetched(await post('<upload/>', 'application/xml')), 415, '/problems/unsupported-media-type');
  isProblem(t, 'an unknown route', await fetched(await fetch(`${stack.apiUrl}/nowhere`)), 404, '/problems/route-not-found');
});

t.test('a JSON body is taken as written: a string, an array or a boolean where the schema says otherwise is a 400 problem', async (t) => {
  const valid = { title: 'Typed', filename: 'clip.mp4', contentType: 'video/mp4', sizeBytes: 10 };
  const createUpload = operation('createUpload');
  const wrongTypes: Array<[string, Record<string, unknown>]> = [
    ['"sizeBytes":"10"', { ...valid, sizeBytes: '10' }],
    ['"sizeBytes":[10]', { ...valid, sizeBytes: [10] }],
    ['"sizeBytes":"1e1"', { ...valid, sizeBytes: '1e1' }],
    ['"sizeBytes":true', { ...valid, sizeBytes: true }],
    ['"title":["a"]', { ...valid, title: ['a'] }],
    ['"title":5', { ...valid, title: 5 }],
    ['"title":null', { ...valid, title: null }],
    ['"contentType":["video/mp4"]', { ...valid, contentType: ['video/mp4'] }],
  ];
  for (const [label, body] of wrongTypes) {
    const answer = await fetched(
      await fetch(`${stack.apiUrl}/uploads`, { method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    );
    isProblem(t, label, answer, 400, '/problems/invalid-input');
    t.same(
      contractProblems(createUpload, { status: answer.status, contentType: answer.headers.get('content-type'), body: answer.body }),
      [],
      `${label}: as declared`,
    );
  }
  t.equal((await callApi(stack, 'POST', '/uploads', { token: alice, body: valid })).status, 201, 'the same body with its own types: 201');
});

t.test('a query string is text: limit=20 is the integer 20', async (t) => {
  const page = await callApi<{ items: unknown[] }>(stack, 'GET', '/videos?status=all&limit=20', { token: alice });
  t.equal(page.status, 200);
  t.ok(page.body.items.length >= 1);
  isProblem(t, 'limit=twenty', await fetched(await fetch(`${stack.apiUrl}/videos?limit=twenty`, { headers: bearer })), 400, '/problems/invalid-input');
});

t.test('the OpenAPI document declares 400 and 414 on every {videoId} operation, 414, 429 and 431 on every operation', async (t) => {
  t.ok(videoOperations.length >= 3);
  for (const op of videoOperations) {
    for (const status of ['400', '401', '404', '414']) {
      t.ok(op.responses[status]?.content?.['application/problem+json'], `${op.operationId} declares ${status} as problem+json`);
    }
  }
  t.ok(operation('createUpload').responses['415'], 'POST /uploads declares 415');
  for (const op of operations) {
    for (const status of ['414', '429', '431']) {
      t.ok(op.responses[status]?.content?.['application/problem+json'], `${op.operationId} declares ${status}, which any request may get`);
    }
  }
  t.ok(operation('getHealth').responses['429']?.headers?.['Retry-After'], '429 declares Retry-After');
});

t.test('an unknown route is named in its problem, a long one cut short', async (t) => {
  const path = `/nowhere/${'x'.repeat(5000)}`;
  const answer = await fetch(`${stack.apiUrl}${path}`);
  t.equal(answer.status, 404);
  const problem = (await answer.json()) as { type: string; detail: string };
  t.equal(problem.type, '/problems/route-not-found');
  t.match(problem.detail, /^No route GET \/nowhere\/x+… \(5009 characters\)$/);
  t.ok(problem.detail.length < 300, `a short detail (${problem.detail.length} characters)`);
});
