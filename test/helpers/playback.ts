/**
 * Playing through the CloudFront stand-in as a player would: signed URLs, signed cookies, and
 * walking playlists. Bad signatures for attack tests are made here with the SDK's signer and
 * node:crypto, never with the code under test.
 */
import { getSignedUrl } from '@aws-sdk/cloudfront-signer';

/** CloudFront's URL-safe base64. */
export const toUrlSafeBase64 = (bytes: Buffer) => bytes.toString('base64').replace(/\+/g, '-').replace(/=/g, '_').replace(/\//g, '~');
export const fromUrlSafeBase64 = (text: string) => Buffer.from(text.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64');

export const epochNow = () => Math.floor(Date.now() / 1000);

/** A custom-policy signed URL for `url`, the policy's one statement as given. */
export function signWithPolicy(
  url: string,
  statement: { Resource?: string; Condition: Record<string, unknown> },
  key: { keyPairId: string; privateKey: string },
): string {
  return getSignedUrl({ url, policy: JSON.stringify({ Statement: [statement] }), keyPairId: key.keyPairId, privateKey: key.privateKey });
}

/** The signing query of a signed URL (everything after `?`). */
export const queryOf = (signedUrl: string) => signedUrl.slice(signedUrl.indexOf('?') + 1);

/** The same URL with a different signing query. */
export const withQuery = (url: string, query: string) => `${url.split('?')[0]}?${query}`;

/** Every URI a playlist names: URI lines and URI="..." attributes, as written. */
export function urisOf(playlist: string): string[] {
  const uris: string[] = [];
  for (const line of playlist.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      for (const match of line.matchAll(/(?:^|[:,])URI="([^"]*)"/g)) uris.push(match[1]!);
    } else {
      uris.push(line.trim());
    }
  }
  return uris;
}

/** `name=value` pairs for a Cookie header, from a response's Set-Cookie headers. */
export function cookieHeaderOf(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0]!)
    .join('; ');
}

/** Runs `work` over `items`, `concurrency` at a time. */
export async function eachLimited<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}
