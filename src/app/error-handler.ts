/**
 * The one place errors become HTTP: domain errors by class, Fastify's own (validation, 404, body
 * too large, a malformed URL) by status code, and what Node's HTTP parser refuses before Fastify
 * sees a request (headers too large, a broken Content-Length). Every one is answered as RFC 9457
 * problem+json (src/schemas/problem.ts), and a 5xx never leaks its internals.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import {
  DomainError,
  ForbiddenError,
  InvalidInputError,
  UnauthenticatedError,
  TooManyRequestsError,
  UnsupportedContentTypeError,
  UploadIncompleteError,
  UploadNotInProgressError,
  UploadTooLargeError,
  VideoNotFoundError,
  VideoNotReadyError,
} from '../domain/errors.ts';
import type { Problem } from '../schemas/problem.ts';
import { API_SECURITY_HEADERS } from './security-headers.ts';

const STATUS_OF: ReadonlyArray<[new (...args: never[]) => DomainError, number, string]> = [
  [InvalidInputError, 400, 'Invalid request'],
  [UnauthenticatedError, 401, 'Unauthenticated'],
  [ForbiddenError, 403, 'Forbidden'],
  [VideoNotFoundError, 404, 'Video not found'],
  [VideoNotReadyError, 409, 'Video not ready'],
  [UploadIncompleteError, 409, 'Upload incomplete'],
  [UploadNotInProgressError, 409, 'No upload in progress'],
  [UploadTooLargeError, 413, 'Upload too large'],
  [UnsupportedContentTypeError, 415, 'Not a video or audio file'],
  [TooManyRequestsError, 429, 'Too many requests'],
];

/**
 * Stable problem types for Fastify's own errors, by code; any other client
 * error is typed by its status (`/problems/http-<status>`), so no framework code name becomes
 * part of the contract.
 */
const FASTIFY_PROBLEM_TYPES: Readonly<Record<string, string>> = {
  FST_ERR_BAD_URL: 'malformed-url',
  FST_ERR_MAX_PARAM_LENGTH: 'uri-too-long',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported-media-type',
  FST_ERR_CTP_BODY_TOO_LARGE: 'body-too-large',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid-input',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid-input',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid-content-length',
};

const problemType = (slug: string) => `/problems/${slug}`;

/** The problem a client error of `status` gets when nothing more specific is known. */
function httpProblem(status: number, detail: string, slug = `http-${status}`): Problem {
  return { type: problemType(slug), title: STATUS_CODES[status] ?? 'Client error', status, detail };
}

export function problemOf(error: FastifyError | Error): Problem {
  if (error instanceof DomainError) {
    const entry = STATUS_OF.find(([errorClass]) => error instanceof errorClass);
    const [, status, title] = entry ?? [undefined, 500, 'Internal error'];
    return { type: problemType(error.code), title, status, detail: error.message };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    return { type: problemType('invalid-input'), title: 'Invalid request', status: 400, detail: fastifyError.message };
  }
  const status = fastifyError.statusCode;
  if (status && status >= 400 && status < 500) {
    // A JSON syntax error names the position, not the body: safe to tell the client.
    const slug = FASTIFY_PROBLEM_TYPES[fastifyError.code] ?? (error instanceof SyntaxError ? 'invalid-input' : undefined);
    return httpProblem(status, fastifyError.message, slug);
  }
  return { type: problemType('internal'), title: 'Internal error', status: 500, detail: 'Something went wrong on our side; it has been logged.' };
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = problemOf(error);
    if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
    else request.log.info({ problem: problem.type }, error.message);
    return reply.status(problem.status).type('application/problem+json').send(problem);
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .type('application/problem+json')
      // Cut like any URL a problem names: an unknown 10 KB path is not echoed back whole.
      .send(httpProblem(404, `No route ${request.method} ${shortened(request.url.split('?')[0] ?? '')}`, 'route-not-found')),
  );
}

/** A URL in a problem's detail: long ones cut, so a 10 KB path is not echoed back whole. */
function shortened(text: string, limit = 200): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length} characters)`;
}

/**
 * Fastify's `frameworkErrors`: errors raised while routing, before any route or hook runs (a URL
 * that does not decode, a path parameter over the router's length limit). No hook has set the
 * security headers, so they are set here.
 */
export const answerFrameworkError: NonNullable<FastifyServerOptions['frameworkErrors']> = (
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
) => {
  const detail =
    error.code === 'FST_ERR_BAD_URL'
      ? `The path ${shortened(request.url.split('?')[0] ?? '')} is not a valid URL: a % must start a percent-encoded byte.`
      : error.code === 'FST_ERR_MAX_PARAM_LENGTH'
        ? `A path parameter of ${shortened(request.url.split('?')[0] ?? '', 60)} is longer than any this API accepts.`
        : 'The request could not be routed.';
  const problem = { ...problemOf(error), detail };
  request.log.info({ problem: problem.type }, error.message.slice(0, 300));
  void reply.status(problem.status).headers(API_SECURITY_HEADERS).type('application/problem+json').send(problem);
};

/**
 * Fastify's `clientErrorHandler` (the server's 'clientError' event): the HTTP parser refused the
 * bytes before any request exists, so the answer is written to the socket as Node would write its
 * own, then the connection is closed. Node reports an overlong request line and overlong headers
 * alike (HPE_HEADER_OVERFLOW, one 16 KB limit for both): when the request line is most of what was
 * read, the URI is too long (414), else the headers are too large (431). Every operation declares
 * both.
 */
export function answerClientError(error: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  // A reset connection has nobody to answer (https://nodejs.org/api/http.html#event-clienterror).
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let problem: Problem;
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    // Fastify types rawPacket as a JSON-serialised Buffer; Node passes the Buffer itself.
    const packet = Buffer.isBuffer(error.rawPacket) ? error.rawPacket.subarray(0, 64 * 1024).toString('latin1') : '';
    const lineEnd = packet.indexOf('\r\n');
    const requestLine = lineEnd === -1 ? packet.length : lineEnd;
    // The URI is to blame when the request line is most of what was read (or all of it).
    problem =
      /^[A-Z]+ /.test(packet) && requestLine * 2 >= packet.length
        ? httpProblem(414, 'The request URI is longer than this server reads.', 'uri-too-long')
        : httpProblem(431, 'The request headers are larger than this server reads.', 'headers-too-large');
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    problem = httpProblem(408, 'The request did not arrive in time.', 'request-timeout');
  } else if (error.code === 'HPE_INVALID_CONTENT_LENGTH' || error.code === 'HPE_UNEXPECTED_CONTENT_LENGTH') {
    problem = httpProblem(400, 'The Content-Length header is not one valid length for this request.', 'invalid-content-length');
  } else {
    problem = httpProblem(400, 'The request is not valid HTTP/1.1.', 'malformed-request');
  }
  // Never into the middle of a response already under way on a kept-alive connection.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify(problem);
    const headers = {
      ...API_SECURITY_HEADERS,
      'content-type': 'application/problem+json; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      connection: 'close',
    };
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(`HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n${head}\r\n${body}`);
  }
  socket.destroy(error);
}
