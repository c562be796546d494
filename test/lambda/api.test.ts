/**
 * The API Lambda entry point (src/app/lambda.ts, what runs in AWS) invoked with API Gateway HTTP API
 * payload 2.0 events, configured from the environment exactly as template.yaml configures it,
 * but pointed at the local stack's stand-ins. A whole round: upload, transcode, list, playback.
 */
import t from 'tap';
import { readFile } from 'node:fs/promises';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { startTestStack } from '../helpers/stack.ts';
import { loadEventFixture } from '../helpers/fixtures.ts';
import { makeClip } from '../helpers/media.ts';
import type { Video, VideoPage } from '../../src/schemas/video.ts';
import type { CreateUploadResponse } from '../../src/schemas/upload.ts';
import { singlePut } from '../helpers/uploads.ts';

const stack = await startTestStack(t);
// What template.yaml gives the function, here with the stand-ins' values (src/app/config.ts reads
// the environment once, at import).
for (const [name, value] of Object.entries(stack.config)) {
  if (value !== undefined) process.env[name] = String(value);
}
const { handler } = await import('../../src/app/lambda.ts');
const fixture = await loadEventFixture<APIGatewayProxyEventV2>('apigateway/http-api-v2-get');

/** The documented 2.0 event for one request (the fixture's headers, context and shape). */
function apiEvent(method: string, rawPath: string, options: { token?: string; query?: string; body?: unknown } = {}): APIGatewayProxyEventV2 {
  const event = structuredClone(fixture);
  event.rawPath = rawPath;
  event.rawQueryString = options.query ?? '';
  if (options.query) event.queryStringParameters = Object.fromEntries(new URLSearchParams(options.query));
  event.requestContext.http.method = method;
  event.requestContext.http.path = rawPath;
  event.routeKey = '$default';
  delete event.headers.authorization;
  if (options.token) event.headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) {
    event.body = JSON.stringify(options.body);
    event.isBase64Encoded = false;
    event.headers['content-type'] = 'application/json';
    event.headers['content-length'] = String(Buffer.byteLength(event.body));
  }
  return event;
}

async function invoke<T = any>(event: APIGatewayProxyEventV2): Promise<{ status: number; headers: Record<string, string>; body: T }> {
  const result = (await handler(event, {} as never)) as APIGatewayProxyStructuredResultV2;
  const text = result.isBase64Encoded ? Buffer.from(result.body ?? '', 'base64').toString('utf8') : (result.body ?? '');
  return { status: result.statusCode!, headers: result.headers as Record<string, string>, body: (text ? JSON.parse(text) : undefined) as T };
}

const token = await stack.token('lambda-user');

t.test('GET /health answers without a token', async (t) => {
  const response = await invoke(apiEvent('GET', '/health'));
  t.equal(response.status, 200);
  t.same(response.body, { status: 'ok' });
});

t.test('a request without a token gets 401 problem+json, a foreign token too', async (t) => {
  const missing = await invoke(apiEvent('GET', '/videos'));
  t.equal(missing.status, 401);
  t.match(missing.headers['content-type'], /application\/problem\+json/);
  // The fixture's own dummy token is not signed by the configured issuer.
  const foreign = structuredClone(apiEvent('GET', '/videos'));
  foreign.headers.authorization = fixture.headers.authorization!;
  t.equal((await invoke(foreign)).status, 401);
});

t.test('upload, transcode and watch through the Lambda handler', async (t) => {
  const clip = await makeClip({ seconds: 2, width: 640, height: 360, audio: true });
  const bytes = await readFile(clip);
  const created = await invoke<CreateUploadResponse>(
    apiEvent('POST', '/uploads', { token, body: { title: 'Through Lambda', filename: 'clip.mp4', contentType: 'video/mp4', sizeBytes: bytes.length } }),
  );
  t.equal(created.status, 201);
  const { videoId } = created.body;
  const upload = singlePut(created.body.upload);
  const put = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: bytes });
  t.equal(put.status, 200, 'the pre-signed PUT works against the S3 stand-in');

  // The stand-ins notify, transcode and report on their own; follow the video as a client would.
  let video = await invoke<Video>(apiEvent('GET', `/videos/${videoId}`, { token }));
  for (const deadline = Date.now() + 60_000; video.body.status !== 'ready' && video.body.status !== 'failed' && Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    video = await invoke<Video>(apiEvent('GET', `/videos/${videoId}`, { token }));
  }
  t.match(video, { status: 200, body: { videoId, status: 'ready', renditions: [{ name: '360p', width: 640, height: 360 }] } });

  const listed = await invoke<VideoPage>(apiEvent('GET', '/videos', { token, query: 'status=ready&limit=50' }));
  t.equal(listed.status, 200);
  t.ok(
    listed.body.items.some((item) => item.videoId === videoId),
    'GET /videos lists it, the query read from queryStringParameters',
  );

  const playback = await invoke<{ manifestUrl: string }>(apiEvent('GET', `/videos/${videoId}/playback`, { token }));
  t.equal(playback.status, 200);
  t.ok(playback.body.manifestUrl.startsWith(`${stack.cdnUrl}/video-streams/${videoId}/master.m3u8?`), 'a CDN URL');
  const manifest = await fetch(playback.body.manifestUrl);
  t.equal(manifest.status, 200, 'the CloudFront stand-in accepts its signature');
  t.match(await manifest.text(), /#EXTM3U/);
});
