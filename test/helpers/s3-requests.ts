/**
 * Hand-made requests to the S3 stand-in, for tests that must send what no SDK call would: raw
 * HTTP with exact headers and bodies (node:http, so nothing is added or checked on the way), a
 * body cut short, requests signed by hand with chosen dates, hashes and credentials.
 */
import http from 'node:http';
import net from 'node:net';
import { createHash } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { GetObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP request exactly as given; `headers` may repeat a name by giving an array. `rawPath`
 * replaces the URL's path and query byte for byte (a URL would resolve `%2e%2e` before sending).
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: Buffer | string; rawPath?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const path = options.rawPath ?? `${target.pathname}${target.search}`;
    const request = http.request(
      { host: target.hostname, port: target.port, path, method: options.method ?? 'GET', headers: options.headers, agent: false },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

/**
 * Sends a PUT's head and only `sendBytes` of its body, then drops the connection, as a client
 * that crashes or loses its network mid-upload does. Resolves once the socket is closed.
 */
export function putThenDropConnection(url: string, headers: Record<string, string>, body: Buffer, sendBytes: number): Promise<void> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(target.port), target.hostname, () => {
      const head = [
        `PUT ${target.pathname}${target.search} HTTP/1.1`,
        `Host: ${target.host}`,
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      ];
      socket.write(`${head.join('\r\n')}\r\n\r\n`);
      socket.write(body.subarray(0, sendBytes), () => setTimeout(() => socket.destroy(), 100));
    });
    socket.on('close', () => resolve());
    socket.on('error', reject);
  });
}

export const sha256Hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** `<Code>` and `<Message>` of an S3 error document. */
export function s3Error(body: string): { code?: string; message?: string } {
  const text = (element: string) =>
    new RegExp(`<${element}>([^<]*)</${element}>`)
      .exec(body)?.[1]
      ?.replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  return { code: text('Code'), message: text('Message') };
}

/**
 * Signs a request with the SDK's SigV4 signer, as an S3 client would, but with every input chosen
 * by the test: credentials, date, region, payload hash. Returns the headers to send.
 */
export async function signRequest(input: {
  url: string;
  method: string;
  headers?: Record<string, string>;
  accessKeyId?: string;
  secretAccessKey?: string;
  region?: string;
  service?: string;
  signingDate?: Date;
  /** The path to sign byte for byte, when the URL's own would be normalised. */
  rawPath?: string;
}): Promise<Record<string, string>> {
  const target = new URL(input.url);
  const signer = new SignatureV4({
    credentials: { accessKeyId: input.accessKeyId ?? 'S3RVER', secretAccessKey: input.secretAccessKey ?? 'S3RVER' },
    region: input.region ?? 'us-east-1',
    service: input.service ?? 's3',
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: false,
  });
  const query: Record<string, string> = {};
  target.searchParams.forEach((value, name) => (query[name] = value));
  const signed = await signer.sign(
    new HttpRequest({
      method: input.method,
      protocol: target.protocol,
      hostname: target.hostname,
      port: Number(target.port),
      path: input.rawPath ?? target.pathname,
      query,
      headers: { host: target.host, ...input.headers },
    }),
    { signingDate: input.signingDate ?? new Date() },
  );
  return signed.headers;
}

/** An SDK client of the S3 stand-in: its credentials, path-style, checksums only where S3 requires them (src/aws-clients.ts says why). */
export function standInS3Client(endpoint: string, overrides: Partial<S3ClientConfig> = {}): S3Client {
  return new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1,
    ...overrides,
  });
}

/** The bytes stored at `key`, or undefined when there is no such object. */
export async function storedBytes(client: S3Client, bucket: string, key: string): Promise<Buffer | undefined> {
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from(await object.Body!.transformToByteArray());
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/**
 * A PUT sent with `Expect: 100-continue`, its body only once the server says to go on: whether it
 * did (`continued`), and the status it answered.
 */
export function putExpectingContinue(url: string, headers: http.OutgoingHttpHeaders, body: Buffer): Promise<{ status: number; continued: boolean }> {
  return new Promise((resolve, reject) => {
    let continued = false;
    const request = http.request(url, { method: 'PUT', headers: { ...headers, 'content-length': body.length, expect: '100-continue' }, agent: false });
    request.on('continue', () => {
      continued = true;
      request.end(body);
    });
    request.on('response', (answer) => {
      answer.resume();
      answer.on('end', () => resolve({ status: answer.statusCode ?? 0, continued }));
      if (!continued) request.destroy();
    });
    request.on('error', (error) => (continued ? reject(error) : undefined));
    request.flushHeaders();
  });
}
