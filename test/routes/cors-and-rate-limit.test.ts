/**
 * Cross-origin access and request rate limits of the API, on the running local stack configured
 * as an operator would: two allowed origins, a small limit with a short window.
 */
import t from 'tap';
import { callApi, startTestStack } from '../helpers/stack.ts';
import { contractProblems, operations } from '../helpers/openapi-contract.ts';
import type { Problem } from '../../src/schemas/problem.ts';

const PAGE = 'https://videos.example.com';
const DEV = 'http://localhost:5173';
const FOREIGN = 'https://evil.example';
const LIMIT = 40;
const WINDOW_SECONDS = 2;

const stack = await startTestStack(t, {
  settings: { CORS_ALLOWED_ORIGINS: `${PAGE},${DEV}`, RATE_LIMIT_MAX: String(LIMIT), RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS) },
});
const alice = await stack.token('alice');

/** Waits until the limiter's window has certainly ended, so a test starts with a full allowance. */
const nextWindow = () => new Promise((resolve) => setTimeout(resolve, WINDOW_SECONDS * 1000 + 100));

t.test('a configured origin gets its own origin back, never credentials; a foreign one gets nothing', async (t) => {
  for (const origin of [PAGE, DEV]) {
    const response = await fetch(`${stack.apiUrl}/videos`, { headers: { origin, authorization: `Bearer ${alice}` } });
    t.equal(response.status, 200);
    t.equal(response.headers.get('access-control-allow-origin'), origin, `${origin}: allowed`);
    t.equal(response.headers.get('access-control-allow-credentials'), null, `${origin}: no credentials`);
    t.match(response.headers.get('access-control-expose-headers'), /retry-after/, 'a 429 can be read');
    t.match(response.headers.get('vary'), /Origin/, 'caches keep answers per origin');
    await response.arrayBuffer();
  }
  for (const origin of [FOREIGN, 'null', `${PAGE}.evil.example`, PAGE.replace('https', 'http'), `${PAGE}:443`]) {
    const response = await fetch(`${stack.apiUrl}/videos`, { headers: { origin, authorization: `Bearer ${alice}` } });
    t.equal(response.headers.get('access-control-allow-origin'), null, `${origin}: no Access-Control-Allow-Origin`);
    t.equal(response.headers.get('access-control-allow-credentials'), null, `${origin}: no credentials`);
    await response.arrayBuffer();
  }
});

t.test('preflights: the configured methods and headers for a configured origin, without a token', async (t) => {
  const preflight = (origin: string) =>
    fetch(`${stack.apiUrl}/uploads`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
  const allowed = await preflight(PAGE);
  t.equal(allowed.status, 204, 'answered before authentication');
  t.equal(allowed.headers.get('access-control-allow-origin'), PAGE);
  t.equal(allowed.headers.get('access-control-allow-methods'), 'GET, POST, DELETE');
  t.equal(allowed.headers.get('access-control-allow-headers'), 'authorization, content-type');
  t.equal(allowed.headers.get('access-control-max-age'), '600');
  t.equal(allowed.headers.get('access-control-allow-credentials'), null);
  const foreign = await preflight(FOREIGN);
  t.equal(foreign.headers.get('access-control-allow-origin'), null, 'a foreign origin is not allowed, so the browser sends nothing');
  t.equal(foreign.headers.get('access-control-allow-credentials'), null);
});

t.test('without CORS_ALLOWED_ORIGINS no origin is allowed: the page is served from the API itself', async (t) => {
  const plain = await startTestStack(t);
  const response = await fetch(`${plain.apiUrl}/health`, { headers: { origin: PAGE } });
  t.equal(response.status, 200);
  t.equal(response.headers.get('access-control-allow-origin'), null);
  t.equal(response.headers.get('access-control-allow-credentials'), null);
});

t.test('over the limit, every request gets a 429 problem with Retry-After until the window ends', async (t) => {
  await nextWindow();
  const statuses: number[] = [];
  for (let index = 0; index < LIMIT; index++) {
    // Requests without a token and to unknown routes count too: the limit runs before anything else.
    const route = ['/health', '/videos', '/nowhere'][index % 3]!;
    statuses.push((await callApi(stack, 'GET', route, index % 2 ? { token: alice } : {})).status);
  }
  t.notOk(statuses.includes(429), `the first ${LIMIT} requests are served`);
  for (const op of operations) {
    const path = op.path.replace('{videoId}', '00000000-0000-4000-8000-000000000000');
    const response = await fetch(`${stack.apiUrl}${path}`, {
      method: op.method,
      headers: { authorization: `Bearer ${alice}`, origin: PAGE, ...(op.requestBody ? { 'content-type': 'application/json' } : {}) },
      ...(op.requestBody ? { body: '{}' } : {}),
    });
    const body = await response.text();
    t.equal(response.status, 429, `${op.operationId}: 429`);
    t.same(
      contractProblems(op, { status: response.status, contentType: response.headers.get('content-type'), body, headers: response.headers }),
      [],
      `${op.operationId}: as declared, Retry-After included`,
    );
    const problem = JSON.parse(body) as Problem;
    t.equal(problem.type, '/problems/too-many-requests');
    const retryAfter = Number(response.headers.get('retry-after'));
    t.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= WINDOW_SECONDS, `Retry-After ${retryAfter} s`);
    t.equal(response.headers.get('x-ratelimit-limit'), String(LIMIT));
    t.equal(response.headers.get('access-control-allow-origin'), PAGE, 'a page on an allowed origin can read the 429');
    t.equal(response.headers.get('x-content-type-options'), 'nosniff', 'security headers too');
  }
  const unauthenticated = await callApi(stack, 'GET', '/videos');
  t.equal(unauthenticated.status, 429, 'no token: refused before the token is even looked at');
  await nextWindow();
  t.equal((await callApi(stack, 'GET', '/videos', { token: alice })).status, 200, 'served again once the window has passed');
});

t.test('a served request carries no counting headers (each Lambda container counts its own)', async (t) => {
  const response = await fetch(`${stack.apiUrl}/health`);
  t.equal(response.status, 200);
  t.equal(response.headers.get('x-ratelimit-remaining'), null);
  t.equal(response.headers.get('retry-after'), null);
});
