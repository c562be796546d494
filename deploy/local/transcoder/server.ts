/**
 * A tiny HTTP front for the ffmpeg worker, so the application (which may not import `deploy/`)
 * talks to it the way it talks to MediaConvert:
 *
 *   POST /jobs  {videoId, sourceKey, outputPrefix, clientRequestToken, plan}  ->  201 {jobId}
 *   POST /2017-08-29/probe  MediaConvert's Probe, on the wire as the SDK sends it: the app's
 *        MediaConvertClient points here (MEDIACONVERT_ENDPOINT) and reads the answer as in AWS.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { TranscodePlan } from '../../../src/schemas/transcode.ts';
import { ProbeRefusedError, type TranscodeWorker } from './worker.ts';

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
    return Object.fromEntries(
      Object.entries(value).map(([key, member]) => [key.charAt(0).toLowerCase() + key.slice(1), toMediaConvertWire(member)]),
    );
  }
  return value;
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
  host?: string;
  /** 0 picks a free port. */
  port: number;
}): Promise<TranscodeWorkerServer> {
  const { worker, host = '127.0.0.1', port } = options;

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
      console.error('Transcode worker server: probe failed', error);
      mediaConvertError(res, 500, 'InternalServerErrorException', 'The file could not be probed');
    }
  }

  const server = createServer((req, res) => {
    void (async () => {
      const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (pathname === PROBE_PATH && req.method === 'POST') return answerProbe(req, res);
      if (pathname !== '/jobs') return problem(res, 404, 'Not Found', `No route ${pathname}`);
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST');
        return problem(res, 405, 'Method Not Allowed', 'Use POST /jobs');
      }
      try {
        const body = await readJson(req);
        if (!Value.Check(TranscodeJobRequestBody, body)) {
          const first = Value.Errors(TranscodeJobRequestBody, body).First();
          const where = first?.path || 'body';
          throw new BadRequest(`Invalid transcode job request: ${where} ${first?.message ?? 'is invalid'}`);
        }
        const { videoId, sourceKey, outputPrefix, clientRequestToken, plan } = body;
        const { jobId } = await worker.submit({ videoId, sourceKey, outputPrefix, clientRequestToken, plan });
        send(res, 201, { jobId });
      } catch (error) {
        if (error instanceof BadRequest) {
          return problem(res, error.status, error.status === 413 ? 'Payload Too Large' : 'Bad Request', error.message);
        }
        console.error('Transcode worker server: submit failed', error);
        problem(res, 500, 'Internal Server Error', 'The job could not be submitted');
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
