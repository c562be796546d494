/**
 * Bearer token verification by issuer + JWKS, so Cognito (in AWS) and the local stack's issuer are
 * interchangeable. Keys are fetched once and cached by jose; a new `kid` triggers a refetch.
 *
 * A token that verified is remembered (a bounded cache, per container) until its `exp`, so a viewer's
 * later requests skip the signature check (~0.1 ms of RS256 each, the largest part of the API's
 * own work per request). Nothing else can change a verified token's answer before it expires:
 * the claims checked are in the signed token, and a removed key does not revoke tokens in Cognito
 * either (API Gateway's JWT authorizer caches keys the same way). Failures are not remembered.
 */
import { createRemoteJWKSet, jwtVerify, errors as joseErrors } from 'jose';
import { UnauthenticatedError } from '../../domain/errors.ts';
import { createBoundedCache } from '../../shared/bounded-cache.ts';
import type { Viewer } from '../../domain/video-service.ts';

export interface TokenVerifier {
  verify(authorizationHeader: string | undefined): Promise<Viewer>;
}

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  jwksUrl: string;
  /** How many verified tokens to remember (default 1000, about 1 MB at most). */
  cacheSize?: number;
  /** The clock, in milliseconds (tests move it). */
  now?: () => number;
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const jwksUrl = new URL(options.jwksUrl);
  const now = options.now ?? Date.now;
  // Made at the first verification: creating it loads Node's fetch (undici), 15-20 ms of a cold
  // start that /health, the page and the docs never need (the first verification fetches the
  // keys with it anyway).
  let keys: ReturnType<typeof createRemoteJWKSet> | undefined;
  const verified = createBoundedCache<string, { viewer: Viewer; expiresAtSeconds: number }>(options.cacheSize ?? 1000);
  return {
    async verify(header) {
      // Keyed by the whole header: a hit is one lookup, and only a header that passed the check
      // below (and verified) is ever in the cache.
      const known = header === undefined ? undefined : verified.get(header);
      // jose's own rule: a token is expired once now >= exp. An expired one is verified again,
      // so it gets jose's answer (and message) as it would have without the cache.
      if (known && now() / 1000 < known.expiresAtSeconds) return known.viewer;
      if (known) verified.delete(header!);
      const token = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header ?? '')?.[1];
      if (!token) throw new UnauthenticatedError('Send Authorization: Bearer <token>');
      try {
        const { payload } = await jwtVerify(token, (keys ??= createRemoteJWKSet(jwksUrl, { cooldownDuration: 30_000 })), {
          issuer: options.issuer,
          // Cognito access tokens carry the app client in client_id rather than aud; the template
          // configures ID tokens (which have aud) for the HTTP API authorizer.
          audience: options.audience,
          algorithms: ['RS256', 'ES256'],
          requiredClaims: ['sub', 'exp'],
          currentDate: new Date(now()),
        });
        // jose checks that `sub` is there, not that it names anyone.
        if (typeof payload.sub !== 'string' || payload.sub.trim() === '')
          throw new UnauthenticatedError('Unauthenticated: the token names no user (empty sub)');
        const viewer: Viewer = Object.freeze({ userId: payload.sub });
        verified.set(header!, { viewer, expiresAtSeconds: payload.exp! });
        return viewer;
      } catch (error) {
        if (error instanceof joseErrors.JOSEError) {
          const reason = error instanceof joseErrors.JWTExpired ? 'the token has expired' : 'the token is not valid here';
          throw new UnauthenticatedError(`Unauthenticated: ${reason}`, { cause: error });
        }
        throw error;
      }
    },
  };
}
