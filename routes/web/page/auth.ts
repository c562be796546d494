/**
 * Sign-in with the OAuth 2 authorization code flow and PKCE (RFC 7636), as Cognito's hosted UI
 * runs it for a public client: the page sends the browser to the authorize endpoint with a
 * SHA-256 challenge, gets a one-time code back on its own URL, and trades the code plus the
 * verifier for tokens at the token endpoint. The ID token is the API's bearer token (its `aud` is
 * the app client). Tokens live in sessionStorage: gone when the tab closes.
 */

export interface AuthConfig {
  authorizeUrl: string;
  tokenUrl: string;
  clientId: string;
  scopes: string;
  logoutUrl?: string;
}

export interface Session {
  idToken: string;
  refreshToken?: string;
  /** Epoch ms when the ID token expires. */
  expiresAt: number;
  userId: string;
  userName: string;
}

interface PendingSignIn {
  state: string;
  verifier: string;
  redirectUri: string;
  /** Where the visitor was (e.g. #watch=…), restored after signing in. */
  returnHash: string;
}

interface TokenResponse {
  id_token?: string;
  refresh_token?: string;
  expires_in?: number;
  error?: string;
  error_description?: string;
}

const SESSION_KEY = 'vod.session';
const PENDING_KEY = 'vod.sign-in';
/** Refresh this long before the ID token expires, so no request goes out with a dying token. */
const EXPIRY_MARGIN_MS = 60_000;

export class SignInError extends Error {
  override name = 'SignInError';
}

const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
const randomToken = (bytes: number) => base64url(crypto.getRandomValues(new Uint8Array(bytes)));

async function challengeOf(verifier: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/** The claims of a JWT, unverified: the page only reads who it is for and when it expires. */
function claimsOf(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  const json = atob(payload.replaceAll('-', '+').replaceAll('_', '/'));
  const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

function sessionOf(tokens: TokenResponse, previous?: Session): Session {
  if (!tokens.id_token) throw new SignInError('The sign-in service answered without an ID token');
  const claims = claimsOf(tokens.id_token);
  const userId = String(claims.sub ?? '');
  const expSeconds = typeof claims.exp === 'number' ? claims.exp : Date.now() / 1000 + (tokens.expires_in ?? 3600);
  return {
    idToken: tokens.id_token,
    refreshToken: tokens.refresh_token ?? previous?.refreshToken,
    expiresAt: expSeconds * 1000,
    userId,
    userName: String(claims['cognito:username'] ?? claims.email ?? userId),
  };
}

/** This page's address without query or fragment: the redirect URI registered with the client. */
export function pageRedirectUri(): string {
  return `${location.origin}${location.pathname}`;
}

export function createAuth(config: AuthConfig) {
  let session: Session | null = readSession();
  let refreshing: Promise<Session | null> | null = null;

  function readSession(): Session | null {
    try {
      const stored = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as Session | null;
      return stored && typeof stored.idToken === 'string' ? stored : null;
    } catch {
      return null;
    }
  }

  function store(next: Session | null): void {
    session = next;
    if (next) sessionStorage.setItem(SESSION_KEY, JSON.stringify(next));
    else sessionStorage.removeItem(SESSION_KEY);
  }

  async function postToken(form: Record<string, string>): Promise<TokenResponse> {
    let response: Response;
    try {
      response = await fetch(config.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: config.clientId, ...form }),
      });
    } catch {
      throw new SignInError('Could not reach the sign-in service. Check your connection and try again.');
    }
    const body = (await response.json().catch(() => ({}))) as TokenResponse;
    if (!response.ok) {
      throw new SignInError(`Signing in did not complete: ${body.error_description ?? body.error ?? `HTTP ${response.status}`}`);
    }
    return body;
  }

  async function refresh(): Promise<Session | null> {
    const current = session;
    if (!current?.refreshToken) return null;
    try {
      return sessionOf(await postToken({ grant_type: 'refresh_token', refresh_token: current.refreshToken }), current);
    } catch {
      return null;
    }
  }

  return {
    get session(): Session | null {
      return session;
    },

    /** Sends the browser to the sign-in page; it comes back to this page with a code. */
    async signIn(): Promise<void> {
      const pending: PendingSignIn = {
        state: randomToken(24),
        verifier: randomToken(48),
        redirectUri: pageRedirectUri(),
        returnHash: location.hash,
      };
      sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
      const url = new URL(config.authorizeUrl);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: config.clientId,
        redirect_uri: pending.redirectUri,
        scope: config.scopes,
        state: pending.state,
        code_challenge: await challengeOf(pending.verifier),
        code_challenge_method: 'S256',
      }).toString();
      location.assign(url.href);
    },

    /**
     * When this page load is the return from the sign-in page (?code=…&state=… or ?error=…),
     * trades the code for tokens and cleans the address bar. Returns whether it was such a load.
     */
    async completeSignIn(): Promise<boolean> {
      const params = new URLSearchParams(location.search);
      const code = params.get('code');
      const error = params.get('error');
      if (!code && !error) return false;
      const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as PendingSignIn | null;
      sessionStorage.removeItem(PENDING_KEY);
      // The code must never stay in the address bar, the history or a Referer.
      history.replaceState(null, '', `${pageRedirectUri()}${pending?.returnHash ?? location.hash}`);
      if (error) throw new SignInError(`Signing in did not complete: ${params.get('error_description') ?? error}`);
      if (!pending || pending.state !== params.get('state')) {
        throw new SignInError('That sign-in was not started from this tab (or it was started twice). Please sign in again.');
      }
      const tokens = await postToken({
        grant_type: 'authorization_code',
        code: code!,
        redirect_uri: pending.redirectUri,
        code_verifier: pending.verifier,
      });
      store(sessionOf(tokens));
      return true;
    },

    /** A bearer token good for at least a minute, refreshing it when needed; null when signed out. */
    async token(): Promise<string | null> {
      if (!session) return null;
      if (session.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return session.idToken;
      refreshing ??= refresh().finally(() => (refreshing = null));
      store(await refreshing);
      return session?.idToken ?? null;
    },

    /** Forgets the tokens; with a logout endpoint (Cognito), ends the hosted UI's session too. */
    signOut(): void {
      store(null);
      if (config.logoutUrl) {
        const url = new URL(config.logoutUrl);
        url.search = new URLSearchParams({ client_id: config.clientId, logout_uri: pageRedirectUri() }).toString();
        location.assign(url.href);
      }
    },

    /** The API said 401: the token is no good any more. */
    expire(): void {
      store(null);
    },
  };
}

export type Auth = ReturnType<typeof createAuth>;
