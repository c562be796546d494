/**
 * The one place errors become HTTP: domain errors by class, Fastify's own (validation, 404,
 * body too large) by status code. Answers RFC 9457 problem+json and never leaks a 5xx's internals.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import {
  DomainError,
  ForbiddenError,
  InvalidInputError,
  UnauthenticatedError,
  UnsupportedContentTypeError,
  UploadTooLargeError,
  VideoNotFoundError,
  VideoNotReadyError,
} from './errors.ts';
import type { Problem } from './schemas/problem.ts';

const STATUS_OF: ReadonlyArray<[new (...args: never[]) => DomainError, number, string]> = [
  [InvalidInputError, 400, 'Invalid request'],
  [UnauthenticatedError, 401, 'Unauthenticated'],
  [ForbiddenError, 403, 'Forbidden'],
  [VideoNotFoundError, 404, 'Video not found'],
  [VideoNotReadyError, 409, 'Video not ready'],
  [UploadTooLargeError, 413, 'Upload too large'],
  [UnsupportedContentTypeError, 415, 'Not a video or audio file'],
];

const problemType = (slug: string) => `/problems/${slug}`;

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
    return { type: problemType(fastifyError.code?.toLowerCase() ?? 'client-error'), title: 'Bad request', status, detail: fastifyError.message };
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
    reply.status(404).type('application/problem+json').send({
      type: problemType('route-not-found'),
      title: 'Not found',
      status: 404,
      detail: `No route ${request.method} ${request.url.split('?')[0]}`,
    } satisfies Problem),
  );
}
