/**
 * Verifies AWS Signature Version 4 on requests to the S3 stand-in, the way S3 does: query-string
 * auth (pre-signed URLs) and Authorization-header auth (the SDK clients). The signature is
 * recomputed with the SDK's own signer (@smithy/signature-v4) over the request as received: the
 * method, the path exactly as sent, the query without X-Amz-Signature, only the headers the client
 * listed as signed, and the payload hash; then compared in constant time.
 *
 * Rules and error codes follow S3's documentation ("Authenticating Requests (AWS Signature Version
 * 4)", query-string and Authorization-header variants) and what S3 answers; see README.md.
 */
import { timingSafeEqual } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import {
  accessDenied,
  authorizationHeaderMalformed,
  authorizationQueryParametersError,
  invalidAccessKeyId,
  invalidArgument,
  invalidRequest,
  notImplemented,
  S3ErrorResponse,
} from './s3-errors.ts';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** SigV4 pre-signed URLs live at most a week (X-Amz-Expires ≤ 604800). */
export const MAX_PRESIGNED_EXPIRES_SECONDS = 7 * 24 * 3600;
/** S3 refuses requests dated more than 15 minutes from its clock (MaxAllowedSkewMilliseconds). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

const SERVICE = 's3';
const TERMINATOR = 'aws4_request';
const CONTENT_SHA256_HEADER = 'x-amz-content-sha256';
const NOT_SIGNED = 'There were headers present in the request which were not signed';

export interface ReceivedRequest {
  method: string;
  /** The request target exactly as received: the path (still percent-encoded) and the query. */
  url: string;
  /** Header values by lower-case name, repeated headers kept apart (node's `headersDistinct`). */
  headers: Readonly<Record<string, readonly string[] | undefined>>;
}

export interface VerifiedRequest {
  accessKeyId: string;
  mechanism: 'authorization-header' | 'query-string';
  /** `UNSIGNED-PAYLOAD`, or the lower-case hex SHA-256 the body must have. */
  payloadHash: string;
  /** The headers the signature covers (lower case). */
  signedHeaders: ReadonlySet<string>;
}

export interface SigV4VerifierOptions {
  /** Secret access keys by access key id; any other id is InvalidAccessKeyId. */
  credentials: Readonly<Record<string, string>>;
  /** When set, the credential scope must name this region, as S3 insists on the bucket's. */
  region?: string;
  now?: () => Date;
}

/** Resolves with what the signature covers, or rejects with the S3ErrorResponse S3 would answer. */
export type SigV4Verifier = (request: ReceivedRequest) => Promise<VerifiedRequest>;

/** The SDK's signer, with its canonical-request steps reachable so a received request can be re-signed. */
class CanonicalSigner extends SignatureV4 {
  canonicalRequest(request: HttpRequest, canonicalHeaders: Record<string, string>, payloadHash: string): string {
    return this.createCanonicalRequest(request, canonicalHeaders, payloadHash);
  }

  stringToSign(longDate: string, scope: string, canonicalRequest: string): Promise<string> {
    return this.createStringToSign(longDate, scope, canonicalRequest, SIGV4_ALGORITHM);
  }
}

interface Credential {
  accessKeyId: string;
  date: string;
  region: string;
  scope: string;
}

interface AuthParts {
  mechanism: VerifiedRequest['mechanism'];
  credential: Credential;
  longDate: string;
  signingDate: Date;
  /** As the request lists them: names separated by `;`. */
  signedHeaders: string;
  signature: string;
  payloadHash: string;
}

