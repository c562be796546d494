/**
 * The local stand-in for Cognito: an RSA key pair kept in the data directory, a JWKS endpoint the
 * API verifies against exactly as it would Cognito's, tokens for any user id, and the hosted UI's
 * OAuth 2 endpoints (authorization code with PKCE) so the web page signs in here exactly as it
 * does against Cognito:
 *
 *   GET  /oauth2/authorize  a plain sign-in form (a user name, no password: local only)
 *   POST /oauth2/authorize  → 302 redirect_uri?code=…&state=…
 *   POST /oauth2/token      authorization_code (+ code_verifier) or refresh_token → id_token, …
 *   GET  /logout            → 302 logout_uri
 *
 * Requests and answers follow Cognito's: https://docs.aws.amazon.com/cognito/latest/developerguide/
 * authorization-endpoint.html, token-endpoint.html, logout-endpoint.html. As in Cognito, the ID
 * token's `aud` is the app client id, and `sub` is the user (here the user name itself, so
 * `npm run token -- alice` and signing in as alice are the same user).
 */
import { createHash, randomBytes } from 'node:crypto';
import { validateHeaderValue } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
import { loadOrCreateKeyFile } from '../key-file.ts';
import { exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';

export const LOCAL_ISSUER = 'urn:vod:local-issuer';
export const LOCAL_AUDIENCE = 'vod-api';
/** The local app client: as in Cognito, its id is the `aud` of the ID tokens the API accepts. */
export const LOCAL_CLIENT_ID = LOCAL_AUDIENCE;

const ID_TOKEN_SECONDS = 3600;
const REFRESH_TOKEN_SECONDS = 30 * 24 * 3600;
const CODE_LIFETIME_MS = 5 * 60_000;
const MAX_FORM_BYTES = 16 * 1024;
const USER_NAME = /^[A-Za-z0-9._@+-]{1,128}$/;
/** RFC 7636: 43 to 128 characters of [A-Za-z0-9-._~]; S256 challenges are 43 base64url characters. */
const CODE_VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
const CODE_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

interface IssuerKeys {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/** Reads the issuer's key pair from `dir`, creating it on first use. */
export async function loadIssuerKeys(dir: string): Promise<IssuerKeys> {
  return loadOrCreateKeyFile<IssuerKeys>(join(dir, 'issuer-key.json'), async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const kid = `local-${Date.now().toString(36)}`;
    return {
      kid,
      privateJwk: { ...(await exportJWK(privateKey)), kid, alg: 'RS256' },
      publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' },
    };
  });
}

export async function issueToken(
  keys: IssuerKeys,
  userId: string,
  options: {
    expiresInSeconds?: number;
    issuer?: string;
    audience?: string;
    now?: Date;
    /** More claims, e.g. Cognito's `cognito:username` or an OIDC `nonce`. */
    claims?: Record<string, unknown>;
  } = {},
): Promise<string> {
  const privateKey = await importJWK(keys.privateJwk, 'RS256');
  const issuedAt = Math.floor((options.now ?? new Date()).getTime() / 1000);
  return new SignJWT({ ...options.claims, token_use: 'id' })
    .setProtectedHeader({ alg: 'RS256', kid: keys.kid, typ: 'JWT' })
    .setSubject(userId)
    .setIssuer(options.issuer ?? LOCAL_ISSUER)
    .setAudience(options.audience ?? LOCAL_AUDIENCE)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + (options.expiresInSeconds ?? ID_TOKEN_SECONDS))
    .sign(privateKey);
}

/** Cognito-shaped access and refresh tokens: no `aud`, the client in `client_id`. */
async function issueClientToken(
  keys: IssuerKeys,
  userId: string,
  use: 'access' | 'refresh',
  claims: { client_id: string; scope: string },
  expiresInSeconds: number,
): Promise<string> {
  const privateKey = await importJWK(keys.privateJwk, 'RS256');
  const issuedAt = Math.floor(Date.now() / 1000);
  return new SignJWT({ ...claims, token_use: use, username: userId })
    .setProtectedHeader({ alg: 'RS256', kid: keys.kid, typ: 'JWT' })
    .setSubject(userId)
    .setIssuer(LOCAL_ISSUER)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + expiresInSeconds)
    .setJti(randomBytes(12).toString('base64url'))
    .sign(privateKey);
}

export interface LocalIssuer {
  url: string;
  jwksUrl: string;
  /** The hosted UI's endpoints, for the web page's settings (AUTH_AUTHORIZE_URL, …). */
  authorizeUrl: string;
  tokenUrl: string;
  logoutUrl: string;
  clientId: string;
  keys: IssuerKeys;
  close(): Promise<void>;
}

