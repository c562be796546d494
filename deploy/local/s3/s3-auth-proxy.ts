/**
 * The S3 stand-in's front door: a loopback HTTP server that authenticates every request with AWS
 * Signature Version 4, as S3 does, and only then forwards it to s3rver (which checks no signature)
 * on an internal port. Bodies stream both ways; nothing is buffered whole.
 *
 * - Rejected requests get S3's XML error and status and never reach s3rver, so nothing is stored.
 * - CORS preflights (OPTIONS) are unauthenticated in S3: they pass through, and s3rver's CORS
 *   headers reach the browser.
 * - The body must be what was signed: exactly Content-Length bytes (a signed header for the
 *   pre-signed uploads), and when x-amz-content-sha256 names a hash, bytes with that hash. The last
 *   chunk is held back until the body has been checked, so s3rver never receives a complete body
 *   that the front then refuses; a refused or cut-short body aborts the forwarded request.
 * - `If-None-Match: *` on a PUT or a CompleteMultipartUpload is S3's conditional write: the front
 *   holds the key, asks s3rver whether it exists (412 if so) and lets one write through at a time.
 * - Multipart upload (create, parts, list, abort, complete, list uploads) is answered by the front
 *   itself, after the same checks (s3-multipart.ts): s3rver's is incomplete. Only the completed
 *   object reaches s3rver, by one internal PUT. The front's own answers carry the bucket's CORS
 *   headers, as s3rver's do.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { Transform, pipeline, type TransformCallback } from 'node:stream';
import type { AddressInfo } from 'node:net';
import {
  contentSha256Mismatch,
  incompleteBody,
  internalError,
  missingContentLength,
  notImplemented,
  preconditionFailed,
  invalidArgument,
  S3ErrorResponse,
  s3ErrorXml,
} from './s3-errors.ts';
import { objectKeyOfPath } from '../../../edge/object-key.ts';
import { crashPoint } from '../crash-points.ts';
import { createSigV4Verifier, UNSIGNED_PAYLOAD, type SigV4VerifierOptions, type VerifiedRequest } from './s3-sigv4.ts';
import { createMultipartUploads, multipartOperationOf, type CompletingUploads, type MultipartAnswer } from './s3-multipart.ts';

export interface S3AuthProxyOptions extends SigV4VerifierOptions {
  /** Where the front listens (loopback by default); port 0 picks a free one. */
  host?: string;
  port: number;
  /** The unauthenticated S3 server behind the front. */
  upstream: { host: string; port: number };
  /**
   * CORS headers for the answers the front gives itself to browser requests (errors, multipart
   * operations), as s3rver adds them to its own: a page then sees S3's 403 instead of an opaque
   * network error, and can read a part's ETag. They should match the bucket's CORS rule.
   */
  cors?: { allowOrigin: string; exposeHeaders: readonly string[] };
  /**
   * Multipart upload, answered by the front (s3-multipart.ts) with its store under `directory`;
   * without it, multipart requests are forwarded to the server behind as they are.
   */
  multipart?: { directory: string; completing: CompletingUploads };
  /** Where failures that are not the client's go (a bug, s3rver down); stderr by default. */
  onInternalError?: (error: unknown) => void;
}

export interface S3AuthProxy {
  url: string;
  port: number;
  close(): Promise<void>;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection; node frames each side itself.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect']);

export async function startS3AuthProxy(options: S3AuthProxyOptions): Promise<S3AuthProxy> {
  const verify = createSigV4Verifier(options);
  const agent = new http.Agent({ keepAlive: true });
  const host = options.host ?? '127.0.0.1';
  const onInternalError = options.onInternalError ?? ((error: unknown) => console.error('S3 stand-in front:', error));
  const multipart = options.multipart
    ? createMultipartUploads({ directory: options.multipart.directory, completing: options.multipart.completing, upstream: options.upstream, agent })
    : undefined;

  /** The headers of every answer the front gives itself. */
  function ownHeaders(req: IncomingMessage, requestId: string): http.OutgoingHttpHeaders {
    const cors =
      options.cors && req.headers.origin
        ? {
            'access-control-allow-origin': options.cors.allowOrigin,
            ...(options.cors.exposeHeaders.length > 0 ? { 'access-control-expose-headers': options.cors.exposeHeaders.join(', ') } : {}),
            vary: 'Origin',
          }
        : {};
    return { 'x-amz-request-id': requestId, ...cors };
  }

  function sendError(req: IncomingMessage, res: ServerResponse, error: S3ErrorResponse) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    const body = req.method === 'HEAD' ? '' : s3ErrorXml(error, requestId);
    res.writeHead(error.status, {
      'content-type': 'application/xml',
      'content-length': Buffer.byteLength(body),
      ...ownHeaders(req, requestId),
    });
    // Node reads and discards a body the client still sends, so the client gets this answer.
    res.end(body);
  }

