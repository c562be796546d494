/**
 * What the web page needs from the settings (src/app/config.ts, validated there once at boot): where
 * its built assets are and where to sign in. Sign-in is the OAuth 2 authorization code flow with
 * PKCE against Cognito's hosted UI (or the local stack's issuer, which offers the same endpoints).
 */
import type { Config } from '../../src/app/config.ts';

export type WebSettings = Pick<Config, 'WEB_ASSETS_DIR' | 'AUTH_AUTHORIZE_URL' | 'AUTH_TOKEN_URL' | 'AUTH_CLIENT_ID' | 'AUTH_LOGOUT_URL' | 'AUTH_SCOPES'>;

/** What the page needs to sign in, or null when sign-in is not configured. */
export interface WebAuthConfig {
  authorizeUrl: string;
  tokenUrl: string;
  clientId: string;
  scopes: string;
  logoutUrl?: string;
}
export function authConfigOf(settings: WebSettings): WebAuthConfig | null {
  if (!settings.AUTH_AUTHORIZE_URL || !settings.AUTH_TOKEN_URL || !settings.AUTH_CLIENT_ID) return null;
  return {
    authorizeUrl: settings.AUTH_AUTHORIZE_URL,
    tokenUrl: settings.AUTH_TOKEN_URL,
    clientId: settings.AUTH_CLIENT_ID,
    scopes: settings.AUTH_SCOPES,
    ...(settings.AUTH_LOGOUT_URL ? { logoutUrl: settings.AUTH_LOGOUT_URL } : {}),
  };
}
