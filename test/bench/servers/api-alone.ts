/**
 * The API alone in its process, as the Lambda runs it (src/app/app.ts with the services from
 * src/app/services.ts), with DynamoDB answering at once so the load measures the API's own cost:
 *
 *   sdkUrl       the DynamoDB client is the real SDK client; a request handler answers in-process
 *                (the SDK's serializing, signing and parsing stay in: what a call costs the API),
 *                behind the viewers' read cache as configured by default (CATALOG_CACHE_MS)
 *   uncachedUrl  the same with CATALOG_CACHE_MS=0: every request pays for its DynamoDB call
 *   directUrl    the document client's `send` answers directly, no read cache: the API's own work
 *
 * Tokens come from the local issuer (in this process; its keys are fetched once); the CDN key pair
 * is made in a scratch folder. Announces `{sdkUrl, uncachedUrl, directUrl, token, videoIds}` when
 * listening. Usage: api-alone.ts <scratch dir> [videos (20)] [sdk|uncached|direct|all (default)]:
 * one server alone for measuring memory.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '../../../src/app/config.ts';
import { createAwsClients } from '../../../src/app/aws-clients.ts';
import { createServices } from '../../../src/app/services.ts';
import { startApiServer } from '../../../src/app/server.ts';
import { startLocalIssuer, issueToken, LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../../deploy/local/cognito/issuer.ts';
import { loadCloudFrontKeyPair } from '../../../deploy/local/cloudfront/cloudfront.ts';
import { readyVideoRecords } from '../lib/videos.ts';
import { createInstantDocumentClient, createInstantDynamoDb } from '../lib/instant-dynamodb.ts';
import { announce } from '../lib/processes.ts';

const [scratch = '.', count = '20', which = 'all'] = process.argv.slice(2);
await mkdir(scratch, { recursive: true });
const issuer = await startLocalIssuer({ dir: path.join(scratch, 'issuer'), port: 0 });
const keys = await loadCloudFrontKeyPair(path.join(scratch, 'cloudfront'));
const config = loadConfig({
  AWS_REGION: 'us-east-1',
  BUCKET_NAME: 'vod-bench',
  TABLE_NAME: 'vod-bench',
  TRANSCODER: 'ffmpeg-worker',
  TRANSCODE_WORKER_URL: 'http://127.0.0.1:9',
  // No worker listens there; the setting is required all the same.
  TRANSCODE_WORKER_TOKEN: 'bench-api-alone-has-no-worker-to-call-0123456789',
  MEDIACONVERT_ENDPOINT: 'http://127.0.0.1:9',
  JWT_ISSUER: LOCAL_ISSUER,
  JWT_AUDIENCE: LOCAL_AUDIENCE,
  JWT_JWKS_URL: issuer.jwksUrl,
  CDN_BASE_URL: 'http://127.0.0.1:9',
  CLOUDFRONT_KEY_PAIR_ID: keys.keyPairId,
  CLOUDFRONT_PRIVATE_KEY: keys.privateKeyPem,
  WEB_ASSETS_DIR: path.join(scratch, 'no-web-page'),
  LOG_LEVEL: 'warn',
  // Load from one address: the per-client limit stays in the path (its cost is measured) but
  // never refuses (src/app/rate-limit.ts).
  RATE_LIMIT_MAX: String(1e9),
  // Credentials are never checked by the instant DynamoDB; set so the SDK looks nothing up.
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
});
const records = readyVideoRecords(Number(count));
const clients = createAwsClients(config);
const start = (dynamo: typeof clients.dynamo, catalogCacheMs = config.CATALOG_CACHE_MS) => {
  const settings = { ...config, CATALOG_CACHE_MS: catalogCacheMs };
  return startApiServer({ config: settings, services: createServices(settings, { ...clients, dynamo }), host: '127.0.0.1', port: 0 });
};
const wanted = (name: string) => which === 'all' || which === 'both' || which === name;
const instant = async () => await createInstantDynamoDb(records, config);
const sdk = wanted('sdk') ? await start(instant) : undefined;
const uncached = wanted('uncached') ? await start(instant, 0) : undefined;
const direct = wanted('direct') ? await start(async () => createInstantDocumentClient(records), 0) : undefined;
const servers = [sdk, uncached, direct].filter((server) => server !== undefined);
const token = await issueToken(issuer.keys, 'bench-viewer', { expiresInSeconds: 3600 });
announce({ sdkUrl: sdk?.url, uncachedUrl: uncached?.url, directUrl: direct?.url, token, videoIds: records.map((record) => record.videoId) });
process.once('SIGTERM', () => {
  void Promise.all([...servers.map((server) => server.fastify.close()), issuer.close()]).then(() => process.exit(0));
});
