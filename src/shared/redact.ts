/**
 * Logs and error messages must never carry what grants access: a pre-signed URL's signature and
 * credential (S3 honours it until it expires), CloudFront's signing query or cookies, a bearer
 * token or any JWT, a private key, the local worker's token. They arrive in places nobody chose to
 * log them: an ffmpeg command line inside an error's `cmd`, a URL in a message, a header echoed by
 * a library. So every log line is redacted as it is written (redactingDestination), whatever
 * object or message it came from, and messages that reach people go through redactSecrets too.
 *
 * Only the secret part is replaced; the rest of a URL (host, key, expiry) stays, since it is what
 * a person reading the log needs.
 */

export const REDACTED = '[REDACTED]';

const SECRETS: ReadonlyArray<[RegExp, string]> = [
  // Query parameters and cookies: SigV4 pre-signing, CloudFront signed URLs and cookies
  // (CloudFront-Policy=..., Policy=...), raw or percent-encoded inside another URL. Of CloudFront's
  // signing parameters (src/shared/cloudfront-signing.ts) Expires and Hash-Algorithm are left out on
  // purpose: they grant nothing, and the expiry is what a person reading the log needs.
  [/\b(X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|Policy|Key-Pair-Id)(=|%3D)[^&\s"'`;,<>\\]+/gi, `$1$2${REDACTED}`],
  // An Authorization header's value, SigV4 (Credential=..., Signature=...) handled above.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*/gi, `$1 ${REDACTED}`],
  // A JWT anywhere (header.payload.signature, base64url; the header always starts with {").
  [/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, REDACTED],
  // PEM private keys, raw or with their line breaks escaped inside JSON.
  [/-----BEGIN ([A-Z ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g, REDACTED],
  // The local transcoder's token (header and setting) and OAuth tokens in a form or JSON body.
  [/\b(x-vod-worker-token|TRANSCODE_WORKER_TOKEN|access_token|id_token|refresh_token)("?\s*[:=]\s*"?)[^\s"&,;]+/gi, `$1$2${REDACTED}`],
];

/**
 * A word every secret above comes with. Most log lines carry none, and one test costs about a third
 * of the cost of all the replacements (each line of every request goes through here).
 */
const MAY_HOLD_A_SECRET = /signature|credential|security-token|policy|key-pair-id|bearer|basic|eyJ|private key|token/i;

export function redactSecrets(text: string): string {
  if (!MAY_HOLD_A_SECRET.test(text)) return text;
  let redacted = text;
  for (const [pattern, replacement] of SECRETS) redacted = redacted.replace(pattern, replacement);
  return redacted;
}

/** What pino and Fastify's logger write to: anything with write(line). */
export interface LogDestination {
  write(line: string): unknown;
}

/**
 * A log destination that redacts each line before it reaches `destination` (the caller passes
 * `process.stdout`: this module names no Node API, src/shared/README.md).
 */
export function redactingDestination(destination: LogDestination): LogDestination {
  return { write: (line: string) => destination.write(redactSecrets(line)) };
}
