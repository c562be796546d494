/**
 * deploy/sam-env.json (for `sam local start-api --env-vars`) points the template's functions at
 * the stand-ins `npm start` runs, and `npm run sam:env` completes it into a valid configuration.
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/app/config.ts';
import { DEFAULT_PORTS, LOCAL_BUCKET, LOCAL_REGION, LOCAL_TABLE } from '../../deploy/local/stack.ts';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../deploy/local/cognito/issuer.ts';
import { loadCloudFrontKeyPair } from '../../deploy/local/cloudfront/cloudfront.ts';
import { buildSamEnv, readCheckedInSamEnv } from '../../deploy/sam-env.ts';
import { loadWorkerToken } from '../../deploy/local/mediaconvert/server.ts';
import { loadTemplate } from './cfn.ts';

const template = await loadTemplate(new URL('../../template.yaml', import.meta.url));
const declared = Object.keys((template.Globals!.Function!.Environment as any).Variables);

t.test('it sets only variables the template declares (SAM ignores the others)', async (t) => {
  const { Parameters } = await readCheckedInSamEnv();
  for (const name of Object.keys(Parameters)) t.ok(declared.includes(name), name);
});

t.test("completed with the local stack's key, it is a valid configuration for the stand-ins", async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'vod-sam-env-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const { Parameters } = await buildSamEnv(dataDir);
  const config = loadConfig({ ...Parameters, AWS_REGION: LOCAL_REGION });
  const local = (port: number) => `http://127.0.0.1:${port}`;
  t.match(config, {
    BUCKET_NAME: LOCAL_BUCKET,
    TABLE_NAME: LOCAL_TABLE,
    S3_ENDPOINT: local(DEFAULT_PORTS.s3),
    DYNAMODB_ENDPOINT: local(DEFAULT_PORTS.dynamodb),
    TRANSCODER: 'ffmpeg-worker',
    TRANSCODE_WORKER_URL: local(DEFAULT_PORTS.transcoder),
    MEDIACONVERT_ENDPOINT: local(DEFAULT_PORTS.transcoder),
    JWT_ISSUER: LOCAL_ISSUER,
    JWT_AUDIENCE: LOCAL_AUDIENCE,
    JWT_JWKS_URL: `${local(DEFAULT_PORTS.issuer)}/.well-known/jwks.json`,
    CDN_BASE_URL: local(DEFAULT_PORTS.cdn),
  });
  const keys = await loadCloudFrontKeyPair(path.join(dataDir, 'cloudfront'));
  t.equal(config.CLOUDFRONT_KEY_PAIR_ID, keys.keyPairId, 'the key the CloudFront stand-in trusts');
  t.equal(config.CLOUDFRONT_PRIVATE_KEY, keys.privateKeyPem);
  t.equal(config.TRANSCODE_WORKER_TOKEN, await loadWorkerToken(dataDir), 'the token the local worker requires');
  t.equal(config.MEDIACONVERT_ROLE_ARN, undefined);
});
