/**
 * The Lambda@Edge manifest signer, on the distribution's origin-request trigger for `*.m3u8`.
 *
 * CloudFront has already checked the viewer's signature (trusted key group) before this runs, so
 * the function holds no key: it copies the viewer's signing query (Policy, Signature, Key-Pair-Id,
 * exactly as received) onto every URI inside the playlist, which the one custom policy for
 * `video-streams/{videoId}/*` covers. It runs on origin-request because origin-response cannot
 * read the body; it reads the playlist from S3 itself and answers with a generated response.
 *
 * A generated origin-request response may be at most 1 MB, headers included. A long video's media
 * playlist signed per URI is larger (2700 segments x ~600 bytes of query), so such a response
 * carries the signature once, as CloudFront signed cookies scoped to the video's folder, and keeps
 * its URIs as they are. See edge/README.md.
 *
 * No environment variables (Lambda@Edge has none): the bucket and region come from the event's S3
 * origin; everything else is a constant here.
 */
import type {
  CloudFrontHeaders,
  CloudFrontRequest,
  CloudFrontRequestEvent,
  CloudFrontRequestHandler,
  CloudFrontRequestResult,
  CloudFrontResultResponse,
} from 'aws-lambda';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { queryPairName, signedCookieName, signingQueryOf } from '../src/shared/cloudfront-signing.ts';
import { playbackKeyOfPath, resourcePathOf } from './object-key.ts';

/**
 * CloudFront's quota for a response generated on origin-request is "1 MB, including headers and
 * body". Counted here in decimal megabytes (10^6), the stricter reading.
 */
export const GENERATED_RESPONSE_LIMIT_BYTES = 1_000_000;

export const PLAYLIST_CONTENT_TYPE = 'application/vnd.apple.mpegurl';

/**
 * The path of the Resource in the custom policy a raw query carries; undefined when there is no
 * custom policy (a canned one signs the very URL) or it names no Resource. CloudFront has verified
 * the policy before this runs; its text is only read here.
 */
export function policyResourcePathOf(querystring: string): string | undefined {
  const pair = querystring.split('&').find((candidate) => queryPairName(candidate) === 'Policy');
  if (pair === undefined) return undefined;
  const encoded = decodeURIComponent(pair.slice('Policy='.length)).replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/');
  const policy = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8')) as { Statement?: Array<{ Resource?: unknown }> };
  const resource = policy.Statement?.[0]?.Resource;
  return typeof resource === 'string' ? resourcePathOf(resource) : undefined;
}

export interface RewriteOptions {
  /** The raw signing query to append (`Policy=...&Signature=...&Key-Pair-Id=...`). */
  query: string;
  /** Hosts (host[:port]) whose absolute URIs are this distribution's and get signed. */
  sameHosts: readonly string[];
}

const SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:/;

/** Whether a playlist URI points into this distribution: relative, or absolute on one of its hosts. */
function isOurs(uri: string, sameHosts: readonly string[]): boolean {
  if (uri.startsWith('//')) return hostIsOurs(`https:${uri}`, sameHosts);
  if (!SCHEME.test(uri)) return true;
  if (!/^https?:/i.test(uri)) return false; // data:, skd:, ...
  return hostIsOurs(uri, sameHosts);
}

function hostIsOurs(absolute: string, sameHosts: readonly string[]): boolean {
  try {
    const { host } = new URL(absolute);
    return sameHosts.some((candidate) => candidate.toLowerCase() === host);
  } catch {
    return false;
  }
}

/** One URI with the signing query appended (before any fragment); already-signed URIs are left alone. */
export function signUri(uri: string, options: RewriteOptions): string {
  if (uri === '' || !isOurs(uri, options.sameHosts)) return uri;
  const hash = uri.indexOf('#');
  const base = hash === -1 ? uri : uri.slice(0, hash);
  const fragment = hash === -1 ? '' : uri.slice(hash);
  const questionMark = base.indexOf('?');
  if (questionMark !== -1 && signingQueryOf(base.slice(questionMark + 1)) !== '') return uri;
  const separator = questionMark === -1 ? '?' : base.endsWith('?') || base.endsWith('&') ? '' : '&';
  return `${base}${separator}${options.query}${fragment}`;
}

/**
 * Rewrites the URI="..." attribute of a tag line (EXT-X-MAP, EXT-X-MEDIA, EXT-X-KEY,
 * EXT-X-SESSION-KEY, EXT-X-I-FRAME-STREAM-INF, EXT-X-SESSION-DATA, EXT-X-PART, ...). The attribute
 * list is walked by RFC 8216 section 4.2 rules (quoted strings may hold commas), so only an
 * attribute named exactly URI changes, and every other byte stays.
 */
