/**
 * A stand-in for Lambda's Invoke endpoint (`POST /2015-03-31/functions/{name}/invocations`):
 * records what the real SDK puts on the wire and answers an asynchronous invocation as Lambda
 * does, 202 with an empty body. Point the SDK at `url` with AWS_ENDPOINT_URL_LAMBDA.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';

export interface Invocation {
  method: string | undefined;
  /** The function name or ARN, from the path. */
  functionName: string;
  headers: IncomingHttpHeaders;
  /** The payload, as sent. */
  payload: string;
}

export async function startFakeLambda(t: Test): Promise<{ url: string; invocations: Invocation[] }> {
  const invocations: Invocation[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url ?? '');
      if (!match) {
        res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' });
        return res.end(JSON.stringify({ Message: `no such operation: ${req.method} ${req.url}` }));
      }
      invocations.push({
        method: req.method,
        functionName: decodeURIComponent(match[1]!),
        headers: req.headers,
        payload: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(202, { 'x-amzn-requestid': `request-${invocations.length}` });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, invocations };
}
