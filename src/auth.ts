/**
 * Bearer token verification by issuer + JWKS, so Cognito (in AWS) and the local stack's issuer are
 * interchangeable. Keys are fetched once and cached by jose; a new `kid` triggers a refetch.
 */
import { createRemoteJWKSet, jwtVerify, errors as joseErrors } from 'jose';
import { UnauthenticatedError } from './errors.ts';
import type { Viewer } from './video-service.ts';

export interface TokenVerifier {
  verify(authorizationHeader: string | undefined): Promise<Viewer>;
}

export function createTokenVerifier(options: { issuer: string; audience: string; jwksUrl: string }): TokenVerifier {
  const keys = createRemoteJWKSet(new URL(options.jwksUrl), { cooldownDuration: 30_000 });
  return {
    async verify(header) {
      const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header ?? '');
      if (!match?.[1]) throw new UnauthenticatedError('Send Authorization: Bearer <token>');
      try {
        const { payload } = await jwtVerify(match[1], keys, {
          issuer: options.issuer,
          // Cognito access tokens carry the app client in client_id rather than aud; the template
          // configures ID tokens (which have aud) for the HTTP API authorizer.
          audience: options.audience,
          algorithms: ['RS256', 'ES256'],
          requiredClaims: ['sub', 'exp'],
        });
        return { userId: payload.sub! };
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
