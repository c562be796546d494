/**
 * The local stand-in for the CloudFront distribution in front of the private bucket: the host
 * every local manifest URL points to. Like CloudFront with a trusted key group it answers 403 to
 * any request without a valid signed URL or signed cookies (canned or custom policy, URL-safe
 * base64, RSA-SHA1 or RSA-SHA256 per Hash-Algorithm, DateLessThan, DateGreaterThan,
 * AWS:SourceIp, wildcard Resource, key pair ids of the key group); then, like the origin-request
 * trigger, it runs the edge handler with a real origin-request event for `*.m3u8` and serves
 * everything else from the S3 stand-in with Range support and the CORS headers of the
 * distribution's policy (PLAYER_CORS_POLICY, as template.yaml sets it). It shares no code with
 * the app's signer, only CloudFront's parameter and cookie names (src/shared/cloudfront-signing.ts):
 * it checks what the app's signer made. The key a granted path names is decoded once and
 * must stay inside the signed video folder, by the same rule the edge signer and the S3 stand-in
 * use (edge/object-key.ts).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { BlockList, isIPv4, isIPv6, type AddressInfo } from 'node:net';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { loadOrCreateKeyFile } from '../key-file.ts';
import { playbackKeyOfPath, resourcePathOf } from '../../../edge/object-key.ts';
import { isSigningPair, queryPairName, signedCookieName, type SigningParameter } from '../../../src/shared/cloudfront-signing.ts';
import type { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { CloudFrontRequestEvent, CloudFrontRequestResult, CloudFrontResultResponse } from 'aws-lambda';

/** CloudFront's limit for a response generated on origin-request, headers and body: "1 MB" (read as 10^6). */
export const GENERATED_RESPONSE_LIMIT_BYTES = 1_000_000;

export interface TrustedKey {
  keyPairId: string;
  publicKeyPem: string;
}

export interface CloudFrontKeyPair extends TrustedKey {
  privateKeyPem: string;
}

/**
 * The key pair whose public key is the stand-in's trusted key group, kept in `dir` (created on
 * first use, RSA 2048 as CloudFront requires) so signed URLs survive restarts.
 */
export async function loadCloudFrontKeyPair(dir: string): Promise<CloudFrontKeyPair> {
  return loadOrCreateKeyFile<CloudFrontKeyPair>(join(dir, 'cloudfront-key.json'), () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    // CloudFront public key ids look like K2JCJMDEHXQW5F.
    const keyPairId = `K${createHash('sha256').update(publicKey).digest('hex').slice(0, 13).toUpperCase()}`;
    return { keyPairId, publicKeyPem: publicKey, privateKeyPem: privateKey };
  });
}

// ---------------------------------------------------------------------------------------------
// Signature verification, as CloudFront does it.

export type Denial = { code: 'MissingKey' | 'InvalidKey' | 'AccessDenied'; message: string; reason: string };
/** Access granted, with the Resource of the policy that granted it (undefined: the policy names none). */
export type Grant = { code: 'Granted'; resource: string | undefined };

export interface ViewerRequest {
  /** `http://host[:port]` as the viewer addressed it. */
  origin: string;
  /** The raw path, as received. */
  path: string;
  /** The raw query string without `?`, as received ('' if none). */
  query: string;
  cookies: Record<string, string>;
  clientIp: string;
}

const deny = (code: Denial['code'], message: string, reason: string): Denial => ({ code, message, reason });
const accessDenied = (reason: string) => deny('AccessDenied', 'Access denied', reason);

/** CloudFront's URL-safe base64: `-` for `+`, `_` for `=`, `~` for `/`. */
function fromUrlSafeBase64(value: string): Buffer | undefined {
  if (!/^[A-Za-z0-9\-_~]+$/.test(value)) return undefined;
  return Buffer.from(value.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64');
}

function decodeComponent(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const cookies: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const equals = part.indexOf('=');
    if (equals === -1) continue;
    const name = part.slice(0, equals).trim();
    if (name && !(name in cookies)) cookies[name] = decodeComponent(part.slice(equals + 1).trim());
  }
  return cookies;
}