interface AuthorizationRequest {
  clientId: string;
  redirectUri: string;
  state: string | undefined;
  scope: string;
  codeChallenge: string;
  nonce: string | undefined;
}

interface IssuedCode extends AuthorizationRequest {
  userId: string;
  authTime: number;
  expiresAt: number;
}

class OAuthError extends Error {
  override name = 'OAuthError';
  constructor(
    readonly error: string,
    description: string,
  ) {
    super(description);
  }
}

/**
 * Callback URLs this local app client accepts: any http(s) page on the loopback interface (the
 * API's port is ephemeral in tests). Cognito checks an exact list; an unlisted redirect_uri gets
 * an error page, never a redirect, so the issuer cannot be used to bounce users elsewhere.
 */
function isAllowedRedirect(value: string | undefined): value is string {
  if (!value) return false;
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) &&
      url.hash === '' &&
      url.username === '' &&
      url.password === ''
    );
  } catch {
    return false;
  }
}

const htmlEscape = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function signInPage(request: AuthorizationRequest, message?: { text: string; userName: string }): string {
  const hidden = (name: string, value: string | undefined) => (value === undefined ? '' : `<input type="hidden" name="${name}" value="${htmlEscape(value)}">`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · local stack</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; display: grid; place-items: center; min-height: 100vh; background: #f4f5f7; color: #1b1f24; }
  main { background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px #0002; width: min(22rem, 100% - 2rem); box-sizing: border-box; }
  h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
  p { margin: 0 0 1rem; color: #4a5360; font-size: .9rem; }
  label { display: block; font-weight: 600; margin-bottom: .25rem; }
  input[type=text] { width: 100%; box-sizing: border-box; font: inherit; padding: .5rem; border: 1px solid #8a94a3; border-radius: 4px; }
  button { margin-top: 1rem; width: 100%; font: inherit; font-weight: 600; padding: .6rem; border: 0; border-radius: 4px; background: #0b5cad; color: #fff; cursor: pointer; }
  :focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
  [role=alert] { color: #b00020; font-weight: 600; }
</style>
</head>
<body>
<main>
  <h1>Sign in</h1>
  <p>Local stack: this form stands in for Cognito's hosted UI. Any user name signs in; there is no password.</p>
  ${message ? `<p role="alert" id="problem">${htmlEscape(message.text)}</p>` : ''}
  <form method="post" action="/oauth2/authorize">
    ${hidden('response_type', 'code')}${hidden('client_id', request.clientId)}${hidden('redirect_uri', request.redirectUri)}
    ${hidden('state', request.state)}${hidden('scope', request.scope)}${hidden('code_challenge', request.codeChallenge)}
    ${hidden('code_challenge_method', 'S256')}${hidden('nonce', request.nonce)}
    <label for="username">User name</label>
    <input type="text" id="username" name="username" required autofocus autocomplete="username"
      pattern="[A-Za-z0-9._@+\\-]{1,128}" maxlength="128" value="${htmlEscape(message?.userName ?? '')}"
      ${message ? 'aria-describedby="problem" aria-invalid="true"' : ''}>
    <button type="submit">Sign in</button>
  </form>
</main>
</body>
</html>`;
}

function errorPage(text: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in error</title></head><body><main><h1>Sign-in error</h1><p role="alert">${htmlEscape(text)}</p></main></body></html>`;
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

export async function startLocalIssuer(options: { dir: string; port: number; clientId?: string }): Promise<LocalIssuer> {
  const keys = await loadIssuerKeys(options.dir);
  const clientId = options.clientId ?? LOCAL_CLIENT_ID;
  const jwks = JSON.stringify({ keys: [keys.publicJwk] });
  const codes = new Map<string, IssuedCode>();

  const send = (reply: FastifyReply, status: number, type: string, body: string, headers: Record<string, string> = {}) =>
    // A Buffer, so the content type goes out as given (Fastify adds a charset to a JSON string's).
    reply
      .code(status)
      .headers({ 'content-type': type, 'cache-control': 'no-store', ...headers })
      .send(Buffer.from(body));
  const sendHtml = (reply: FastifyReply, status: number, body: string) =>
    send(reply, status, 'text/html; charset=utf-8', body, {
      // No form-action: browsers apply it to the redirect that follows the form (to the page).
      'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
  // The token endpoint answers browsers on another origin (the web page), as Cognito's does.
  const sendJson = (reply: FastifyReply, status: number, value: unknown) =>
    send(reply, status, 'application/json', JSON.stringify(value), { 'access-control-allow-origin': '*', pragma: 'no-cache' });
  const redirectTo = (reply: FastifyReply, target: string) => {
    // Node refuses some characters in a header only when it writes it, and Fastify then answers
    // its own 500; checked first, such a target is this issuer's 500 (server_error).
    validateHeaderValue('location', target);
    return reply.header('cache-control', 'no-store').redirect(target, 302);
  };

  /** Checks an authorization request; errors that may not be redirected are thrown as text. */
  function authorizationRequest(params: URLSearchParams): AuthorizationRequest {
    if (params.get('client_id') !== clientId) throw new Error(`Unknown client_id; this issuer's app client is ${clientId}.`);
    const redirectUri = params.get('redirect_uri') ?? undefined;
    if (!isAllowedRedirect(redirectUri)) throw new Error('redirect_uri is not an allowed callback URL (a page on 127.0.0.1 or localhost).');
    const request: AuthorizationRequest = {
      clientId,
      redirectUri,
      state: params.get('state') ?? undefined,
      scope: params.get('scope') ?? 'openid',
      codeChallenge: params.get('code_challenge') ?? '',
      nonce: params.get('nonce') ?? undefined,
    };
    return request;
  }

  /** The redirectable problems of a request, as OAuth's error codes. */
  function requestProblem(params: URLSearchParams, request: AuthorizationRequest): OAuthError | undefined {
    if (params.get('response_type') !== 'code') return new OAuthError('unsupported_response_type', 'Only response_type=code is supported');
    if (!request.scope.split(' ').includes('openid')) return new OAuthError('invalid_scope', 'The scope must include openid');
    if (params.get('code_challenge_method') !== 'S256' || !CODE_CHALLENGE.test(request.codeChallenge)) {
      return new OAuthError('invalid_request', 'PKCE is required: code_challenge with code_challenge_method=S256');
    }
    return undefined;
  }

  /** Back to the client's page with OAuth's answer in the query. */
  const answerTo = (reply: FastifyReply, redirectUri: string, params: Record<string, string | undefined>) => {
    const url = new URL(redirectUri);
    for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
    return redirectTo(reply, url.href);
  };

  function authorize(request: FastifyRequest, reply: FastifyReply, params: URLSearchParams) {
    let authorization: AuthorizationRequest;
    try {
      authorization = authorizationRequest(params);
    } catch (error) {
      return sendHtml(reply, 400, errorPage((error as Error).message));
    }
    const problem = requestProblem(params, authorization);
    if (problem) {
      return answerTo(reply, authorization.redirectUri, { error: problem.error, error_description: problem.message, state: authorization.state });
    }
    if (request.method === 'GET') return sendHtml(reply, 200, signInPage(authorization));

    const userName = (params.get('username') ?? '').trim();
    if (!USER_NAME.test(userName)) {
      return sendHtml(reply, 400, signInPage(authorization, { text: 'A user name is 1 to 128 letters, digits or . _ @ + -', userName }));
    }
    const code = randomBytes(24).toString('base64url');
    codes.set(code, { ...authorization, userId: userName, authTime: Math.floor(Date.now() / 1000), expiresAt: Date.now() + CODE_LIFETIME_MS });
    return answerTo(reply, authorization.redirectUri, { code, state: authorization.state });
  }

  async function tokensFor(userId: string, scope: string, extra: { nonce?: string; authTime?: number }, withRefresh: boolean) {
    const idToken = await issueToken(keys, userId, {
      audience: clientId,
      claims: {
        'cognito:username': userId,
        auth_time: extra.authTime ?? Math.floor(Date.now() / 1000),
        ...(extra.nonce ? { nonce: extra.nonce } : {}),
      },
    });
    const accessToken = await issueClientToken(keys, userId, 'access', { client_id: clientId, scope }, ID_TOKEN_SECONDS);
    return {
      id_token: idToken,
      access_token: accessToken,
      ...(withRefresh ? { refresh_token: await issueClientToken(keys, userId, 'refresh', { client_id: clientId, scope }, REFRESH_TOKEN_SECONDS) } : {}),
      token_type: 'Bearer',
      expires_in: ID_TOKEN_SECONDS,
    };
  }

  async function token(params: URLSearchParams) {
    if (params.get('client_id') !== clientId) throw new OAuthError('invalid_client', 'Unknown client_id');
    const grantType = params.get('grant_type');
    if (grantType === 'authorization_code') {
      const code = params.get('code') ?? '';
      const issued = codes.get(code);
      codes.delete(code); // single use, whatever happens next
      if (!issued || issued.expiresAt < Date.now()) throw new OAuthError('invalid_grant', 'The code is unknown, used or expired');
      if (issued.redirectUri !== params.get('redirect_uri')) throw new OAuthError('invalid_grant', 'redirect_uri differs from the authorization request');
      const verifier = params.get('code_verifier') ?? '';
      if (!CODE_VERIFIER.test(verifier) || s256(verifier) !== issued.codeChallenge) {
        throw new OAuthError('invalid_grant', 'code_verifier does not match the code_challenge');
      }
      return tokensFor(issued.userId, issued.scope, { nonce: issued.nonce, authTime: issued.authTime }, true);
    }
    if (grantType === 'refresh_token') {
      try {
        const { payload } = await jwtVerify(params.get('refresh_token') ?? '', await importJWK(keys.publicJwk, 'RS256'), {
          issuer: LOCAL_ISSUER,
          algorithms: ['RS256'],
          requiredClaims: ['sub', 'exp'],
        });
        if (payload.token_use !== 'refresh' || payload.client_id !== clientId) throw new Error('not a refresh token of this client');
        // Like Cognito, a refresh answers new ID and access tokens and no new refresh token.
        return tokensFor(payload.sub!, String(payload.scope ?? 'openid'), {}, false);
      } catch (error) {
        throw new OAuthError('invalid_grant', `The refresh token is not valid: ${(error as Error).message}`);
      }
    }
    throw new OAuthError('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token');
  }

  const notFound = (reply: FastifyReply) => send(reply, 404, 'application/json', '{"message":"not found"}');
  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    // HEAD is not answered as GET: like any method Cognito's endpoints do not take, it gets the 404.
    exposeHeadRoutes: false,
    // A path that does not percent-decode names no endpoint either (Fastify would answer its own 400).
    frameworkErrors: (_error, _request, reply) => void notFound(reply),
  });
  // A form is read whatever its content type says, up to MAX_FORM_BYTES, the first value of a
  // repeated name counting (URLSearchParams, as for the query).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: MAX_FORM_BYTES }, (_request, body, done) => done(null, new URLSearchParams(body as string)));
  const queryOf = (request: FastifyRequest) => new URL(request.url, 'http://issuer.invalid').searchParams;
  const formOf = (request: FastifyRequest) => (request.body as URLSearchParams | undefined) ?? new URLSearchParams();

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    // What Fastify refuses itself (a form over the limit) is the client's; anything else the issuer's.
    const status = error.statusCode !== undefined && error.statusCode < 500 ? 400 : 500;
    return send(reply, status, 'application/json', JSON.stringify({ error: status === 400 ? 'invalid_request' : 'server_error' }));
  });
  app.setNotFoundHandler((_request, reply) => notFound(reply));

  app.get('/.well-known/jwks.json', (_request, reply) => send(reply, 200, 'application/json', jwks, { 'cache-control': 'max-age=300' }));
  app.get('/oauth2/authorize', (request, reply) => authorize(request, reply, queryOf(request)));
  app.post('/oauth2/authorize', (request, reply) => authorize(request, reply, formOf(request)));
  app.options('/oauth2/token', (_request, reply) =>
    reply
      .code(204)
      .headers({
        'access-control-allow-origin': '*',
        'access-control-allow-methods': 'POST',
        'access-control-allow-headers': 'content-type',
        'access-control-max-age': '3000',
      })
      .send(),
  );
  app.post('/oauth2/token', async (request, reply) => {
    try {
      return sendJson(reply, 200, await token(formOf(request)));
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      return sendJson(reply, error.error === 'invalid_client' ? 401 : 400, { error: error.error, error_description: error.message });
    }
  });
  app.get('/logout', (request, reply) => {
    // Cognito ends its session cookie here; the local form keeps no session, so only redirect.
    const params = queryOf(request);
    const logoutUri = params.get('logout_uri') ?? undefined;
    if (params.get('client_id') !== clientId || !isAllowedRedirect(logoutUri)) {
      return sendHtml(reply, 400, errorPage('Unknown client_id or a logout_uri that is not allowed'));
    }
    return redirectTo(reply, logoutUri);
  });

  // Expired codes are dropped now and then, so a long-running stack does not keep them all.
  const sweep = setInterval(() => {
    for (const [code, issued] of codes) if (issued.expiresAt < Date.now()) codes.delete(code);
  }, CODE_LIFETIME_MS).unref();
  await app.listen({ host: '127.0.0.1', port: options.port });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    url,
    jwksUrl: `${url}/.well-known/jwks.json`,
    authorizeUrl: `${url}/oauth2/authorize`,
    tokenUrl: `${url}/oauth2/token`,
    logoutUrl: `${url}/logout`,
    clientId,
    keys,
    close: async () => {
      clearInterval(sweep);
      await app.close();
    },
  };
}