export function createSigV4Verifier(options: SigV4VerifierOptions): SigV4Verifier {
  const now = options.now ?? (() => new Date());
  const signers = new Map(
    Object.entries(options.credentials).map(([accessKeyId, secretAccessKey]) => [
      accessKeyId,
      new CanonicalSigner({
        credentials: { accessKeyId, secretAccessKey },
        region: options.region ?? 'us-east-1',
        service: SERVICE,
        sha256: Hash.bind(null, 'sha256'),
        // S3 signs the path as sent (no second encoding, no normalisation) and no body checksum.
        uriEscapePath: false,
        applyChecksum: false,
      }),
    ]),
  );

  function parseCredential(value: string, fail: (reason: string, details?: Record<string, string>) => S3ErrorResponse): Credential {
    const parts = value.split('/');
    const [accessKeyId, date, region, service, terminator] = parts;
    if (parts.length !== 5 || !accessKeyId || !date || !region || !service || !terminator) {
      throw fail('the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".');
    }
    if (!/^\d{8}$/.test(date)) throw fail(`incorrect date format "${date}". This date in the credential must be in the format "yyyyMMdd".`);
    if (service !== SERVICE) throw fail(`incorrect service "${service}". This endpoint belongs to "${SERVICE}".`);
    if (terminator !== TERMINATOR) throw fail(`incorrect terminal "${terminator}". This endpoint uses "${TERMINATOR}".`);
    if (options.region && region !== options.region) {
      throw fail(`the region '${region}' is wrong; expecting '${options.region}'`, { Region: options.region });
    }
    return { accessKeyId, date, region, scope: `${date}/${region}/${service}/${terminator}` };
  }

  /** Both mechanisms: the credential's date must be the day of X-Amz-Date (each says so with its own error). */
  function checkCredentialDate(credential: Credential, amzDate: string, fail: (message: string) => S3ErrorResponse): void {
    if (credential.date !== amzDate.slice(0, 8)) {
      throw fail(`Invalid credential date "${credential.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`);
    }
  }

  function fromQuery(query: Query, headers: ReceivedRequest['headers']): AuthParts {
    const param = (name: string) => {
      const value = query[name];
      if (Array.isArray(value)) throw authorizationQueryParametersError(`${name} must appear only once.`);
      return value;
    };
    const algorithm = param('X-Amz-Algorithm');
    const credential = param('X-Amz-Credential');
    const amzDate = param('X-Amz-Date');
    const expires = param('X-Amz-Expires');
    const signedHeaders = param('X-Amz-SignedHeaders');
    const signature = param('X-Amz-Signature');
    if (algorithm !== undefined && algorithm !== SIGV4_ALGORITHM) {
      throw authorizationQueryParametersError(`X-Amz-Algorithm only supports "${SIGV4_ALGORITHM}"`);
    }
    if (credential === undefined || amzDate === undefined || expires === undefined || signedHeaders === undefined || signature === undefined) {
      throw authorizationQueryParametersError(
        'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
      );
    }
    const signingDate = parseAmzDate(amzDate);
    if (!signingDate) throw authorizationQueryParametersError(`X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`);
    if (!/^-?\d+$/.test(expires)) throw authorizationQueryParametersError('X-Amz-Expires should be a number');
    const expiresSeconds = Number(expires);
    if (expiresSeconds < 0) throw authorizationQueryParametersError('X-Amz-Expires must be non-negative');
    if (expiresSeconds > MAX_PRESIGNED_EXPIRES_SECONDS) {
      throw authorizationQueryParametersError(
        `X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than ${MAX_PRESIGNED_EXPIRES_SECONDS} seconds`,
      );
    }
    const parsed = parseCredential(credential, (reason, details) =>
      authorizationQueryParametersError(`Error parsing the X-Amz-Credential parameter; ${reason}`, details),
    );
    checkCredentialDate(parsed, amzDate, authorizationQueryParametersError);
    if (!signers.has(parsed.accessKeyId)) throw invalidAccessKeyId(parsed.accessKeyId);

    const serverTime = now();
    const expiresAt = new Date(signingDate.getTime() + expiresSeconds * 1000);
    if (serverTime.getTime() > expiresAt.getTime()) {
      throw accessDenied('Request has expired', {
        'X-Amz-Expires': expires,
        Expires: isoSeconds(expiresAt),
        ServerTime: isoSeconds(serverTime),
      });
    }
    if (signingDate.getTime() - serverTime.getTime() > MAX_CLOCK_SKEW_MS) {
      throw accessDenied('Request is not yet valid', { 'X-Amz-Date': amzDate, ServerTime: isoSeconds(serverTime) });
    }

    // A pre-signed URL's payload is unsigned unless the URL itself names a hash.
    const declaredHash = Object.keys(query).find((name) => name.toLowerCase() === CONTENT_SHA256_HEADER);
    const payloadHash = checkPayloadHash(declaredHash ? String(query[declaredHash]) : UNSIGNED_PAYLOAD, headers);
    return { mechanism: 'query-string', credential: parsed, longDate: amzDate, signingDate, signedHeaders, signature, payloadHash };
  }

  function fromHeader(authorization: string, headers: ReceivedRequest['headers']): AuthParts {
    const space = authorization.indexOf(' ');
    const algorithm = space === -1 ? authorization : authorization.slice(0, space);
    if (algorithm === 'AWS') {
      // Signature Version 2: S3 regions opened since 2014 refuse it, as this stand-in does.
      throw invalidRequest('The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
    }
    if (algorithm !== SIGV4_ALGORITHM) {
      throw invalidArgument('Unsupported Authorization Type', { ArgumentName: 'Authorization', ArgumentValue: authorization });
    }
    const fields = new Map<string, string>();
    for (const part of authorization.slice(space + 1).split(',')) {
      const field = part.trim();
      const eq = field.indexOf('=');
      if (eq > 0) fields.set(field.slice(0, eq), field.slice(eq + 1));
    }
    const credential = fields.get('Credential');
    const signedHeaders = fields.get('SignedHeaders');
    const signature = fields.get('Signature');
    if (!credential || !signedHeaders || !signature) {
      throw authorizationHeaderMalformed('the authorization header requires three components: Credential, SignedHeaders, and Signature.');
    }
    const parsed = parseCredential(credential, authorizationHeaderMalformed);

    const amzDate = only(headers['x-amz-date']);
    const signingDate = amzDate === undefined ? undefined : parseAmzDate(amzDate);
    if (!amzDate || !signingDate) throw accessDenied('AWS authentication requires a valid Date or x-amz-date header');
    checkCredentialDate(parsed, amzDate, authorizationHeaderMalformed);
    const declaredHash = only(headers[CONTENT_SHA256_HEADER]);
    if (declaredHash === undefined) throw invalidRequest(`Missing required header for this request: ${CONTENT_SHA256_HEADER}`);
    const payloadHash = checkPayloadHash(declaredHash, headers);
    if (!signers.has(parsed.accessKeyId)) throw invalidAccessKeyId(parsed.accessKeyId);

    const serverTime = now();
    if (Math.abs(signingDate.getTime() - serverTime.getTime()) > MAX_CLOCK_SKEW_MS) {
      throw new S3ErrorResponse(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
        RequestTime: amzDate,
        ServerTime: isoSeconds(serverTime),
        MaxAllowedSkewMilliseconds: String(MAX_CLOCK_SKEW_MS),
      });
    }
    return { mechanism: 'authorization-header', credential: parsed, longDate: amzDate, signingDate, signedHeaders, signature, payloadHash };
  }

  return async function verify(request) {
    const { path, query } = parseTarget(request.url);
    const authorization = only(request.headers.authorization);
    const mechanisms = [authorization !== undefined, 'X-Amz-Algorithm' in query, 'Signature' in query || 'AWSAccessKeyId' in query];
    const count = mechanisms.filter(Boolean).length;
    if (count > 1) {
      throw invalidArgument(
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
        { ArgumentName: 'Authorization', ArgumentValue: authorization ?? '' },
      );
    }
    if (count === 0) throw accessDenied();
    if (mechanisms[2]) {
      throw invalidRequest('The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.');
    }
    const auth = authorization !== undefined ? fromHeader(authorization, request.headers) : fromQuery(query, request.headers);

    const signed = new Set(auth.signedHeaders.split(';').map((name) => name.toLowerCase()));
    if (!signed.has('host')) throw accessDenied(NOT_SIGNED, { HeadersNotSigned: 'host' });
    // Every x-amz-* header takes effect in S3, so each must be signed (a pre-signed PUT cannot gain
    // an ACL, metadata or a copy source). The header-auth payload hash is signed as the hash line.
    const unsigned = Object.keys(request.headers).filter(
      (name) => name.startsWith('x-amz-') && !signed.has(name) && !(auth.mechanism === 'authorization-header' && name === CONTENT_SHA256_HEADER),
    );
    if (unsigned.length > 0) throw accessDenied(NOT_SIGNED, { HeadersNotSigned: unsigned.join(', ') });

    const canonicalHeaders = Object.create(null) as Record<string, string>;
    for (const name of signed) {
      // A signed header that is absent signs as empty, so the signature cannot match.
      canonicalHeaders[name] = (request.headers[name] ?? []).map(canonicalHeaderValue).join(',');
    }
    const signer = signers.get(auth.credential.accessKeyId)!;
    const canonicalRequest = signer.canonicalRequest(new HttpRequest({ method: request.method, path, query, headers: {} }), canonicalHeaders, auth.payloadHash);
    const stringToSign = await signer.stringToSign(auth.longDate, auth.credential.scope, canonicalRequest);
    const expected = await signer.sign(stringToSign, {
      signingDate: auth.signingDate,
      signingRegion: auth.credential.region,
      signingService: SERVICE,
    });
    if (!constantTimeEqual(expected, auth.signature)) {
      throw new S3ErrorResponse(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
        {
          AWSAccessKeyId: auth.credential.accessKeyId,
          StringToSign: stringToSign,
          SignatureProvided: auth.signature,
          StringToSignBytes: hexBytes(stringToSign),
          CanonicalRequest: canonicalRequest,
          CanonicalRequestBytes: hexBytes(canonicalRequest),
        },
      );
    }
    return { accessKeyId: auth.credential.accessKeyId, mechanism: auth.mechanism, payloadHash: auth.payloadHash, signedHeaders: signed };
  };
}

