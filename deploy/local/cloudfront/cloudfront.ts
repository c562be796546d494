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
import { BlockList, isIPv4, isIPv6, type AddressInfo } from 'node:net';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { loadOrCreateKeyFile } from '../key-file.ts';
import { playbackKeyOfPath, resourcePathOf } from '../../../edge/object-key.ts';
import { isSigningPair, queryPairName, signedCookieName, type SigningParameter } from '../../../src/shared/cloudfront-signing.ts';
import type { Logger } from '../../../src/shared/logger.ts';
import type { Readable } from 'node:stream';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest } from 'fastify';
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
  logger?: Pick<Logger, 'info' | 'error'>;
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

/** Sets the CORS headers of an answer to `request`; Access-Control-Allow-Origin only when its origin is allowed. */
function setCorsHeaders(request: FastifyRequest, reply: FastifyReply, policy: CorsPolicy): void {
  const origin = request.headers.origin;
  if (!origin) return;
  if (policy.AccessControlAllowOrigins.includes('*')) {
    reply.header('Access-Control-Allow-Origin', '*');
  } else if (policy.AccessControlAllowOrigins.includes(origin)) {
    reply.header('Access-Control-Allow-Origin', origin);
    reply.header('Vary', 'Origin');
    if (policy.AccessControlAllowCredentials) reply.header('Access-Control-Allow-Credentials', 'true');
  } else {
    // Answers to other origins differ too: a shared cache must keep them apart.
    reply.header('Vary', 'Origin');
    return;
  }
  reply.header('Access-Control-Expose-Headers', policy.AccessControlExposeHeaders.join(', '));
}

function setPreflightHeaders(request: FastifyRequest, reply: FastifyReply, policy: CorsPolicy): void {
  reply.header('Access-Control-Allow-Methods', policy.AccessControlAllowMethods.join(', '));
  const asked = request.headers['access-control-request-headers'];
  const headers = policy.AccessControlAllowHeaders.includes('*') ? asked : policy.AccessControlAllowHeaders.join(', ');
  if (headers) reply.header('Access-Control-Allow-Headers', headers);
  reply.header('Access-Control-Max-Age', String(policy.AccessControlMaxAgeSec));
}