  function sendAnswer(req: IncomingMessage, res: ServerResponse, answer: MultipartAnswer) {
    res.writeHead(answer.status, { ...answer.headers, ...ownHeaders(req, randomBytes(8).toString('hex').toUpperCase()) });
    res.end(answer.body);
  }

  function forward(req: IncomingMessage, res: ServerResponse, body: Transform | undefined) {
    const headers: http.OutgoingHttpHeaders = {};
    const connectionTokens = new Set((req.headers.connection ?? '').split(',').map((token) => token.trim().toLowerCase()));
    for (const [name, values] of Object.entries(req.headersDistinct)) {
      if (values && !HOP_BY_HOP.has(name) && !connectionTokens.has(name)) headers[name] = values.length === 1 ? values[0] : values;
    }
    const upstream = http.request({
      host: options.upstream.host,
      port: options.upstream.port,
      method: req.method,
      path: req.url,
      headers,
      agent,
    });
    upstream.on('response', (answer) => {
      const rawHeaders: string[] = [];
      for (let i = 0; i < answer.rawHeaders.length; i += 2) {
        if (!HOP_BY_HOP.has(answer.rawHeaders[i]!.toLowerCase())) rawHeaders.push(answer.rawHeaders[i]!, answer.rawHeaders[i + 1]!);
      }
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, rawHeaders);
      pipeline(answer, res, () => {});
    });
    const done = (error: Error | null) => {
      if (!error) return;
      upstream.destroy();
      if (error instanceof S3ErrorResponse) sendError(req, res, error);
      else if (!req.complete)
        res.destroy(); // the client went away mid-body
      else {
        onInternalError(error);
        sendError(req, res, internalError());
      }
    };
    if (body) pipeline(req, body, upstream, done);
    else pipeline(req, upstream, done);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, expectsContinue: boolean) {
    try {
      const method = req.method ?? 'GET';
      if (method === 'OPTIONS') {
        if (expectsContinue) res.writeContinue();
        forward(req, res, undefined);
        return;
      }
      if (method === 'POST' && /^multipart\/form-data/i.test(req.headers['content-type'] ?? '') && !req.headers.authorization) {
        throw notImplemented('Browser-based POST uploads (POST policy) are not supported by the local S3 stand-in; use a pre-signed PUT.');
      }
      checkObjectKey(req.url ?? '/');
      const verified = await verify({ method, url: req.url ?? '/', headers: req.headersDistinct });
      const guard = bodyGuard(req, verified);
      const release = await createOnlyCondition(req);
      if (release) res.once('close', release);
      armCrashPoints(req, res);
      const operation = multipart && multipartOperationOf(method, req.url ?? '/');
      const proceed = () => {
        if (expectsContinue) res.writeContinue();
      };
      if (multipart && operation) sendAnswer(req, res, await multipart.handle(operation, req, { stream: guard, proceed }));
      else {
        proceed();
        forward(req, res, guard);
      }
    } catch (error) {
      if (!(error instanceof S3ErrorResponse)) {
        if (!req.complete && req.destroyed) {
          res.destroy(); // the client went away mid-body
          return;
        }
        onInternalError(error);
      }
      sendError(req, res, error instanceof S3ErrorResponse ? error : internalError());
    }
  }

  /** Conditional writes per key, one at a time, so two racing PUTs cannot both create. */
  const writesInFlight = new Map<string, Promise<void>>();

  /**
   * S3's conditional write: a PUT, or the CompleteMultipartUpload, with `If-None-Match: *` creates
   * the object only if no object has the key, else 412 PreconditionFailed (and S3 accepts no other
   * value). s3rver knows none of it, so the front asks s3rver whether the key exists, holding the
   * key until the write it lets through has been answered. Returns the release, or undefined for
   * any other request.
   */
  async function createOnlyCondition(req: IncomingMessage): Promise<(() => void) | undefined> {
    const condition = req.headers['if-none-match'];
    const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
    const multipartQuery = /(^|&)(uploadId|partNumber)=/.test(query);
    const createsObject = (req.method === 'PUT' && !multipartQuery) || (req.method === 'POST' && /(^|&)uploadId=/.test(query));
    if (!createsObject || condition === undefined) return undefined;
    if (condition.trim() !== '*') throw notImplemented('A header you provided implies functionality that is not implemented: If-None-Match accepts only *.');
    const previous = writesInFlight.get(path) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const chained = previous.then(() => mine);
    writesInFlight.set(path, chained);
    await previous;
    const done = () => {
      release();
      if (writesInFlight.get(path) === chained) writesInFlight.delete(path);
    };
    try {
      if (await upstreamHas(path)) throw preconditionFailed('If-None-Match');
    } catch (error) {
      done();
      throw error;
    }
    return done;
  }

  function upstreamHas(path: string): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const head = http.request({ host: options.upstream.host, port: options.upstream.port, method: 'HEAD', path, agent }, (answer) => {
        answer.resume();
        if (answer.statusCode === 200) resolve(true);
        else if (answer.statusCode === 404) resolve(false);
        else reject(new Error(`s3rver answered ${answer.statusCode} to HEAD ${path}`));
      });
      head.on('error', reject);
      head.end();
    });
  }

  const server = http.createServer((req, res) => void handle(req, res, false));
  // Answer `Expect: 100-continue` only once the signature holds, as S3 does: a refused upload's
  // body is then never sent.
  server.on('checkContinue', (req, res) => void handle(req, res, true));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}

