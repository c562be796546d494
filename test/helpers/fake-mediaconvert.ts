/**
 * A stand-in for the MediaConvert REST endpoint: records what the real SDK puts on the wire and
 * answers CreateJob the way the service does (201, lowerCamelCase JSON, the job under `job`).
 * Probe calls are passed to `probeUpstream` when one is given (the local worker, which answers
 * Probe from ffprobe in MediaConvert's shape), so the app inspects sources as it does in AWS.
 * Point a MediaConvertClient (or MEDIACONVERT_ENDPOINT) at `url`.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';
import { WORKER_TOKEN_HEADER } from '../../src/adapters/ffmpeg-worker/ffmpeg-worker-transcoder.ts';

export const FAKE_JOB_ID = '1671477617078-2886ye';

export interface CapturedRequest {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: any;
}

export async function startFakeMediaConvert(
  t: Test,
  respond?: (body: any, index: number) => unknown,
  /** The local worker and its token (it takes requests from its own stack only). */
  options: { probeUpstream?: { url: string; token: string } } = {},
): Promise<{
  url: string;
  /** CreateJob requests, as sent. */
  requests: CapturedRequest[];
  /** Probe requests, as sent. */
  probes: CapturedRequest[];
  /** The job id answered to each request. */
  jobIds: Array<string | undefined>;
}> {
  const requests: CapturedRequest[] = [];
  const probes: CapturedRequest[] = [];
  const jobIds: Array<string | undefined> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = JSON.parse(raw || '{}');
      const captured = { method: req.method, url: req.url, headers: req.headers, body };
      if (req.url?.startsWith('/2017-08-29/probe')) {
        probes.push(captured);
        if (!options.probeUpstream) {
          res.writeHead(400, { 'content-type': 'application/json', 'x-amzn-errortype': 'BadRequestException' });
          return res.end(JSON.stringify({ message: 'this stand-in answers no Probe' }));
        }
        const upstreamUrl = `${options.probeUpstream.url}${req.url}`;
        void fetch(upstreamUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json', [WORKER_TOKEN_HEADER]: options.probeUpstream.token },
          body: raw,
        }).then(
          async (upstream) => {
            const headers: Record<string, string> = {};
            upstream.headers.forEach((value, name) => (headers[name] = value));
            res.writeHead(upstream.status, headers);
            res.end(Buffer.from(await upstream.arrayBuffer()));
          },
          (error: unknown) => {
            res.writeHead(500, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ message: String(error) }));
          },
        );
        return;
      }
      requests.push(captured);
      const index = requests.length - 1;
      const answer = respond?.(body, index) ?? {
        job: {
          id: index === 0 ? FAKE_JOB_ID : `${FAKE_JOB_ID}-${index}`,
          arn: `arn:aws:mediaconvert:us-east-1:111122223333:jobs/${FAKE_JOB_ID}`,
          createdAt: 1671477617,
          role: body.role,
          queue: body.queue ?? 'arn:aws:mediaconvert:us-east-1:111122223333:queues/Default',
          status: 'SUBMITTED',
          userMetadata: body.userMetadata,
          settings: body.settings,
        },
      };
      jobIds.push((answer as { job?: { id?: string } }).job?.id);
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, probes, jobIds };
}