function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).type('text/xml').send(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

/** The methods the distribution allows (its AllowedMethods); any other is refused before anything is read. */
const ALLOWED_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

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

  function originRequestEvent(method: string, uri: string, querystring: string, clientIp: string): CloudFrontRequestEvent {
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
              method,
              origin: { s3: { authMethod: 'none', customHeaders: {}, domainName: originDomain, path: '' } },
              querystring,
              uri,
            },
          },
        },
      ],
    };
  }

  function sendGenerated(request: FastifyRequest, reply: FastifyReply, generated: CloudFrontResultResponse): FastifyReply {
    const status = Number(generated.status);
    if (!Number.isInteger(status) || status < 100 || status > 599) {
      throw new Error(`the edge function answered an invalid status ${generated.status}`);
    }
    const size = generatedSize(generated);
    if (size > GENERATED_RESPONSE_LIMIT_BYTES) {
      // What CloudFront does with an oversized generated response.
      options.logger?.error({ size, limit: GENERATED_RESPONSE_LIMIT_BYTES }, 'generated response over the Lambda@Edge limit');
      return sendError(reply, 502, 'LambdaResponseTooLarge', 'The Lambda function returned a response that is too large.');
    }
    for (const [name, values] of Object.entries(generated.headers ?? {})) {
      if (name !== name.toLowerCase()) throw new Error(`the edge function's header ${name} is not lowercase`);
      reply.header(values[0]?.key ?? name, values.length === 1 ? values[0]!.value : values.map((value) => value.value));
    }
    const body = generated.body === undefined ? Buffer.alloc(0) : Buffer.from(generated.body, generated.bodyEncoding === 'base64' ? 'base64' : 'utf8');
    // Fastify has no word for a reason phrase; Node's writeHead keeps one set on the response.
    if (generated.statusDescription) reply.raw.statusMessage = generated.statusDescription;
    return reply
      .code(status)
      .header('Content-Length', body.length)
      .send(request.method === 'HEAD' ? undefined : body);
  }

  async function sendObject(request: FastifyRequest, reply: FastifyReply, key: string): Promise<FastifyReply> {
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
      // The object streams from S3 as it comes: Fastify pipes it, ends the answer if S3 fails
      // midway, and stops reading S3 if the viewer goes away.
      return reply
        .code(object.ContentRange ? 206 : 200)
        .headers(headers)
        .send('Body' in object ? (object.Body as Readable | undefined) : undefined);
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) return sendError(reply, 404, 'NoSuchKey', 'The specified key does not exist.');
      if (status === 416) return sendError(reply, 416, 'InvalidRange', 'The requested range is not satisfiable');
      throw error;
    }
  }

  /**
   * What the distribution does before anything else, to every request: its CORS headers, and 403
   * to a method it does not allow (before Fastify would read or refuse a body). True when refused.
   */
  function refusedMethod(request: FastifyRequest, reply: FastifyReply): boolean {
    setCorsHeaders(request, reply, cors);
    if (ALLOWED_METHODS.has(request.method)) return false;
    void sendError(reply, 403, 'MethodNotAllowed', 'This distribution is not configured to allow the HTTP request method that was used for this request.');
    return true;
  }

  async function serve(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const raw = request.url;
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
      return sendError(reply, 403, verdict.code, verdict.message);
    }
    // The signature covers the path as sent; the key it names must stay inside what it covers
    // once decoded (edge/object-key.ts), or `..%2F` would reach the whole bucket.
    const resourcePath = verdict.resource === undefined ? undefined : resourcePathOf(verdict.resource);
    const keyOf = (uri: string): string | undefined => {
      const checked = playbackKeyOfPath(uri, resourcePath);
      if ('key' in checked) return checked.key;
      options.logger?.info({ path: uri, reason: checked.refused }, 'CloudFront stand-in refused a key');
      return undefined;
    };
    const accessDenied = () => sendError(reply, 403, 'AccessDenied', 'Access denied');
    if (keyOf(path) === undefined) return accessDenied();

    if (request.method === 'OPTIONS') {
      // The CORS headers went on in refusedMethod; Access-Control-Allow-Origin only for an allowed origin.
      if (reply.hasHeader('Access-Control-Allow-Origin')) setPreflightHeaders(request, reply, cors);
      return reply.code(204).send();
    }

    let uri = path;
    if (options.edgeHandler && path.endsWith('.m3u8')) {
      const result = await options.edgeHandler(originRequestEvent(request.method, path, query, clientIp));
      if (!result) throw new Error('the origin-request function returned nothing');
      if ('status' in result) return sendGenerated(request, reply, result);
      uri = result.uri; // a (possibly changed) request goes on to the origin
    }
    const key = keyOf(uri);
    return key === undefined ? accessDenied() : sendObject(request, reply, key);
  }

  function failed(error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    options.logger?.error({ err: error, url: request.url }, 'CloudFront stand-in failed a request');
    return sendError(reply, 502, 'BadGateway', 'The request could not be satisfied.');
  }

  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    // HEAD is served by its own route below (HeadObject, not a GET without its body).
    exposeHeadRoutes: false,
    // CloudFront checks the signature on the path as sent, before anything decodes it; a path
    // Fastify's router cannot decode takes the same way (and is refused there, 403), not Fastify's 400.
    frameworkErrors: (_error, request, reply) => {
      if (!refusedMethod(request, reply)) serve(request, reply).catch((error: FastifyError) => failed(error, request, reply));
    },
  });
  // A preflight's body is never read, as a GET's is not (Fastify would parse it, or refuse its content type).
  app.addHttpMethod('OPTIONS', { hasBody: false, overrideExisting: true });
  app.addHook('onRequest', async (request, reply) => {
    if (refusedMethod(request, reply)) return reply;
  });
  app.setErrorHandler(failed);
  app.route({ method: [...ALLOWED_METHODS], url: '/*', handler: serve });

  await app.listen({ host: '127.0.0.1', port: options.port });
  distributionDomainName = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return { url: `http://${distributionDomainName}`, close: () => app.close() };
}
