/**
 * Logs never carry what grants access (issue 10, item 6). The local worker reads a source through
 * a pre-signed GET URL, and a transcode that fails used to log it whole (ffmpeg's command line
 * sits in the error), good for hours. This runs a failing transcode on the real stack, reads every
 * line the stack logged, and also sends the API a bearer token and the CDN a signed request.
 */
import { execFile } from 'node:child_process';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import t from 'tap';
import fc from 'fast-check';
import { createS3Client } from '../../src/app/aws-clients.ts';
import { createFfmpegWorkerTranscoder } from '../../src/adapters/ffmpeg-worker/ffmpeg-worker-transcoder.ts';
import { planTranscode } from '../../src/domain/transcode-plan.ts';
import { sourceKey, streamPrefix } from '../../src/domain/storage-layout.ts';
import { redactSecrets } from '../../src/shared/redact.ts';
import { callApi, startTestStack } from '../helpers/stack.ts';
import { h264Clip } from '../helpers/sources.ts';

const lines: string[] = [];
const stack = await startTestStack(t, { logLevel: 'info', logDestination: { write: (line: string) => lines.push(line) } });
const token = await stack.token('alice');

/** What the app would plan for a 320x240 clip: the worker gets a valid job for a bad source. */
const clip = h264Clip({ width: 320, height: 240, fps: 25, seconds: 3 });

