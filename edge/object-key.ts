/**
 * The one rule for turning a request path into an S3 object key, shared by every part that does
 * it: the Lambda@Edge manifest signer, the CloudFront stand-in and the S3 stand-in. It lives here
 * because the edge bundle may import nothing from the application, and it imports nothing itself.
 *
 * A path is percent-decoded exactly once. A key with an empty, `.` or `..` segment, a backslash,
 * a control character, or (for playback keys) a `%` left after that one decoding is refused: S3
 * itself would take such a key literally, but a file store joins `..` into a path, and a second
 * decoding somewhere down the line turns `%252F` into `/`. Every key the service writes is plain
 * (`uploads/{id}/source`, `video-streams/{id}/720p/segment_00001.ts`), so nothing real is refused.
 */

/** Where every playable object lives: `video-streams/{videoId}/...`. */
export const STREAMS_PREFIX = 'video-streams/';

export type KeyCheck = { key: string } | { refused: string };

/** Why a decoded key may not be used, or undefined when every segment is a plain name. */
export function unsafeKeyReason(key: string): string | undefined {
  if (key === '') return 'the key is empty';
  if (key.includes('\\')) return 'the key holds a backslash';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'the key holds a control character';
  for (const segment of key.split('/')) {
    if (segment === '') return 'the key has an empty segment';
    if (segment === '.' || segment === '..') return `the key has a "${segment}" segment`;
  }
  return undefined;
}

/**
 * The object key a request path names (`/video-streams/a/b.ts` → `video-streams/a/b.ts`),
 * decoded once and checked segment by segment.
 */
export function objectKeyOfPath(path: string): KeyCheck {
  if (!path.startsWith('/')) return { refused: 'the path does not start with /' };
  let key: string;
  try {
    key = decodeURIComponent(path.slice(1));
  } catch {
    return { refused: 'the path is not valid percent-encoded UTF-8' };
  }
  const reason = unsafeKeyReason(key);
  return reason ? { refused: reason } : { key };
}

/**
 * The key of a playback request: decoded once, plain, inside one video's folder, and (when the
 * signature names one) inside the folder its policy's Resource covers. `resourcePath` is the path
 * part of the policy's Resource (`/video-streams/{id}/*`), undefined when the policy names none.
 */
export function playbackKeyOfPath(path: string, resourcePath?: string): KeyCheck {
  const checked = objectKeyOfPath(path);
  if ('refused' in checked) return checked;
  const { key } = checked;
  if (key.includes('%')) return { refused: 'the key still holds a % after decoding (encoded twice)' };
  const segments = key.split('/');
  if (`${segments[0]}/` !== STREAMS_PREFIX || segments.length < 3) {
    return { refused: `the key is not inside a video's folder (${STREAMS_PREFIX}{videoId}/)` };
  }
  if (resourcePath !== undefined) {
    // Everything before the policy's first wildcard is a literal prefix the key must keep.
    const wildcard = resourcePath.search(/[*?]/);
    const literal = wildcard === -1 ? resourcePath : resourcePath.slice(0, wildcard);
    let prefix: string;
    try {
      prefix = decodeURIComponent(literal).replace(/^\/+/, '');
    } catch {
      return { refused: "the policy's Resource is not valid percent-encoded UTF-8" };
    }
    if (wildcard === -1 ? key !== prefix : !key.startsWith(prefix)) {
      return { refused: `the key is outside the signed Resource ${resourcePath}` };
    }
  }
  return { key };
}

/** The path of a policy Resource URL (`https://host/video-streams/id/*` → `/video-streams/id/*`). */
export function resourcePathOf(resource: string): string {
  const match = /^[a-z][a-z0-9+.-]*:\/\/[^/]*(\/.*)?$/i.exec(resource);
  if (match) return match[1] ?? '/';
  return resource.startsWith('/') ? resource : `/${resource}`;
}
