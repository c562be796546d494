/**
 * The security headers of every API response, as @fastify/helmet options: one policy for the JSON
 * API (nothing in a response may load, run or frame anything), one for Swagger UI at /docs. The
 * web page sets its own Content-Security-Policy (routes/web), which takes precedence over the
 * API's on its routes.
 *
 * Responses written before any route is found (a malformed URL, an id over the router's limit) or
 * by the HTTP parser itself (headers too large, a broken Content-Length) never reach Fastify's
 * hooks, so `STATIC_SECURITY_HEADERS` is the same policy rendered once as plain headers for them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';
import type { FastifyHelmetOptions } from '@fastify/helmet';

/** For JSON and problem+json: no content of any kind may be loaded, and nothing may frame it. */
export const API_SECURITY_HEADERS = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
    },
  },
  xFrameOptions: { action: 'deny' },
  // Signed URLs and sign-in codes must not leak to other sites through Referer.
  referrerPolicy: { policy: 'no-referrer' },
} as const satisfies FastifyHelmetOptions;

/**
 * Swagger UI: its own scripts, styles and fonts only (it has no inline script), images it draws
 * as data: URIs, the document fetched from this origin ("Try it out" calls this origin too).
 * Its bundle inserts one fixed `<style>` element at start, allowed by its hash rather than
 * 'unsafe-inline' (test/e2e/security-headers.test.ts loads /docs in Chromium; after a Swagger UI
 * upgrade that changes it, the console error there names the new hash).
 * No `upgrade-insecure-requests`: the local stack serves plain http on loopback.
 */
export const DOCS_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'sha256-RL3ie0nH+Lzz2YNqQN83mnU0J1ot4QL7b99vMdIX99w='",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The API policy as the header lines helmet would write, for responses written without hooks. */
export const STATIC_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze(renderHeaders(API_SECURITY_HEADERS));

// helmet's ESM and CommonJS typings are distinct types of the same options, hence the parameter type.
function renderHeaders(options: Parameters<typeof helmet>[0]): Record<string, string> {
  const headers: Record<string, string | number | readonly string[]> = {};
  const response = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = value;
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (error?: unknown) => {
    if (error) throw error;
  });
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, String(value)]));
}
