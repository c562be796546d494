/**
 * A tiny HTTP front for the ffmpeg worker, so the application (which may not import `deploy/`)
 * talks to it the way it talks to MediaConvert:
 *
 *   POST /jobs  {videoId, sourceKey, outputPrefix, clientRequestToken, plan}  ->  201 {jobId}
 *   GET  /jobs/{jobId}            ->  200 {detail} (GetJob, as the job's state-change event detail) | 404
 *   GET  /jobs?videoId=&since=    ->  200 {jobs: [{jobId, createdAt}]}, newest first
 *   POST /jobs/{jobId}/cancel     ->  200 {result: canceled | finished} | 404
 *   POST /2017-08-29/probe  MediaConvert's Probe, on the wire as the SDK sends it: the app's
 *        MediaConvertClient points here (MEDIACONVERT_ENDPOINT) and reads the answer as in AWS.
 *
 * Only its own stack may use it: every request must carry the stack's token in
 * `x-vod-worker-token` (401 otherwise), so no other program on the machine can submit a job that
 * writes into someone's video folder, or read sources through it.
 */
import { STATUS_CODES } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyError, type FastifyReply, type FastifyRequest, type FastifySchemaValidationError } from 'fastify';
import { TypeBoxValidatorCompiler, type FastifyPluginAsyncTypebox, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { TranscodePlan } from '../../../src/schemas/transcode.ts';
import { ProbeRefusedError, type TranscodeWorker } from './worker.ts';
import { loadOrCreateKeyFile } from '../key-file.ts';
import { WORKER_TOKEN_HEADER } from '../../../src/adapters/ffmpeg-worker/ffmpeg-worker-transcoder.ts';
import type { Logger } from '../../../src/shared/logger.ts';

const NonEmpty = Type.String({ minLength: 1, maxLength: 1024 });

export const TranscodeJobRequestBody = Type.Object({
  videoId: NonEmpty,
  sourceKey: NonEmpty,
  outputPrefix: NonEmpty,
  clientRequestToken: NonEmpty,
  plan: TranscodePlan,
});
/** Checked against the app's interface where the server hands it to `worker.submit`. */
export type TranscodeJobRequestBody = Static<typeof TranscodeJobRequestBody>;

const MAX_BODY_BYTES = 256 * 1024;

/** MediaConvert's REST path for Probe. */
export const PROBE_PATH = '/2017-08-29/probe';

/**
 * An SDK-shaped value (PascalCase members, Date timestamps) as MediaConvert's JSON protocol puts
 * it on the wire: every member under its locationName, which for Probe's shapes is the member name
 * with a lower-case first letter, and timestamps as Unix seconds.
 */
export function toMediaConvertWire(value: unknown): unknown {
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  if (Array.isArray(value)) return value.map(toMediaConvertWire);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, member]) => [key.charAt(0).toLowerCase() + key.slice(1), toMediaConvertWire(member)]));
  }
  return value;
}

/**
 * The stack's worker token, made once per data directory (0600) and kept, so `npm run sam:env`
 * can hand it to `sam local` while the stack runs.
 */
export async function loadWorkerToken(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'transcoder', 'token.json');
  const { token } = await loadOrCreateKeyFile(file, () => ({ token: randomBytes(32).toString('base64url') }));
  return token;
}

export interface TranscodeWorkerServer {
  /** Base URL, e.g. `http://127.0.0.1:4010`. */
  url: string;
  close(): Promise<void>;
}

/** MediaConvert's Probe request as the SDK puts it on the wire: at least one file, each with its URL. */
const ProbeRequestBody = Type.Object({ inputFiles: Type.Array(Type.Object({ fileUrl: Type.String() }), { minItems: 1 }) });

const JobsQuery = Type.Object({ videoId: Type.String({ minLength: 1 }), since: Type.Optional(Type.String()) });
const JobParams = Type.Object({ jobId: Type.String() });

/** A refusal the client should hear about; Fastify and the error handlers read `statusCode`. */
class ClientError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const NOT_JSON = 'The request body is not valid JSON';

/** A request without a body never reaches the content-type parser; it is no JSON either. */
async function requireBody(request: FastifyRequest): Promise<void> {
  if (request.body === undefined) throw new ClientError(400, NOT_JSON);
}

/** What a 4xx says: a body over the limit in the worker's words rather than Fastify's, any other refusal its own message. */
const clientDetail = (error: FastifyError) => (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'The request body is too large' : error.message);
const isClientError = (error: FastifyError) => error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500;

/** JSON under exactly the given content type (Fastify would add `; charset=utf-8` to a serialised object's). */
function sendJson(reply: FastifyReply, status: number, body: unknown, contentType = 'application/json') {
  return reply
    .code(status)
    .type(contentType)
    .send(Buffer.from(JSON.stringify(body)));
}

function problem(reply: FastifyReply, status: number, detail: string) {
  return sendJson(reply, status, { type: 'about:blank', title: STATUS_CODES[status], status, detail }, 'application/problem+json');
}

/** MediaConvert's errors: the status, its type in `x-amzn-ErrorType`, and `{message}`. */
function mediaConvertError(reply: FastifyReply, status: number, type: string, message: string) {
  return sendJson(reply.header('x-amzn-errortype', type), status, { message });
}

