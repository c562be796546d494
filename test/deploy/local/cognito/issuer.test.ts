/**
 * The local issuer's hosted-UI stand-in over HTTP: authorization code with PKCE, refresh, logout,
 * and the checks that keep it from being an open redirect or handing out tokens without proof.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { startLocalIssuer, LOCAL_AUDIENCE, LOCAL_CLIENT_ID, LOCAL_ISSUER } from '../../../../deploy/local/cognito/issuer.ts';
import { createTokenVerifier } from '../../../../src/adapters/cognito/token-verifier.ts';
import { tempDir } from '../../../helpers/media.ts';

const issuer = await startLocalIssuer({ dir: await tempDir(t, 'vod-issuer-'), port: 0 });
t.teardown(() => issuer.close());

const redirectUri = 'http://127.0.0.1:3000/';
const verifier = () => randomBytes(32).toString('base64url');
const challengeOf = (value: string) => createHash('sha256').update(value).digest('base64url');

function authorizeParams(overrides: Record<string, string | undefined> = {}, codeVerifier = verifier()): URLSearchParams {
  const params = {
    response_type: 'code',
    client_id: LOCAL_CLIENT_ID,
    redirect_uri: redirectUri,
    scope: 'openid',
    state: 'state-123',
    code_challenge: challengeOf(codeVerifier),
    code_challenge_method: 'S256',
    ...overrides,
  };
  return new URLSearchParams(Object.entries(params).flatMap(([name, value]): Array<[string, string]> => (value === undefined ? [] : [[name, value]])));
}

const post = (url: string, form: URLSearchParams) =>
  fetch(url, { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });

/** Signs in through the form; returns the code the redirect carries. */
async function signIn(codeVerifier: string, userName = 'alice'): Promise<string> {
  const params = authorizeParams({ username: userName }, codeVerifier);
  const response = await post(issuer.authorizeUrl, params);
  if (response.status !== 302) throw new Error(`sign-in answered ${response.status}`);
  const location = new URL(response.headers.get('location')!);
  return location.searchParams.get('code')!;
}

const exchange = (code: string, codeVerifier: string, extra: Record<string, string> = {}) =>
  post(
    issuer.tokenUrl,
    new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: LOCAL_CLIENT_ID,
      code,
      redirect_uri: redirectUri,
      code_verifier: codeVerifier,
      ...extra,
    }),
  );

t.test('the authorize endpoint shows a labelled sign-in form carrying the request', async (t) => {
  const response = await fetch(`${issuer.authorizeUrl}?${authorizeParams({ state: '"><script>x</script>' })}`);
  t.equal(response.status, 200);
  t.match(response.headers.get('content-type'), /^text\/html/);
  const html = await response.text();
  t.match(html, /<label for="username">User name<\/label>/);
  t.match(html, /name="state" value="&quot;&gt;&lt;script&gt;x&lt;\/script&gt;"/, 'request values are escaped');
  t.notMatch(html, /<script>/);
});

t.test('unknown clients and foreign redirect URIs get an error page, never a redirect', async (t) => {
  for (const [label, overrides] of [
    ['unknown client', { client_id: 'someone-else' }],
    ['foreign redirect_uri', { redirect_uri: 'https://evil.example/' }],
    ['no redirect_uri', { redirect_uri: undefined }],
  ] as const) {
    const response = await fetch(`${issuer.authorizeUrl}?${authorizeParams(overrides)}`, { redirect: 'manual' });
    t.equal(response.status, 400, label);
    t.equal(response.headers.get('location'), null, `${label}: no redirect`);
  }
});

t.test('a request without PKCE, or for another response type, is sent back with an OAuth error', async (t) => {
  for (const [overrides, error] of [
    [{ code_challenge: undefined }, 'invalid_request'],
    [{ code_challenge_method: 'plain' }, 'invalid_request'],
    [{ response_type: 'token' }, 'unsupported_response_type'],
    [{ scope: 'email' }, 'invalid_scope'],
  ] as const) {
    const response = await fetch(`${issuer.authorizeUrl}?${authorizeParams(overrides)}`, { redirect: 'manual' });
    t.equal(response.status, 302);
    const location = new URL(response.headers.get('location')!);
    t.equal(location.searchParams.get('error'), error, JSON.stringify(overrides));
    t.equal(location.searchParams.get('state'), 'state-123');
  }
});

t.test('an invalid user name shows the form again with the reason', async (t) => {
  const response = await post(issuer.authorizeUrl, authorizeParams({ username: 'no spaces allowed' }));
  t.equal(response.status, 400);
  t.match(await response.text(), /role="alert"[^>]*>A user name is/);
});

