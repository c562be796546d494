/**
 * Settings of the web page, read once from environment variables when the page plugin registers,
 * validated like src/config.ts (a malformed one fails fast, naming it).
 *
 * They live here until src/config.ts absorbs them (it was being edited by another change when
 * the page was written): moving them is a matter of adding these entries to ConfigSchema and
 * passing the config to the plugin.
 *
 * Sign-in is the OAuth 2 authorization code flow with PKCE against Cognito's hosted UI (or the
 * local stack's issuer, which offers the same endpoints). The page is a public client: no secret.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const Url = (description: string) => Type.String({ pattern: '^https?://[^\\s]+$', description });

export const WebSettingsSchema = Type.Object({
  WEB_ASSETS_DIR: Type.String({
    minLength: 1,
    default: 'dist/web',
    description: 'The built page (`npm run web` writes it), relative to the working directory or absolute.',
  }),
  AUTH_AUTHORIZE_URL: Type.Optional(
    Url('OAuth 2 authorization endpoint: Cognito `https://<domain>/oauth2/authorize`, locally the issuer’s.'),
  ),
  AUTH_TOKEN_URL: Type.Optional(Url('OAuth 2 token endpoint: Cognito `https://<domain>/oauth2/token`.')),
  AUTH_CLIENT_ID: Type.Optional(
    Type.String({ pattern: '^[\\w+.:-]{1,128}$', description: 'The app client (public, no secret); ID tokens carry it as `aud` (JWT_AUDIENCE).' }),
  ),
  AUTH_LOGOUT_URL: Type.Optional(Url('Cognito `https://<domain>/logout`; without it, signing out only forgets the tokens.')),
  AUTH_SCOPES: Type.String({ pattern: '^[\\w:/.-]+( [\\w:/.-]+)*$', default: 'openid', description: 'Space-separated; must include openid.' }),
});
export type WebSettings = Static<typeof WebSettingsSchema>;

/** What the page needs to sign in, or null when sign-in is not configured. */
export interface WebAuthConfig {
  authorizeUrl: string;
  tokenUrl: string;
  clientId: string;
  scopes: string;
  logoutUrl?: string;
}

export class WebSettingsError extends Error {
  override name = 'WebSettingsError';
}

export function loadWebSettings(env: Record<string, string | undefined>): WebSettings {
  const raw = Object.fromEntries(
    Object.keys(WebSettingsSchema.properties).flatMap((name) => (env[name] ? [[name, env[name]]] : [])),
  );
  const settings = Value.Default(WebSettingsSchema, raw) as WebSettings;
  const problems = [...Value.Errors(WebSettingsSchema, settings)].map((error) => `${error.path.slice(1)}: ${error.message}`);
  if (problems.length === 0) {
    // The three belong together: a page that can send people to sign in but not finish is worse
    // than one that says sign-in is not configured.
    const trio = ['AUTH_AUTHORIZE_URL', 'AUTH_TOKEN_URL', 'AUTH_CLIENT_ID'] as const;
    const given = trio.filter((name) => settings[name]);
    if (given.length > 0 && given.length < trio.length) {
      problems.push(...trio.filter((name) => !settings[name]).map((name) => `${name}: required with ${given.join(', ')}`));
    }
    if (!settings.AUTH_SCOPES.split(' ').includes('openid')) problems.push('AUTH_SCOPES: must include openid (the ID token is the bearer token)');
  }
  if (problems.length > 0) throw new WebSettingsError(`Invalid web page settings:\n  ${problems.join('\n  ')}`);
  return Object.freeze(settings);
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