export async function startTranscodeWorkerServer(options: {
  worker: TranscodeWorker;
  /** The stack's secret; requests without it are refused. */
  token: string;
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Where failures that are not the client's go (the stack's redacting logger); stderr by default. */
  logger?: Pick<Logger, 'error'>;
}): Promise<TranscodeWorkerServer> {
  const { worker, host = '127.0.0.1', port } = options;
  const expected = Buffer.from(options.token);
  const logger = options.logger ?? { error: (details: object, message: string) => console.error(message, details) };

  /** Refuses a request without the stack's token; true when it did. */
  function refusedStranger(request: FastifyRequest, reply: FastifyReply): boolean {
    const given = Buffer.from(String(request.headers[WORKER_TOKEN_HEADER] ?? ''));
    if (given.length === expected.length && timingSafeEqual(given, expected)) return false;
    void problem(reply, 401, `This worker takes requests from its own stack only (${WORKER_TOKEN_HEADER})`);
    return true;
  }

  const app = Fastify({
    logger: false,
    forceCloseConnections: true,
    // HEAD is not answered as GET: like any other method this front does not serve, it is refused.
    exposeHeadRoutes: false,
    bodyLimit: MAX_BODY_BYTES,
    // A path that does not percent-decode is refused before any hook runs: after the token check
    // still, and as problem+json like every other refusal.
    frameworkErrors: (error, request, reply) => {
      if (!refusedStranger(request, reply)) void problem(reply, error.statusCode ?? 400, error.message);
    },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Bodies and query strings are checked by TypeBox itself, as the app's interface is typed: no
  // coercion, and TypeBox's own error paths and messages in the answers.
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  // Reads and cancel take no body: one sent along is left unread rather than parsed and refused
  // (a client may well send an empty JSON body with a cancel).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));

  // Before routing and before any body is read: every path, unknown ones too, needs the token.
  app.addHook('onRequest', async (request, reply) => {
    if (refusedStranger(request, reply)) return reply;
  });

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (isClientError(error)) return problem(reply, error.statusCode!, clientDetail(error));
    logger.error({ err: error }, 'Transcode worker server: request failed');
    return problem(reply, 500, 'The request could not be carried out');
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?', 1)[0]!;
    if (path === '/jobs') return problem(reply.header('allow', 'GET, POST'), 405, 'Use POST /jobs or GET /jobs?videoId=');
    return problem(reply, 404, path.startsWith('/jobs/') ? `No route ${request.method} ${path}` : `No route ${path}`);
  });

  /** A failed Probe as MediaConvert reports it: status, error type, message. */
  function probeFailure(error: FastifyError): [status: number, type: string, message: string] {
    if (error instanceof ProbeRefusedError) return [error.status, error.status === 404 ? 'NotFoundException' : 'BadRequestException', error.message];
    if (isClientError(error)) return [400, 'BadRequestException', clientDetail(error)];
    logger.error({ err: error }, 'Transcode worker server: probe failed');
    return [500, 'InternalServerErrorException', 'The file could not be probed'];
  }

  app.get(
    '/jobs',
    { schema: { querystring: JobsQuery }, schemaErrorFormatter: () => new Error('GET /jobs needs videoId and an ISO since') },
    async (request, reply) => {
      const since = new Date(request.query.since ?? 0);
      if (Number.isNaN(since.getTime())) throw new ClientError(400, 'GET /jobs needs videoId and an ISO since');
      return sendJson(reply, 200, { jobs: await worker.findJobs(request.query.videoId, since) });
    },
  );

  app.get('/jobs/:jobId', { schema: { params: JobParams } }, async (request, reply) => {
    const { jobId } = request.params;
    const detail = await worker.getJob(jobId);
    return detail ? sendJson(reply, 200, { detail }) : problem(reply, 404, `No job ${jobId}`);
  });

  app.post('/jobs/:jobId/cancel', { schema: { params: JobParams } }, async (request, reply) => {
    const { jobId } = request.params;
    const result = await worker.cancel(jobId);
    return result === 'unknown' ? problem(reply, 404, `No job ${jobId}`) : sendJson(reply, 200, { result });
  });

  const routesWithBody: FastifyPluginAsyncTypebox = async (withBody) => {
    // Probe's and a job's body are read as JSON whatever the content type says: the SDK and the app
    // send JSON, and anything else is answered as a body that is not JSON.
    withBody.removeAllContentTypeParsers();
    withBody.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch {
        done(new ClientError(400, NOT_JSON));
      }
    });

    withBody.post(
      PROBE_PATH,
      {
        schema: { body: ProbeRequestBody },
        preValidation: requireBody,
        schemaErrorFormatter: () => new Error('inputFiles must list at least one fileUrl'),
        // Probe is answered in MediaConvert's error shape, which the SDK reads, not problem+json.
        errorHandler: (error, _request, reply) => {
          void mediaConvertError(reply, ...probeFailure(error));
        },
      },
      async (request, reply) => {
        const results = [];
        for (const file of request.body.inputFiles) results.push(await worker.probe(file.fileUrl));
        return sendJson(reply, 200, toMediaConvertWire({ ProbeResults: results }));
      },
    );

    withBody.post(
      '/jobs',
      {
        schema: { body: TranscodeJobRequestBody },
        preValidation: requireBody,
        schemaErrorFormatter: ([first]: FastifySchemaValidationError[]) =>
          new Error(`Invalid transcode job request: ${first?.instancePath || 'body'} ${first?.message ?? 'is invalid'}`),
      },
      async (request, reply) => {
        const { videoId, sourceKey, outputPrefix, clientRequestToken, plan } = request.body;
        const { jobId } = await worker.submit({ videoId, sourceKey, outputPrefix, clientRequestToken, plan });
        return sendJson(reply, 201, { jobId });
      },
    );
  };
  await app.register(routesWithBody);

  await app.listen({ host, port });
  const { port: bound } = app.server.address() as AddressInfo;
  return { url: `http://${host}:${bound}`, close: () => app.close() };
}