function signTagLine(line: string, options: RewriteOptions): string {
  const colon = line.indexOf(':');
  if (colon === -1) return line;
  let out = line.slice(0, colon + 1);
  let at = colon + 1;
  while (at < line.length) {
    const equals = line.indexOf('=', at);
    if (equals === -1) return out + line.slice(at);
    const name = line.slice(at, equals);
    out += line.slice(at, equals + 1);
    at = equals + 1;
    let value: string;
    if (line[at] === '"') {
      const close = line.indexOf('"', at + 1);
      if (close === -1) return out + line.slice(at); // malformed: leave the rest untouched
      const inner = line.slice(at + 1, close);
      value = `"${name.trim() === 'URI' ? signUri(inner, options) : inner}"`;
      at = close + 1;
    } else {
      const comma = line.indexOf(',', at);
      const end = comma === -1 ? line.length : comma;
      value = line.slice(at, end);
      at = end;
    }
    out += value;
    // The separator (and anything stray up to it) is copied as is.
    const comma = line.indexOf(',', at);
    const next = comma === -1 ? line.length : comma + 1;
    out += line.slice(at, next);
    at = next;
  }
  return out;
}

/**
 * Appends the signing query to every URI in a playlist (RFC 8216 section 4.1: a line is a URI,
 * blank, or starts with `#`; tags start with `#EXT`, other `#` lines are comments). Line by line
 * rather than parse-and-print, so comments, blank lines, unknown tags, attribute order, line
 * endings and a missing final newline all survive byte for byte.
 */
export function rewritePlaylist(text: string, options: RewriteOptions): string {
  // A byte order mark before #EXTM3U is not part of the first line's content.
  const bom = text.startsWith('\uFEFF') ? '\uFEFF' : '';
  const parts = text.slice(bom.length).split(/(\r?\n)/);
  for (let index = 0; index < parts.length; index += 2) {
    const line = parts[index]!;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      if (line.startsWith('#EXT') && line.includes('URI=')) parts[index] = signTagLine(line, options);
      continue;
    }
    const [, lead, uri, trail] = /^(\s*)(.*?)(\s*)$/s.exec(line)!;
    parts[index] = `${lead}${signUri(uri!, options)}${trail}`;
  }
  return bom + parts.join('');
}

/** The bytes CloudFront counts for a generated response: body plus header names and values. */
export function generatedResponseSize(response: CloudFrontResultResponse): number {
  let size = response.body === undefined ? 0 : Buffer.byteLength(response.body, 'utf8');
  for (const values of Object.values(response.headers ?? {})) {
    for (const { key, value } of values) size += Buffer.byteLength(`${key ?? ''}: ${value}\r\n`, 'utf8');
  }
  return size;
}

/** `vod-bucket.s3.us-east-1.amazonaws.com` (or the legacy `vod-bucket.s3.amazonaws.com`) → bucket, region. */
export function bucketOfOriginDomain(domainName: string): { bucket: string; region?: string } {
  const match = /^(.+)\.s3(?:\.dualstack)?(?:[.-]([a-z0-9-]+))?\.amazonaws\.com(?:\.cn)?$/.exec(domainName);
  if (!match) throw new Error(`Not an S3 origin domain: ${domainName}`);
  return { bucket: match[1]!, ...(match[2] ? { region: match[2] } : {}) };
}

/** The folder the signed cookies are scoped to: the video's (`/video-streams/{id}/`), else the playlist's. */
function cookiePathOf(uri: string): string {
  return /^\/video-streams\/[^/]+\//.exec(uri)?.[0] ?? uri.slice(0, uri.lastIndexOf('/') + 1);
}

function signedCookies(query: string, path: string, secure: boolean): string[] {
  // Browsers drop SameSite=None without Secure; over plain http (the local stand-in) Lax is the
  // strongest setting that still reaches a same-site player.
  const attributes = secure ? `; Path=${path}; Secure; HttpOnly; SameSite=None` : `; Path=${path}; HttpOnly; SameSite=Lax`;
  return query.split('&').map((pair) => {
    const equals = pair.indexOf('=');
    return `${signedCookieName(pair.slice(0, equals))}=${pair.slice(equals + 1)}${attributes}`;
  });
}

const header = (key: string, value: string) => [{ key, value }];

