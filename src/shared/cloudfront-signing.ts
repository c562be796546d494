/**
 * How CloudFront carries a signature: the query parameters of a signed URL, and the signed cookie
 * each of them becomes (CloudFront's names, not ours). The page reads them off its manifest URL,
 * the edge signer copies them onto every URI of a playlist, the CDN stand-in checks them.
 */

/** The query parameters of a CloudFront signature (signed URL form). Names are case-sensitive. */
export const SIGNING_PARAMETERS = ['Policy', 'Expires', 'Signature', 'Key-Pair-Id', 'Hash-Algorithm'] as const;

export type SigningParameter = (typeof SIGNING_PARAMETERS)[number];

/** The name of a raw `name=value` query pair, as it is (not decoded); the whole pair when it has no `=`. */
export function queryPairName(pair: string): string {
  const equals = pair.indexOf('=');
  return equals === -1 ? pair : pair.slice(0, equals);
}

/** Whether a raw query pair (`Policy=...`) is one of the signing parameters. */
export const isSigningPair = (pair: string): boolean => (SIGNING_PARAMETERS as readonly string[]).includes(queryPairName(pair));

/** The signing parameters of a raw query string (no `?`), byte for byte and in their order, or ''. */
export function signingQueryOf(querystring: string): string {
  return querystring.split('&').filter(isSigningPair).join('&');
}

/** The signed cookie that carries a signing parameter: `CloudFront-Policy`, `CloudFront-Signature`... */
export const signedCookieName = (parameter: string): string => `CloudFront-${parameter}`;
