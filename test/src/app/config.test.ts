import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { loadConfig, ConfigError } from '../../../src/app/config.ts';
import { S3_MULTIPART } from '../../../src/schemas/upload.ts';
import { MINIMAL_ENV } from '../../helpers/config.ts';

const minimal = MINIMAL_ENV;

t.test('fills defaults and converts numbers from strings', async (t) => {
  const config = loadConfig({ ...minimal, UPLOAD_URL_TTL_SECONDS: '600' });
  t.equal(config.UPLOAD_URL_TTL_SECONDS, 600);
  t.equal(config.MAX_UPLOAD_BYTES, 256 * 1024 ** 3, 'files up to 256 GiB, in parts above the threshold');
  t.equal(config.MULTIPART_THRESHOLD_BYTES, 64 * 1024 ** 2);
  t.equal(config.MULTIPART_PART_BYTES, 16 * 1024 ** 2);
  t.equal(config.MULTIPART_UPLOAD_TTL_SECONDS, 86_400);
  t.equal(config.TRANSCODER, 'mediaconvert');
  t.equal(config.AWS_REGION, 'us-east-1');
  t.equal(config.PLAYBACK_URL_TTL_SECONDS, 4 * 3600, 'playback URLs live 4 h by default');
  t.equal(config.PLAYBACK_URL_MARGIN_SECONDS, 1800);
});

t.test('a missing setting fails at boot naming the variable', async (t) => {
  const { BUCKET_NAME: _omitted, ...rest } = minimal;
  t.throws(() => loadConfig(rest), { name: 'ConfigError', message: /BUCKET_NAME/ });
});

t.test('a malformed setting fails naming the variable', async (t) => {
  t.throws(() => loadConfig({ ...minimal, MAX_UPLOAD_BYTES: 'lots' }), /MAX_UPLOAD_BYTES/);
  t.throws(() => loadConfig({ ...minimal, JWT_JWKS_URL: 'not a url' }), /JWT_JWKS_URL/);
  t.throws(() => loadConfig({ ...minimal, MAX_UPLOAD_BYTES: String(S3_MULTIPART.maxObjectBytes + 1) }), /MAX_UPLOAD_BYTES/, 'S3 stores at most 5 TiB');
  t.throws(
    () => loadConfig({ ...minimal, MULTIPART_PART_BYTES: String(S3_MULTIPART.minPartBytes - 1) }),
    /MULTIPART_PART_BYTES/,
    'S3 takes parts of 5 MiB and more',
  );
  t.throws(() => loadConfig({ ...minimal, MULTIPART_UPLOAD_TTL_SECONDS: String(2 * 86_400) }), /MULTIPART_UPLOAD_TTL_SECONDS/, 'within the lifecycle rule');
});

t.test('each transcoder requires its own settings', async (t) => {
  const { MEDIACONVERT_ROLE_ARN: _role, ...noRole } = minimal;
  t.throws(() => loadConfig(noRole), ConfigError);
  t.throws(() => loadConfig({ ...minimal, TRANSCODER: 'ffmpeg-worker' }), /TRANSCODE_WORKER_URL/);
  t.throws(
    () => loadConfig({ ...minimal, TRANSCODER: 'ffmpeg-worker', TRANSCODE_WORKER_URL: 'http://127.0.0.1:1' }),
    /MEDIACONVERT_ENDPOINT: required when TRANSCODER is ffmpeg-worker/,
    'sources are inspected with Probe in both runtimes: the worker answers it',
  );
  const worker = { ...minimal, TRANSCODER: 'ffmpeg-worker', TRANSCODE_WORKER_URL: 'http://127.0.0.1:1', MEDIACONVERT_ENDPOINT: 'http://127.0.0.1:1' };
  t.throws(() => loadConfig(worker), /TRANSCODE_WORKER_TOKEN: required when TRANSCODER is ffmpeg-worker/, 'the worker takes jobs from its own stack only');
  t.throws(() => loadConfig({ ...worker, TRANSCODE_WORKER_TOKEN: 'short' }), /TRANSCODE_WORKER_TOKEN/, 'a token too short to be a secret');
  t.equal(loadConfig({ ...worker, TRANSCODE_WORKER_TOKEN: 'x'.repeat(43) }).TRANSCODER, 'ffmpeg-worker');
});

t.test('the CloudFront signing key comes from exactly one of a PEM or an SSM parameter', async (t) => {
  const { CLOUDFRONT_PRIVATE_KEY_PARAMETER: _parameter, ...noKey } = minimal;
  t.throws(() => loadConfig(noKey), /CLOUDFRONT_PRIVATE_KEY_PARAMETER: required/);
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  t.throws(() => loadConfig({ ...minimal, CLOUDFRONT_PRIVATE_KEY: pem }), /not both/);
  t.equal(loadConfig({ ...noKey, CLOUDFRONT_PRIVATE_KEY: pem }).CLOUDFRONT_PRIVATE_KEY, pem);
  t.equal(
    loadConfig({ ...noKey, CLOUDFRONT_PRIVATE_KEY: pem.replaceAll('\n', '\\n') }).CLOUDFRONT_PRIVATE_KEY,
    pem,
    'a PEM written on one line with \\n escapes (env files) is restored',
  );
  t.throws(() => loadConfig({ ...noKey, CLOUDFRONT_PRIVATE_KEY: 'not a key' }), /CLOUDFRONT_PRIVATE_KEY: not a PEM private key/);
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  t.throws(() => loadConfig({ ...noKey, CLOUDFRONT_PRIVATE_KEY: ec }), /RSA/);
});

t.test('CDN and key pair settings are required and checked', async (t) => {
  const { CDN_BASE_URL: _cdn, ...noCdn } = minimal;
  t.throws(() => loadConfig(noCdn), /CDN_BASE_URL/);
  t.throws(() => loadConfig({ ...minimal, CDN_BASE_URL: 'https://cdn.example.com/' }), /CDN_BASE_URL/, 'no trailing slash');
  t.throws(() => loadConfig({ ...minimal, CDN_BASE_URL: 'https://cdn.example.com/videos' }), /CDN_BASE_URL/, 'no path');
  t.equal(loadConfig({ ...minimal, CDN_BASE_URL: 'http://127.0.0.1:3001' }).CDN_BASE_URL, 'http://127.0.0.1:3001');
  t.throws(() => loadConfig({ ...minimal, CLOUDFRONT_KEY_PAIR_ID: 'k2-lower' }), /CLOUDFRONT_KEY_PAIR_ID/);
  t.throws(() => loadConfig({ ...minimal, PLAYBACK_URL_TTL_SECONDS: '10' }), /PLAYBACK_URL_TTL_SECONDS/);
  t.equal(loadConfig({ ...minimal, PLAYBACK_URL_MARGIN_SECONDS: '0' }).PLAYBACK_URL_MARGIN_SECONDS, 0);
});
