/**
 * Signed CDN URLs, as plain functions (no DOM), so they are tested in Node.
 *
 * A playback grant signs every object under `video-streams/{videoId}/` with one CloudFront custom
 * policy. So the same signing query serves the master playlist, the renditions, the segments and
 * the poster, and a fresh grant's query can replace an old one on any of them.
 */
import { isSigningPair, signingQueryOf } from '../../../src/shared/cloudfront-signing.ts';

/** The poster's file name beside the master playlist (MediaConvert's frame capture naming). */
export { POSTER_FILE } from '../../../src/domain/ladder.ts';

/** The raw signing query of a URL (`Policy=…&Signature=…&Key-Pair-Id=…`), byte for byte. */
export function signingQueryOfUrl(url: string): string {
  return signingQueryOf(new URL(url).search.slice(1));
}

/** The folder every object of the grant lives in: the manifest URL up to its last slash, no query. */
export function grantPrefixOf(manifestUrl: string): string {
  const url = new URL(manifestUrl);
  return `${url.origin}${url.pathname.slice(0, url.pathname.lastIndexOf('/') + 1)}`;
}

/**
 * `url` with the signing query of `manifestUrl` in place of its own, when it is an object of the
 * same grant (same folder); any other URL is returned unchanged. The signing parameters are
 * copied verbatim: re-encoding them would break the signature.
 */
export function withGrantQuery(url: string, manifestUrl: string): string {
  const prefix = grantPrefixOf(manifestUrl);
  const hashAt = url.indexOf('#');
  const withoutHash = hashAt === -1 ? url : url.slice(0, hashAt);
  const queryAt = withoutHash.indexOf('?');
  const base = queryAt === -1 ? withoutHash : withoutHash.slice(0, queryAt);
  if (!base.startsWith(prefix)) return url;
  const others = (queryAt === -1 ? '' : withoutHash.slice(queryAt + 1)).split('&').filter((pair) => pair !== '' && !isSigningPair(pair));
  const query = [...others, signingQueryOfUrl(manifestUrl)].filter(Boolean).join('&');
  return query ? `${base}?${query}` : base;
}

/** Another object of the grant's folder (e.g. the poster), signed with the grant's query. */
export function siblingUrl(manifestUrl: string, file: string): string {
  return withGrantQuery(`${grantPrefixOf(manifestUrl)}${file}`, manifestUrl);
}

/**
 * How long to wait before asking for a fresh grant: a quarter of the grant's life before it ends
 * but at most five minutes before, and never sooner than a second from now (so a clock that is
 * off cannot make the page ask in a loop).
 */
export function refreshDelayMs(grant: { expiresAt: string }, receivedAt: number, now: number = receivedAt): number {
  const expiresAt = Date.parse(grant.expiresAt);
  const lifetime = Math.max(0, expiresAt - receivedAt);
  const lead = Math.min(5 * 60_000, lifetime / 4);
  return Math.max(1000, expiresAt - lead - now);
}
