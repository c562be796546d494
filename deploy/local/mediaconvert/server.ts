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
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { TranscodePlan } from '../../../src/schemas/transcode.ts';
import { ProbeRefusedError, type TranscodeWorker } from './worker.ts';
import { loadOrCreateKeyFile } from '../key-file.ts';
import { WORKER_TOKEN_HEADER } from '../../../src/adapters/ffmpeg-worker/ffmpeg-worker-transcoder.ts';

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

class BadRequest extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json') {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function problem(res: ServerResponse, status: number, title: string, detail: string) {
  send(res, status, { type: 'about:blank', title, status, detail }, 'application/problem+json');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest('The request body is too large', 413);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new BadRequest('The request body is not valid JSON');
  }
}

export async function startTranscodeWorkerServer(options: {
  worker: TranscodeWorker;
  /** The stack's secret; requests without it are refused. */
  token: string;
  host?: string;
  /** 0 picks a free port. */
  port: number;
  /** Where failures that are not the client's go (the stack's redacting logger); stderr by default. */
  logger?: { error(details: object, message: string): void };
}): Promise<TranscodeWorkerServer> {
  const { worker, host = '127.0.0.1', port } = options;
  const expected = Buffer.from(options.token);
  const logger = options.logger ?? { error: (details: object, message: string) => console.error(message, details) };
  const authorised = (req: IncomingMessage) => {
    const given = Buffer.from(String(req.headers[WORKER_TOKEN_HEADER] ?? ''));
    return given.length === expected.length && timingSafeEqual(given, expected);
  };

  /** MediaConvert's errors: the status, its type in `x-amzn-ErrorType`, and `{message}`. */
  function mediaConvertError(res: ServerResponse, status: number, type: string, message: string) {
    const text = JSON.stringify({ message });
    res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-errortype': type, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  async function answerProbe(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let files: Array<{ fileUrl?: unknown }> = [];
    try {
      const body = (await readJson(req)) as { inputFiles?: Array<{ fileUrl?: unknown }> };
      files = Array.isArray(body?.inputFiles) ? body.inputFiles : [];
    } catch (error) {
      return mediaConvertError(res, 400, 'BadRequestException', error instanceof Error ? error.message : 'Bad request');
    }
    if (files.length === 0 || files.some((file) => typeof file.fileUrl !== 'string')) {
      return mediaConvertError(res, 400, 'BadRequestException', 'inputFiles must list at least one fileUrl');
    }
    try {
      const results = [];
      for (const file of files) results.push(await worker.probe(file.fileUrl as string));
      send(res, 200, toMediaConvertWire({ ProbeResults: results }));
    } catch (error) {
      if (error instanceof ProbeRefusedError) {
        return mediaConvertError(res, error.status, error.status === 404 ? 'NotFoundException' : 'BadRequestException', error.message);
      }
      logger.error({ err: error }, 'Transcode worker server: probe failed');
      mediaConvertError(res, 500, 'InternalServerErrorException', 'The file could not be probed');
    }
  }

  async function answerJobs(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const [, , jobId, action] = url.pathname.split('/').map(decodeURIComponent) as [string, string, string | undefined, string | undefined];
    if (jobId === undefined) {
      if (req.method === 'GET') {
        const videoId = url.searchParams.get('videoId');
        const since = new Date(url.searchParams.get('since') ?? 0);
        if (!videoId || Number.isNaN(since.getTime())) throw new BadRequest('GET /jobs needs videoId and an ISO since');
        return send(res, 200, { jobs: await worker.findJobs(videoId, since) });
      }
      if (req.method !== 'POST') {
        res.setHeader('allow', 'GET, POST');
        return problem(res, 405, 'Method Not Allowed', 'Use POST /jobs or GET /jobs?videoId=');
      }
      const body = await readJson(req);
      if (!Value.Check(TranscodeJobRequestBody, body)) {
        const first = Value.Errors(TranscodeJobRequestBody, body).First();
        const where = first?.path || 'body';
        throw new BadRequest(`Invalid transcode job request: ${where} ${first?.message ?? 'is invalid'}`);
      }
      const { videoId, sourceKey, outputPrefix, clientRequestToken, plan } = body;
      const { jobId: created } = await worker.submit({ videoId, sourceKey, outputPrefix, clientRequestToken, plan });
      return send(res, 201, { jobId: created });
    }
    if (action === undefined && req.method === 'GET') {
      const detail = await worker.getJob(jobId);
      return detail ? send(res, 200, { detail }) : problem(res, 404, 'Not Found', `No job ${jobId}`);
    }
    if (action === 'cancel' && req.method === 'POST') {
      const result = await worker.cancel(jobId);
      return result === 'unknown' ? problem(res, 404, 'Not Found', `No job ${jobId}`) : send(res, 200, { result });
    }
    return problem(res, 404, 'Not Found', `No route ${req.method} ${url.pathname}`);
  }

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (!authorised(req)) {
        req.resume();
        return problem(res, 401, 'Unauthorized', `This worker takes requests from its own stack only (${WORKER_TOKEN_HEADER})`);
      }
      if (url.pathname === PROBE_PATH && req.method === 'POST') return answerProbe(req, res);
      if (url.pathname !== '/jobs' && !url.pathname.startsWith('/jobs/')) return problem(res, 404, 'Not Found', `No route ${url.pathname}`);
      try {
        await answerJobs(req, res, url);
      } catch (error) {
        if (error instanceof BadRequest) {
          return problem(res, error.status, error.status === 413 ? 'Payload Too Large' : 'Bad Request', error.message);
        }
        logger.error({ err: error }, 'Transcode worker server: request failed');
        problem(res, 500, 'Internal Server Error', 'The request could not be carried out');
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