/** Every secret the stack holds or hands out, as it would appear in a line. */
function leaks(text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/X-Amz-(Signature|Credential|Security-Token)=([^&\s"\\]+)/gi)) if (match[2] !== '[REDACTED]') found.push(match[0]);
  for (const match of text.matchAll(/\b(Policy|Signature|Key-Pair-Id)=([^&\s"\\;]+)/g)) if (match[2] !== '[REDACTED]') found.push(match[0]);
  if (text.includes(token)) found.push('the bearer token');
  if (text.includes(stack.config.TRANSCODE_WORKER_TOKEN ?? '\u0000')) found.push('the worker token');
  if (stack.config.CLOUDFRONT_PRIVATE_KEY && text.includes(stack.config.CLOUDFRONT_PRIVATE_KEY.split('\n')[1]!)) found.push('the CloudFront private key');
  return found;
}

t.test('a failed transcode logs why, and no URL that still opens the source', async (t) => {
  const videoId = `redaction-${process.pid}`;
  // Text where a video should be, handed to the worker directly (the app's inspection would
  // have refused it): ffmpeg fails on the pre-signed URL the worker gives it.
  const s3 = await createS3Client(stack.config);
  await s3.send(new PutObjectCommand({ Bucket: stack.config.BUCKET_NAME, Key: sourceKey(videoId), Body: 'not a video, a shopping list' }));
  const transcoder = createFfmpegWorkerTranscoder({
    endpoint: stack.transcoderUrl,
    token: stack.config.TRANSCODE_WORKER_TOKEN!,
    inspect: async () => clip,
  });
  const { jobId } = await transcoder.submit({
    videoId,
    sourceKey: sourceKey(videoId),
    outputPrefix: streamPrefix(videoId),
    clientRequestToken: videoId,
    plan: planTranscode(clip),
  });
  await stack.idle();
  const job = await transcoder.getJob(jobId);
  t.match(job, { finished: true, update: { type: 'failed' } }, 'the job failed');
  t.same(leaks(JSON.stringify(job)), [], 'the job (and so the video) carries no secret in its error');

  const failure = lines.filter((line) => line.includes(jobId) && line.includes('Transcode job failed'));
  t.ok(failure.length > 0, 'the failure is logged');
  t.same(leaks(lines.join('')), [], 'no line carries a signature, a credential or a token');

  // What ffmpeg's failures carry: Node's child_process error holds the whole command line (cmd),
  // and the worker logs such errors as causes. Here a real one, with a URL that really opens the
  // source, goes through the stack's logger.
  const sourceUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: stack.config.BUCKET_NAME, Key: sourceKey(videoId) }), { expiresIn: 6 * 3600 });
  t.equal((await fetch(sourceUrl)).status, 200, 'the URL opens the source');
  const ffprobeError = await new Promise<Error>((resolve) => execFile('ffprobe', ['-v', 'error', '-i', sourceUrl], (error) => resolve(error!)));
  t.match((ffprobeError as Error & { cmd?: string }).cmd, sourceUrl, 'the error carries the URL');
  const before = lines.length;
  stack.logger.child({ part: 'transcoder' }).warn({ jobId, err: new Error('Transcoding failed', { cause: ffprobeError }) }, 'Transcode job failed');
  const logged = lines.slice(before).join('');
  t.match(logged, /X-Amz-Signature=\[REDACTED\]/, 'the URL is logged with its signature taken out');
  t.match(logged, `/${sourceKey(videoId)}?`, 'and with what says which object it was');
  t.same(leaks(logged), [], 'nothing that opens the source');
});

t.test('tokens sent to the API and signatures sent to the CDN stay out of the log', async (t) => {
  await callApi(stack, 'GET', '/videos?limit=1', { token });
  await callApi(stack, 'GET', `/videos/${'x'.repeat(10)}?access_token=${token}`, { token });
  const upload = await callApi<{ videoId: string }>(stack, 'POST', '/uploads', {
    token,
    body: { title: 't', filename: 'f.mp4', contentType: 'video/mp4', sizeBytes: 10 },
  });
  t.equal(upload.status, 201);
  // A signed CDN request the stand-in refuses (and logs): the query carries a real policy.
  const playback = await callApi<{ manifestUrl?: string }>(stack, 'GET', `/videos/${upload.body.videoId}/playback`, { token });
  const signed = playback.body.manifestUrl ?? `${stack.cdnUrl}/video-streams/x/master.m3u8?Policy=abc&Signature=def&Key-Pair-Id=K1`;
  await fetch(signed.replace('/master.m3u8', '/%2e%2e/master.m3u8'));
  t.same(leaks(lines.join('')), [], 'nothing in the log opens anything');
});

t.test('redactSecrets keeps what a person needs and takes out what grants access', async (t) => {
  const url =
    'http://127.0.0.1:3003/vod-local/uploads/v1/source?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=S3RVER%2F20261129%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261129T120000Z&X-Amz-Expires=21600&X-Amz-Signature=0123abcd&X-Amz-SignedHeaders=host';
  t.equal(
    redactSecrets(url),
    'http://127.0.0.1:3003/vod-local/uploads/v1/source?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[REDACTED]&X-Amz-Date=20261129T120000Z&X-Amz-Expires=21600&X-Amz-Signature=[REDACTED]&X-Amz-SignedHeaders=host',
  );
  t.equal(
    redactSecrets('cookie: CloudFront-Policy=eyJabc; CloudFront-Signature=x~y; CloudFront-Key-Pair-Id=K2'),
    'cookie: CloudFront-Policy=[REDACTED]; CloudFront-Signature=[REDACTED]; CloudFront-Key-Pair-Id=[REDACTED]',
  );
  t.equal(redactSecrets('{"authorization":"Bearer abc.def-ghi"}'), '{"authorization":"Bearer [REDACTED]"}');
  t.equal(redactSecrets('id eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln end'), 'id [REDACTED] end');
  t.equal(redactSecrets('"-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----"'), '"[REDACTED]"');
  t.equal(redactSecrets('{"x-vod-worker-token":"s3cr3t-value"}'), '{"x-vod-worker-token":"[REDACTED]"}');
  t.equal(
    redactSecrets('job 123 for video-streams/v1/ failed: Invalid data'),
    'job 123 for video-streams/v1/ failed: Invalid data',
    'the rest is left as it was',
  );
});

t.test('property: whatever surrounds it, no secret of a known form survives (the quick pre-check included)', async (t) => {
  const forms = [
    (v: string) => `?X-Amz-Signature=${v}`,
    (v: string) => `&X-Amz-Credential=${v}`,
    (v: string) => `X-Amz-Security-Token%3D${v}`,
    (v: string) => `CloudFront-Policy=${v}`,
    (v: string) => `Signature=${v}`,
    (v: string) => `"authorization":"Bearer ${v}"`,
    (v: string) => `x-vod-worker-token: ${v}`,
    (v: string) => `eyJhbGciOi${v}.eyJzdWIi${v}.${v}`,
  ];
  fc.assert(
    fc.property(fc.string(), fc.string(), fc.constantFrom(...forms), fc.stringMatching(/^[A-Za-z0-9_-]{12,40}$/), (before, after, form, value) => {
      // A separator on each side, as in any line that carries one.
      const line = `${before} ${form(value)} ${after}`;
      return !redactSecrets(line).includes(value) || `${before}${after}`.includes(value);
    }),
    { numRuns: 2000 },
  );
  t.pass('2000 lines');
});
