/**
 * A tiny HTTP front for the ffmpeg worker, so the application (which may not import `deploy/`)
 * submits jobs the way it calls MediaConvert: one request, a job id back.
 *
 *   POST /jobs  {videoId, sourceKey, outputPrefix, clientRequestToken}  ->  201 {jobId}
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { TranscodeWorker } from './worker.ts';

const NonEmpty = Type.String({ minLength: 1, maxLength: 1024 });

export const TranscodeJobRequestBody = Type.Object({
  videoId: NonEmpty,
  sourceKey: NonEmpty,
  outputPrefix: NonEmpty,
  clientRequestToken: NonEmpty,
});
/** Checked against the app's interface where the server hands it to `worker.submit`. */
export type TranscodeJobRequestBody = Static<typeof TranscodeJobRequestBody>;

const MAX_BODY_BYTES = 64 * 1024;

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

  const server = createServer((req, res) => {
    void (async () => {
      const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
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
        const { videoId, sourceKey, outputPrefix, clientRequestToken } = body;
        const { jobId } = await worker.submit({ videoId, sourceKey, outputPrefix, clientRequestToken });
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