/** `*` matches any run of characters (none too), `?` exactly one; everything else literally. */
function resourceMatches(resource: string, url: string): boolean {
  const pattern = resource
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${pattern}$`, 's').test(url);
}

function ipMatches(cidr: string, clientIp: string): boolean {
  const [address, bits] = cidr.split('/');
  const type = isIPv4(address ?? '') ? 'ipv4' : isIPv6(address ?? '') ? 'ipv6' : undefined;
  if (!type || !address) return false;
  const prefix = bits === undefined ? (type === 'ipv4' ? 32 : 128) : Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > (type === 'ipv4' ? 32 : 128)) return false;
  const clientType = isIPv4(clientIp) ? 'ipv4' : isIPv6(clientIp) ? 'ipv6' : undefined;
  if (clientType !== type) return false;
  const list = new BlockList();
  list.addSubnet(address, prefix, type);
  return list.check(clientIp, type);
}

interface PolicyStatement {
  Resource?: unknown;
  Condition?: {
    DateLessThan?: { 'AWS:EpochTime'?: unknown };
    DateGreaterThan?: { 'AWS:EpochTime'?: unknown };
    IpAddress?: { 'AWS:SourceIp'?: unknown };
  };
}

/**
 * Checks one viewer request: the signed URL if the query carries any signing parameter (CloudFront
 * then ignores cookies), else the signed cookies.
 */
export function verifyViewerRequest(request: ViewerRequest, trustedKeys: ReadonlyMap<string, KeyObject>, nowSeconds: number): Denial | Grant {
  const pairs = request.query === '' ? [] : request.query.split('&');
  const signedUrl = pairs.some(isSigningPair);
  // The URL the policy's Resource is compared with: the viewer's URL less the signing parameters.
  const unsignedQuery = pairs.filter((pair) => !isSigningPair(pair)).join('&');
  const url = `${request.origin}${request.path}${unsignedQuery ? `?${unsignedQuery}` : ''}`;

  const get = (name: SigningParameter): string | undefined => {
    if (!signedUrl) return request.cookies[signedCookieName(name)];
    const pair = pairs.find((candidate) => queryPairName(candidate) === name);
    return pair === undefined ? undefined : decodeComponent(pair.slice(name.length + 1));
  };
  const keyPairId = get('Key-Pair-Id');
  if (!keyPairId) return deny('MissingKey', 'Missing Key-Pair-Id query parameter or cookie value', 'no key pair id');
  const publicKey = trustedKeys.get(keyPairId);
  if (!publicKey) return deny('InvalidKey', 'Unknown Key', `key pair ${keyPairId} is not in the trusted key group`);

  const signature = fromUrlSafeBase64(get('Signature') ?? '');
  if (!signature) return accessDenied('no signature');
  const algorithm = get('Hash-Algorithm') ?? 'SHA1';
  if (algorithm !== 'SHA1' && algorithm !== 'SHA256') return accessDenied(`unsupported Hash-Algorithm ${algorithm}`);

  const encodedPolicy = get('Policy');
  const expires = get('Expires');
  let policyText: Buffer;
  if (encodedPolicy !== undefined) {
    if (expires !== undefined) return accessDenied('both Policy and Expires');
    const decoded = fromUrlSafeBase64(encodedPolicy);
    if (!decoded) return accessDenied('Policy is not URL-safe base64');
    policyText = decoded;
  } else if (expires !== undefined) {
    if (!/^\d+$/.test(expires)) return accessDenied('Expires is not an epoch time');
    // A canned policy is not sent: it is rebuilt from the URL, byte for byte as the signer made it.
    policyText = Buffer.from(`{"Statement":[{"Resource":${JSON.stringify(url)},"Condition":{"DateLessThan":{"AWS:EpochTime":${expires}}}}]}`);
  } else {
    return accessDenied('neither Policy nor Expires');
  }

  if (!verify(algorithm === 'SHA256' ? 'RSA-SHA256' : 'RSA-SHA1', policyText, publicKey, signature)) {
    return accessDenied('signature does not match the policy');
  }

  let statement: PolicyStatement;
  try {
    const policy = JSON.parse(policyText.toString('utf8')) as { Statement?: PolicyStatement[] };
    if (!Array.isArray(policy.Statement) || policy.Statement.length !== 1) return accessDenied('a policy has exactly one statement');
    statement = policy.Statement[0]!;
  } catch {
    return accessDenied('policy is not JSON');
  }
  const lessThan = statement.Condition?.DateLessThan?.['AWS:EpochTime'];
  if (typeof lessThan !== 'number') return accessDenied('policy has no DateLessThan');
  if (nowSeconds >= lessThan) return accessDenied('expired');
  const greaterThan = statement.Condition?.DateGreaterThan?.['AWS:EpochTime'];
  if (greaterThan !== undefined && (typeof greaterThan !== 'number' || nowSeconds <= greaterThan)) {
    return accessDenied('not valid yet');
  }
  const sourceIp = statement.Condition?.IpAddress?.['AWS:SourceIp'];
  if (sourceIp !== undefined && (typeof sourceIp !== 'string' || !ipMatches(sourceIp, request.clientIp))) {
    return accessDenied(`client ${request.clientIp} is not in ${String(sourceIp)}`);
  }
  // No Resource: the policy covers every object of every distribution trusting the key.
  if (statement.Resource !== undefined && (typeof statement.Resource !== 'string' || !resourceMatches(statement.Resource, url))) {
    return accessDenied(`${url} is not ${String(statement.Resource)}`);
  }
  return { code: 'Granted', resource: typeof statement.Resource === 'string' ? statement.Resource : undefined };
}

// ---------------------------------------------------------------------------------------------
// The server.

export type EdgeHandler = (event: CloudFrontRequestEvent) => Promise<CloudFrontRequestResult>;

export interface LocalCloudFrontOptions {
  port: number;
  s3Client: S3Client;
  bucket: string;
  /** Region of the bucket, as the origin's domain name carries it. */
  region?: string;
  trustedKeys: TrustedKey[];
  /** The origin-request function for `*.m3u8` (the Lambda@Edge manifest signer). */
  edgeHandler?: EdgeHandler;
  /** The distribution's CORS policy; template.yaml's (PLAYER_CORS_POLICY) unless given. */
  cors?: CorsPolicy;
  logger?: { info(object: object, message: string): void; error(object: object, message: string): void };
}

export interface LocalCloudFront {
  url: string;
  close(): Promise<void>;
}

/**
 * A CloudFront response headers policy's CORS settings (CorsConfig, without its `Items`
 * wrappers), answered here as CloudFront answers them: only to a request with an Origin; `*` for
 * any origin when the list holds `*`, else the request's own origin when listed (with
 * `Vary: Origin`, and `Access-Control-Allow-Credentials: true` when the policy allows credentials),
 * else no CORS header at all. CloudFront refuses a policy with credentials and `*`; so does
 * startLocalCloudFront.
 */
export interface CorsPolicy {
  AccessControlAllowOrigins: readonly string[];
  AccessControlAllowCredentials: boolean;
  AccessControlAllowMethods: readonly string[];
  /** `*` lets a preflight ask for any header (its own list is answered). */
  AccessControlAllowHeaders: readonly string[];
  AccessControlExposeHeaders: readonly string[];
  AccessControlMaxAgeSec: number;
}

/**
 * The distribution's policy in template.yaml (PlayerCorsPolicy; test/deploy/template.test.ts
 * holds them equal): players on any origin may read playlists and segments, since a signed URL,
 * not a cookie, is what grants access; so no credentials, which `*` could not carry anyway.
 */
export const PLAYER_CORS_POLICY: CorsPolicy = Object.freeze({
  AccessControlAllowOrigins: ['*'],
  AccessControlAllowCredentials: false,
  AccessControlAllowMethods: ['GET', 'HEAD'],
  AccessControlAllowHeaders: ['*'],
  AccessControlExposeHeaders: ['Content-Length', 'Content-Range'],
  AccessControlMaxAgeSec: 600,
});

function checkCorsPolicy(policy: CorsPolicy): void {
  if (policy.AccessControlAllowCredentials && policy.AccessControlAllowOrigins.includes('*')) {
    throw new Error('a CORS policy cannot allow credentials for any origin (*): list the origins');
  }
}

/** Sets the CORS headers of an answer to `request`; true when its origin is allowed. */
function setCorsHeaders(request: IncomingMessage, response: ServerResponse, policy: CorsPolicy): boolean {
  const origin = request.headers.origin;
  if (!origin) return false;
  if (policy.AccessControlAllowOrigins.includes('*')) {
    response.setHeader('Access-Control-Allow-Origin', '*');
  } else if (policy.AccessControlAllowOrigins.includes(origin)) {
    response.setHeader('Access-Control-Allow-Origin', origin);
    response.setHeader('Vary', 'Origin');
    if (policy.AccessControlAllowCredentials) response.setHeader('Access-Control-Allow-Credentials', 'true');
  } else {
    // Answers to other origins differ too: a shared cache must keep them apart.
    response.setHeader('Vary', 'Origin');
    return false;
  }
  response.setHeader('Access-Control-Expose-Headers', policy.AccessControlExposeHeaders.join(', '));
  return true;
}

function setPreflightHeaders(request: IncomingMessage, response: ServerResponse, policy: CorsPolicy): void {
  response.setHeader('Access-Control-Allow-Methods', policy.AccessControlAllowMethods.join(', '));
  const asked = request.headers['access-control-request-headers'];
  const headers = policy.AccessControlAllowHeaders.includes('*') ? asked : policy.AccessControlAllowHeaders.join(', ');
  if (headers) response.setHeader('Access-Control-Allow-Headers', headers);
  response.setHeader('Access-Control-Max-Age', String(policy.AccessControlMaxAgeSec));
}

function sendError(response: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  response.writeHead(status, { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}

function generatedSize(generated: CloudFrontResultResponse): number {
  let size = generated.body === undefined ? 0 : Buffer.byteLength(generated.body, 'utf8');
  for (const values of Object.values(generated.headers ?? {})) {
    for (const { key, value } of values) size += Buffer.byteLength(`${key ?? ''}: ${value}\r\n`, 'utf8');
  }
  return size;
}

export async function startLocalCloudFront(options: LocalCloudFrontOptions): Promise<LocalCloudFront> {
  const { s3Client, bucket } = options;
  const region = options.region ?? 'us-east-1';
  const cors = options.cors ?? PLAYER_CORS_POLICY;
  checkCorsPolicy(cors);
  const trustedKeys = new Map(options.trustedKeys.map((key) => [key.keyPairId, createPublicKey(key.publicKeyPem)]));
  const originDomain = `${bucket}.s3.${region}.amazonaws.com`;
  let distributionDomainName = '';

  function originRequestEvent(request: IncomingMessage, uri: string, querystring: string, clientIp: string): CloudFrontRequestEvent {
    const header = (key: string, value: string) => [{ key, value }];
    return {
      Records: [
        {
          cf: {
            config: {
              distributionDomainName,
              distributionId: 'ELOCALSTANDIN',
              eventType: 'origin-request',
              requestId: randomBytes(42).toString('base64url'),
            },
            request: {
              clientIp,
              headers: {
                'x-forwarded-for': header('X-Forwarded-For', clientIp),
                'user-agent': header('User-Agent', 'Amazon CloudFront'),
                via: header('Via', `2.0 ${randomBytes(16).toString('hex')}.cloudfront.net (CloudFront)`),
                host: header('Host', originDomain),
              },
              method: request.method ?? 'GET',
              origin: { s3: { authMethod: 'none', customHeaders: {}, domainName: originDomain, path: '' } },
              querystring,
              uri,
            },
          },
        },
      ],
    };
  }

  function sendGenerated(request: IncomingMessage, response: ServerResponse, generated: CloudFrontResultResponse): void {
    const status = Number(generated.status);
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new Error(`the edge function answered an invalid status ${generated.status}`);
    }
    const size = generatedSize(generated);
    if (size > GENERATED_RESPONSE_LIMIT_BYTES) {
      // What CloudFront does with an oversized generated response.
      options.logger?.error({ size, limit: GENERATED_RESPONSE_LIMIT_BYTES }, 'generated response over the Lambda@Edge limit');
      sendError(response, 502, 'LambdaResponseTooLarge', 'The Lambda function returned a response that is too large.');
      return;
    }
    for (const [name, values] of Object.entries(generated.headers ?? {})) {
      if (name !== name.toLowerCase()) throw new Error(`the edge function's header ${name} is not lowercase`);
      response.setHeader(values[0]?.key ?? name, values.length === 1 ? values[0]!.value : values.map((value) => value.value));
    }
    const body = generated.body === undefined ? Buffer.alloc(0) : Buffer.from(generated.body, generated.bodyEncoding === 'base64' ? 'base64' : 'utf8');
    response.statusCode = status;
    if (generated.statusDescription) response.statusMessage = generated.statusDescription;
    response.setHeader('Content-Length', body.length);
    response.end(request.method === 'HEAD' ? undefined : body);
  }

  async function sendObject(request: IncomingMessage, response: ServerResponse, key: string): Promise<void> {
    const range = request.headers.range;
    const input = { Bucket: bucket, Key: key, ...(range ? { Range: range } : {}) };
    try {
      const object = request.method === 'HEAD' ? await s3Client.send(new HeadObjectCommand(input)) : await s3Client.send(new GetObjectCommand(input));
      const headers: Record<string, string | number> = { 'Accept-Ranges': 'bytes' };
      if (object.ContentType) headers['Content-Type'] = object.ContentType;
      if (object.ContentLength !== undefined) headers['Content-Length'] = object.ContentLength;
      if (object.ContentRange) headers['Content-Range'] = object.ContentRange;
      if (object.ETag) headers.ETag = object.ETag;
      if (object.LastModified) headers['Last-Modified'] = object.LastModified.toUTCString();
      if (object.CacheControl) headers['Cache-Control'] = object.CacheControl;
      response.writeHead(object.ContentRange ? 206 : 200, headers);
      const body = 'Body' in object ? (object.Body as Readable | undefined) : undefined;
      if (!body) {
        response.end();
        return;
      }
      body.on('error', (error) => response.destroy(error));
      body.pipe(response);
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) return sendError(response, 404, 'NoSuchKey', 'The specified key does not exist.');
      if (status === 416) return sendError(response, 416, 'InvalidRange', 'The requested range is not satisfiable');
      throw error;
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const corsAllowed = setCorsHeaders(request, response, cors);
    const method = request.method ?? 'GET';
    if (!['GET', 'HEAD', 'OPTIONS'].includes(method)) {
      return sendError(
        response,
        403,
        'MethodNotAllowed',
        'This distribution is not configured to allow the HTTP request method that was used for this request.',
      );
    }
    const raw = request.url ?? '/';
    const questionMark = raw.indexOf('?');
    const path = questionMark === -1 ? raw : raw.slice(0, questionMark);
    const query = questionMark === -1 ? '' : raw.slice(questionMark + 1);
    const clientIp = (request.socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');

    const verdict = verifyViewerRequest(
      { origin: `http://${request.headers.host ?? distributionDomainName}`, path, query, cookies: parseCookies(request.headers.cookie), clientIp },
      trustedKeys,
      Math.floor(Date.now() / 1000),
    );
    if (verdict.code !== 'Granted') {
      options.logger?.info({ path, reason: verdict.reason }, 'CloudFront stand-in denied a request');
      return sendError(response, 403, verdict.code, verdict.message);
    }
    // The signature covers the path as sent; the key it names must stay inside what it covers
    // once decoded (edge/object-key.ts), or `..%2F` would reach the whole bucket.
    const resourcePath = verdict.resource === undefined ? undefined : resourcePathOf(verdict.resource);
    const keyOf = (uri: string): string | undefined => {
      const checked = playbackKeyOfPath(uri, resourcePath);
      if ('key' in checked) return checked.key;
      options.logger?.info({ path: uri, reason: checked.refused }, 'CloudFront stand-in refused a key');
      sendError(response, 403, 'AccessDenied', 'Access denied');
      return undefined;
    };
    if (keyOf(path) === undefined) return;

    if (method === 'OPTIONS') {
      if (corsAllowed) setPreflightHeaders(request, response, cors);
      response.writeHead(204).end();
      return;
    }

    let uri = path;
    if (options.edgeHandler && path.endsWith('.m3u8')) {
      const result = await options.edgeHandler(originRequestEvent(request, path, query, clientIp));
      if (!result) throw new Error('the origin-request function returned nothing');
      if ('status' in result) return sendGenerated(request, response, result);
      uri = result.uri; // a (possibly changed) request goes on to the origin
    }
    const key = keyOf(uri);
    if (key === undefined) return;
    await sendObject(request, response, key);
  }

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      options.logger?.error({ err: error, url: request.url }, 'CloudFront stand-in failed a request');
      if (!response.headersSent) sendError(response, 502, 'BadGateway', 'The request could not be satisfied.');
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  distributionDomainName = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `http://${distributionDomainName}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