function playlistResponse(body: string, cookies: string[] = []): CloudFrontResultResponse {
  const headers: CloudFrontHeaders = {
    'content-type': header('Content-Type', PLAYLIST_CONTENT_TYPE),
    // Each viewer's copy carries that viewer's signature: never cache or share it.
    'cache-control': header('Cache-Control', 'no-store'),
  };
  if (cookies.length > 0) headers['set-cookie'] = cookies.map((value) => ({ key: 'Set-Cookie', value }));
  return { status: '200', statusDescription: 'OK', headers, body, bodyEncoding: 'text' };
}

function errorResponse(status: number, message: string): CloudFrontResultResponse {
  return {
    status: String(status),
    headers: {
      'content-type': header('Content-Type', 'text/plain; charset=utf-8'),
      'cache-control': header('Cache-Control', 'no-store'),
    },
    body: `${message}\n`,
    bodyEncoding: 'text',
  };
}

export interface ManifestSignerOptions {
  /** The S3 client to read playlists with, or one per bucket region; default one SDK client per region. */
  s3?: S3Client | ((region: string) => S3Client);
  /** Mark signed cookies Secure (HTTPS, as in AWS). The plain-http local stand-in turns this off. */
  secureCookies?: boolean;
  /** The response size limit (tests lower it). */
  limitBytes?: number;
}

export type ManifestSigner = (event: CloudFrontRequestEvent) => Promise<CloudFrontRequestResult>;

export function createManifestSigner(options: ManifestSignerOptions = {}): ManifestSigner {
  const clients = new Map<string, S3Client>();
  const s3For = (region: string): S3Client => {
    if (options.s3 instanceof S3Client) return options.s3;
    if (options.s3) return options.s3(region);
    let client = clients.get(region);
    if (!client) clients.set(region, (client = new S3Client({ region })));
    return client;
  };
  const secureCookies = options.secureCookies ?? true;
  const limitBytes = options.limitBytes ?? GENERATED_RESPONSE_LIMIT_BYTES;

  async function readPlaylist(request: CloudFrontRequest): Promise<string | CloudFrontResultResponse> {
    const origin = request.origin!.s3!;
    const parsed = bucketOfOriginDomain(origin.domainName);
    const region = origin.region || parsed.region || 'us-east-1';
    // Decoded once, plain segments only, inside the video folder the viewer's policy covers.
    let resourcePath: string | undefined;
    try {
      resourcePath = policyResourcePathOf(request.querystring);
    } catch {
      return errorResponse(403, 'Access denied');
    }
    const checked = playbackKeyOfPath(request.uri, resourcePath);
    if ('refused' in checked) return errorResponse(403, 'Access denied');
    const originPath = (origin.path ?? '').replace(/^\/+|\/+$/g, '');
    const key = originPath ? `${originPath}/${checked.key}` : checked.key;
    try {
      const object = await s3For(region).send(new GetObjectCommand({ Bucket: parsed.bucket, Key: key }));
      return await object.Body!.transformToString('utf8');
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      // Missing (404, or 403 when the function may not list the bucket) is the viewer's problem;
      // anything else is ours and fails the invocation (CloudFront answers 5xx).
      if (status === 404 || status === 403) return errorResponse(status, status === 404 ? 'Not found' : 'Access denied');
      throw error;
    }
  }

  return async (event) => {
    const { request, config } = event.Records[0]!.cf;
    const isPlaylist = request.uri.endsWith('.m3u8') && (request.method === 'GET' || request.method === 'HEAD');
    if (!isPlaylist || !request.origin?.s3) return request;

    const playlist = await readPlaylist(request);
    if (typeof playlist !== 'string') return playlist;
    const query = signingQueryOf(request.querystring);
    // No signing query: the viewer came with signed cookies, which already cover every URI.
    if (query === '') return playlistResponse(playlist);

    const signed = playlistResponse(rewritePlaylist(playlist, { query, sameHosts: [config.distributionDomainName] }));
    if (generatedResponseSize(signed) <= limitBytes) return signed;

    const withCookies = playlistResponse(playlist, signedCookies(query, cookiePathOf(request.uri), secureCookies));
    if (generatedResponseSize(withCookies) > limitBytes) {
      throw new Error(`${request.uri} is ${generatedResponseSize(withCookies)} bytes even unsigned, over the ${limitBytes}-byte limit`);
    }
    return withCookies;
  };
}

/** The function CloudFront invokes. */
export const handler: CloudFrontRequestHandler = createManifestSigner();
