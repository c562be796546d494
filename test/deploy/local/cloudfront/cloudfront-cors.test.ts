/**
 * CORS of the CloudFront stand-in, served for real (the S3 stand-in behind it): the distribution's
 * policy from template.yaml (any origin, no credentials), and a policy that lists its origins and
 * allows credentials for them only. Never credentials for an origin that is not listed, never
 * credentials with `*`.
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { createS3Client } from '../../../../src/app/aws-clients.ts';
import { LOCAL_S3_ACCESS_KEY, LOCAL_S3_SECRET_KEY, startLocalS3 } from '../../../../deploy/local/s3/s3-server.ts';
import { loadCloudFrontKeyPair, PLAYER_CORS_POLICY, startLocalCloudFront, type CorsPolicy } from '../../../../deploy/local/cloudfront/cloudfront.ts';

const BUCKET = 'vod-cors';
const KEY = 'video-streams/v1/360p/segment_00000.ts';
const PAGE = 'https://videos.example.com';
const FOREIGN = 'https://evil.example';

const dataDir = await mkdtemp(path.join(tmpdir(), 'vod-cdn-cors-'));
t.teardown(() => rm(dataDir, { recursive: true, force: true }));
process.env.AWS_ACCESS_KEY_ID = LOCAL_S3_ACCESS_KEY;
process.env.AWS_SECRET_ACCESS_KEY = LOCAL_S3_SECRET_KEY;
const s3Server = await startLocalS3({ directory: path.join(dataDir, 's3'), port: 0, bucket: BUCKET });
t.teardown(() => s3Server.close());
const s3Client = await createS3Client({ AWS_REGION: 'us-east-1', S3_ENDPOINT: s3Server.url });
await s3Client.send(new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: 'segment bytes', ContentType: 'video/mp2t' }));
const keys = await loadCloudFrontKeyPair(path.join(dataDir, 'cloudfront'));

async function startCdn(cors?: CorsPolicy) {
  const cdn = await startLocalCloudFront({ port: 0, s3Client, bucket: BUCKET, trustedKeys: [keys], ...(cors ? { cors } : {}) });
  t.teardown(() => cdn.close());
  const url = `${cdn.url}/${KEY}`;
  const signed = getSignedUrl({ url, keyPairId: keys.keyPairId, privateKey: keys.privateKeyPem, dateLessThan: new Date(Date.now() + 600_000).toISOString() });
  return { url, signed };
}

async function corsOf(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  await response.arrayBuffer();
  const header = (name: string) => response.headers.get(name);
  return {
    status: response.status,
    allowOrigin: header('access-control-allow-origin'),
    allowCredentials: header('access-control-allow-credentials'),
    expose: header('access-control-expose-headers'),
    allowMethods: header('access-control-allow-methods'),
    vary: header('vary'),
  };
}

const preflight = (origin: string) => ({
  method: 'OPTIONS',
  headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' },
});

t.test("the template's policy: any origin reads, no origin gets credentials", async (t) => {
  const { url, signed } = await startCdn();
  for (const origin of [PAGE, FOREIGN, 'null']) {
    const granted = await corsOf(signed, { headers: { origin } });
    t.equal(granted.status, 200);
    t.equal(granted.allowOrigin, '*', `${origin}: *`);
    t.equal(granted.allowCredentials, null, `${origin}: no credentials`);
    t.equal(granted.expose, 'Content-Length, Content-Range');
    const denied = await corsOf(url, { headers: { origin } });
    t.equal(denied.status, 403);
    t.equal(denied.allowOrigin, '*', `${origin}: a 403 is readable`);
    t.equal(denied.allowCredentials, null);
    const answer = await corsOf(signed, preflight(origin));
    t.equal(answer.status, 204);
    t.equal(answer.allowMethods, 'GET, HEAD');
    t.equal(answer.allowCredentials, null);
  }
  const sameOrigin = await corsOf(signed);
  t.equal(sameOrigin.allowOrigin, null, 'no Origin, no CORS headers (as CloudFront)');
});

t.test('a policy listing origins with credentials: what it configures for them, nothing for others', async (t) => {
  const { signed } = await startCdn({ ...PLAYER_CORS_POLICY, AccessControlAllowOrigins: [PAGE], AccessControlAllowCredentials: true });
  const listed = await corsOf(signed, { headers: { origin: PAGE } });
  t.equal(listed.status, 200);
  t.equal(listed.allowOrigin, PAGE);
  t.equal(listed.allowCredentials, 'true', 'credentials, as configured, for the listed origin');
  t.match(listed.vary, /Origin/);
  for (const origin of [FOREIGN, `${PAGE}.evil.example`, 'null', 'http://videos.example.com']) {
    const foreign = await corsOf(signed, { headers: { origin } });
    t.equal(foreign.status, 200, 'the signed URL still serves (CORS is for browsers)');
    t.equal(foreign.allowOrigin, null, `${origin}: no Access-Control-Allow-Origin`);
    t.equal(foreign.allowCredentials, null, `${origin}: never credentials`);
    t.match(foreign.vary, /Origin/);
    const answer = await corsOf(signed, preflight(origin));
    t.equal(answer.allowOrigin, null);
    t.equal(answer.allowMethods, null, `${origin}: a preflight learns nothing`);
  }
});

t.test('refusals are readable too: a method the distribution does not allow, a path that does not decode', async (t) => {
  const { url, signed } = await startCdn();
  const headers = { origin: PAGE, 'content-type': 'not a media type' };
  const post = await fetch(signed, { method: 'POST', headers, body: '{' });
  t.equal(post.status, 403, 'refused before its body or content type is looked at');
  t.equal(post.headers.get('access-control-allow-origin'), '*');
  t.match(await post.text(), /<Code>MethodNotAllowed<\/Code>/);
  const undecodable = await fetch(`${url.replace(KEY, 'video-streams/v1/%E0%A4%A/x.ts')}?${signed.split('?')[1]}`, { headers: { origin: PAGE } });
  t.equal(undecodable.status, 403, "CloudFront's refusal, not the router's 400");
  t.equal(undecodable.headers.get('access-control-allow-origin'), '*');
  t.match(await undecodable.text(), /<Code>AccessDenied<\/Code>/);
});

t.test('credentials with * are refused, as CloudFront refuses such a policy', async (t) => {
  await t.rejects(
    startLocalCloudFront({ port: 0, s3Client, bucket: BUCKET, trustedKeys: [keys], cors: { ...PLAYER_CORS_POLICY, AccessControlAllowCredentials: true } }),
    /cannot allow credentials for any origin/,
  );
});
