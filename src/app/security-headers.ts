/**
 * The security headers of every API response: one policy for the JSON API (nothing in a response
 * may load, run or frame anything), one Content-Security-Policy for Swagger UI at /docs. The web
 * page sets its own Content-Security-Policy (routes/web), which takes precedence on its routes.
 *
 * Plain headers, set by one onRequest hook (src/app/app.ts) and written as they are by the responses
 * that never reach Fastify's hooks (a malformed URL, an id over the router's limit, what the HTTP
 * parser refuses: src/app/error-handler.ts). They are helmet's defaults with a CSP of our own, written
 * out rather than computed by helmet at every cold start.
 */

/** For JSON and problem+json: no content of any kind may be loaded, and nothing may frame it. */
export const API_SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'",
  'x-frame-options': 'DENY',
  // Signed URLs and sign-in codes must not leak to other sites through Referer.
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-permitted-cross-domain-policies': 'none',
  // The legacy XSS auditor is off: it caused leaks of its own.
  'x-xss-protection': '0',
});

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