type Query = Record<string, string | string[]>;

/** Splits the request target; query names and values are decoded (the signer re-encodes them). */
function parseTarget(url: string): { path: string; query: Query } {
  const mark = url.indexOf('?');
  const path = mark === -1 ? url : url.slice(0, mark);
  const query: Query = Object.create(null) as Query;
  if (mark === -1) return { path, query };
  for (const pair of url.slice(mark + 1).split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = decode(eq === -1 ? pair : pair.slice(0, eq));
    const value = decode(eq === -1 ? '' : pair.slice(eq + 1));
    const previous = query[name];
    query[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  return { path, query };
}

function decode(component: string): string {
  try {
    return decodeURIComponent(component);
  } catch {
    throw new S3ErrorResponse(400, 'InvalidURI', "Couldn't parse the specified URI.");
  }
}

function checkPayloadHash(value: string, headers: ReceivedRequest['headers']): string {
  const encodings = (headers['content-encoding'] ?? []).join(',');
  if (value.startsWith('STREAMING-') || /aws-chunked/i.test(encodings)) {
    // S3 accepts aws-chunked bodies; this stand-in does not (s3rver would store the framing). Our
    // clients never send them: they set requestChecksumCalculation WHEN_REQUIRED (src/app/aws-clients.ts).
    throw notImplemented(
      `aws-chunked request bodies (x-amz-content-sha256: ${value}) are not supported by the local S3 stand-in; ` +
        "create the S3 client with requestChecksumCalculation: 'WHEN_REQUIRED'.",
    );
  }
  if (value === UNSIGNED_PAYLOAD) return value;
  if (/^[0-9a-fA-F]{64}$/.test(value)) return value;
  throw invalidArgument('x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, or a valid sha256 value.', {
    ArgumentName: CONTENT_SHA256_HEADER,
    ArgumentValue: value,
  });
}

/** `yyyyMMdd'T'HHmmss'Z'`, strictly (a date that does not exist is refused). */
function parseAmzDate(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hours, minutes, seconds] = match.map(Number);
  const date = new Date(Date.UTC(year!, month! - 1, day, hours, minutes, seconds));
  return longDate(date) === value ? date : undefined;
}

const longDate = (date: Date) =>
  date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
const isoSeconds = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The value as the SDK's signer canonicalises it: line breaks and runs of blanks become one space, trimmed. */
const canonicalHeaderValue = (value: string) =>
  value
    .replace(/[\r\n]/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');

const only = (values: readonly string[] | undefined) => (values && values.length > 0 ? values.join(',') : undefined);

function constantTimeEqual(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(provided, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

const hexBytes = (text: string) => [...Buffer.from(text, 'utf8')].map((byte) => byte.toString(16).padStart(2, '0')).join(' ');