/** A video's source upload: PUT /{bucket}/uploads/{videoId}/source. */
const SOURCE_UPLOAD = /^\/[^/]+\/uploads\/[^/]+\/source$/;

/** The chaos test's hand-offs in S3 (crash-points.ts). */
function armCrashPoints(req: IncomingMessage, res: ServerResponse): void {
  const [path = '/', query] = (req.url ?? '/').split('?', 2);
  // A single PUT (pre-signed: its query is the signature), not a part of a multipart upload; or
  // the CompleteMultipartUpload that creates the source.
  const singlePut = req.method === 'PUT' && !/(^|&)(uploadId|partNumber)=/.test(query ?? '');
  const completion = req.method === 'POST' && /(^|&)uploadId=/.test(query ?? '');
  if ((singlePut || completion) && SOURCE_UPLOAD.test(path)) {
    res.once('finish', () => {
      if (res.statusCode === 200) crashPoint('after-upload-200');
    });
  }
  if (req.method === 'POST' && query !== undefined && /(^|&)delete(=|&|$)/.test(query)) crashPoint('during-delete');
}

/**
 * s3rver keeps each object in a file named after its key, so a key with `..` segments would reach
 * outside the bucket's folder. S3 takes such keys literally; this stand-in refuses them (and every
 * other key edge/object-key.ts refuses) before anything else, signed or not.
 */
function checkObjectKey(url: string): void {
  const path = url.split('?', 1)[0]!;
  // Path-style addressing: /{bucket}/{key}; a request on the bucket itself has no key.
  const slash = path.indexOf('/', 1);
  if (slash === -1 || slash === path.length - 1) return;
  const checked = objectKeyOfPath(path.slice(slash));
  if ('refused' in checked) {
    throw invalidArgument(`The local S3 stand-in refuses this object key: ${checked.refused}.`, { ArgumentName: 'key' });
  }
}

/**
 * Checks the body against what the signature covers while it streams: Content-Length bytes, and
 * the declared SHA-256 when there is one. Holds the latest chunk back until the body has ended and
 * passed, so the server behind never sees a complete body that is then refused.
 */
function bodyGuard(req: IncomingMessage, verified: VerifiedRequest): Transform {
  const declaredLength = req.headers['content-length'];
  if (declaredLength === undefined && req.method === 'PUT') throw missingContentLength();
  const expectedBytes = declaredLength === undefined ? undefined : Number(declaredLength);
  const expectedHash = verified.payloadHash === UNSIGNED_PAYLOAD ? undefined : verified.payloadHash.toLowerCase();
  const hash: Hash | undefined = expectedHash ? createHash('sha256') : undefined;
  let received = 0;
  let held: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      received += chunk.length;
      if (expectedBytes !== undefined && received > expectedBytes) {
        callback(incompleteBody());
        return;
      }
      hash?.update(chunk);
      const previous = held;
      held = chunk;
      callback(null, previous);
    },
    flush(callback: TransformCallback) {
      if (expectedBytes !== undefined && received !== expectedBytes) {
        callback(incompleteBody());
        return;
      }
      if (hash && expectedHash) {
        const computed = hash.digest('hex');
        if (computed !== expectedHash) {
          callback(contentSha256Mismatch(expectedHash, computed));
          return;
        }
      }
      callback(null, held);
    },
  });
}