t.test('code + verifier → an ID token the API accepts, once', async (t) => {
  const codeVerifier = verifier();
  const code = await signIn(codeVerifier);
  const response = await exchange(code, codeVerifier);
  t.equal(response.status, 200);
  t.equal(response.headers.get('access-control-allow-origin'), '*', 'the page may call it from its own origin');
  t.equal(response.headers.get('cache-control'), 'no-store');
  const tokens = (await response.json()) as { id_token: string; access_token: string; refresh_token: string; token_type: string; expires_in: number };
  t.match(tokens, { token_type: 'Bearer', expires_in: 3600, id_token: String, access_token: String, refresh_token: String });

  const verify = createTokenVerifier({ issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, jwksUrl: issuer.jwksUrl });
  t.same(await verify.verify(`Bearer ${tokens.id_token}`), { userId: 'alice' }, 'the API verifies it: aud is the app client');
  const claims = JSON.parse(Buffer.from(tokens.id_token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
  t.match(claims, { 'cognito:username': 'alice', token_use: 'id', sub: 'alice', auth_time: Number });
  await t.rejects(verify.verify(`Bearer ${tokens.access_token}`), 'access tokens are not bearer tokens for this API (no aud)');

  t.equal((await exchange(code, codeVerifier)).status, 400, 'a code works once');
});

t.test('a wrong verifier or redirect_uri burns the code', async (t) => {
  const codeVerifier = verifier();
  const code = await signIn(codeVerifier);
  const wrong = await exchange(code, verifier());
  t.equal(wrong.status, 400);
  t.match(await wrong.json(), { error: 'invalid_grant' });
  t.equal((await exchange(code, codeVerifier)).status, 400, 'not even the right verifier gets it afterwards');

  const other = verifier();
  const second = await signIn(other);
  t.equal((await exchange(second, other, { redirect_uri: 'http://127.0.0.1:3000/elsewhere' })).status, 400, 'redirect_uri must match');
  t.match(await (await exchange('made-up', other)).json(), { error: 'invalid_grant' });
  t.equal((await exchange(second, other, { client_id: 'someone-else' })).status, 401, 'unknown client');
});

t.test('a refresh token gives new ID tokens; nothing else does', async (t) => {
  const codeVerifier = verifier();
  const tokens = (await (await exchange(await signIn(codeVerifier, 'bob'), codeVerifier)).json()) as { id_token: string; refresh_token: string };
  const refresh = (token: string) =>
    post(issuer.tokenUrl, new URLSearchParams({ grant_type: 'refresh_token', client_id: LOCAL_CLIENT_ID, refresh_token: token }));
  const refreshed = await refresh(tokens.refresh_token);
  t.equal(refreshed.status, 200);
  const body = (await refreshed.json()) as { id_token: string; refresh_token?: string };
  t.notOk(body.refresh_token, 'like Cognito, no new refresh token');
  const verify = createTokenVerifier({ issuer: LOCAL_ISSUER, audience: LOCAL_AUDIENCE, jwksUrl: issuer.jwksUrl });
  t.same(await verify.verify(`Bearer ${body.id_token}`), { userId: 'bob' });
  t.equal((await refresh(tokens.id_token)).status, 400, 'an ID token is not a refresh token');
  t.equal((await refresh('garbage')).status, 400);
  const unsupported = await post(issuer.tokenUrl, new URLSearchParams({ grant_type: 'password', client_id: LOCAL_CLIENT_ID }));
  t.match(await unsupported.json(), { error: 'unsupported_grant_type' });
});

t.test('logout redirects back to an allowed page only', async (t) => {
  const ok = await fetch(`${issuer.logoutUrl}?client_id=${LOCAL_CLIENT_ID}&logout_uri=${encodeURIComponent(redirectUri)}`, { redirect: 'manual' });
  t.equal(ok.status, 302);
  t.equal(ok.headers.get('location'), redirectUri);
  const foreign = await fetch(`${issuer.logoutUrl}?client_id=${LOCAL_CLIENT_ID}&logout_uri=${encodeURIComponent('https://evil.example/')}`, {
    redirect: 'manual',
  });
  t.equal(foreign.status, 400);
});

t.test('a form over 16 KiB is refused as an invalid request, and HEAD is no GET', async (t) => {
  const response = await post(
    issuer.tokenUrl,
    new URLSearchParams({ grant_type: 'refresh_token', client_id: LOCAL_CLIENT_ID, refresh_token: 'x'.repeat(16 * 1024) }),
  );
  t.equal(response.status, 400);
  t.same(await response.json(), { error: 'invalid_request' });
  t.equal((await fetch(issuer.jwksUrl, { method: 'HEAD' })).status, 404);
});
