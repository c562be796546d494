import t from 'tap';
import { loadConfig, ConfigError, SINGLE_PUT_LIMIT_BYTES } from '../../src/config.ts';

const minimal = {
  BUCKET_NAME: 'bucket',
  TABLE_NAME: 'table',
  MEDIACONVERT_ROLE_ARN: 'arn:aws:iam::123456789012:role/mc',
  JWT_ISSUER: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc',
  JWT_AUDIENCE: 'client',
  JWT_JWKS_URL: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc/.well-known/jwks.json',
};

t.test('fills defaults and converts numbers from strings', async (t) => {
  const config = loadConfig({ ...minimal, UPLOAD_URL_TTL_SECONDS: '600' });
  t.equal(config.UPLOAD_URL_TTL_SECONDS, 600);
  t.equal(config.MAX_UPLOAD_BYTES, SINGLE_PUT_LIMIT_BYTES);
  t.equal(config.TRANSCODER, 'mediaconvert');
  t.equal(config.AWS_REGION, 'us-east-1');
});

t.test('a missing setting fails at boot naming the variable', async (t) => {
  const { BUCKET_NAME: _omitted, ...rest } = minimal;
  t.throws(() => loadConfig(rest), { name: 'ConfigError', message: /BUCKET_NAME/ });
});

t.test('a malformed setting fails naming the variable', async (t) => {
  t.throws(() => loadConfig({ ...minimal, MAX_UPLOAD_BYTES: 'lots' }), /MAX_UPLOAD_BYTES/);
  t.throws(() => loadConfig({ ...minimal, JWT_JWKS_URL: 'not a url' }), /JWT_JWKS_URL/);
  t.throws(() => loadConfig({ ...minimal, MAX_UPLOAD_BYTES: String(SINGLE_PUT_LIMIT_BYTES + 1) }), /MAX_UPLOAD_BYTES/);
});

t.test('each transcoder requires its own settings', async (t) => {
  const { MEDIACONVERT_ROLE_ARN: _role, ...noRole } = minimal;
  t.throws(() => loadConfig(noRole), ConfigError);
  t.throws(() => loadConfig({ ...minimal, TRANSCODER: 'ffmpeg-worker' }), /TRANSCODE_WORKER_URL/);
  t.equal(loadConfig({ ...minimal, TRANSCODER: 'ffmpeg-worker', TRANSCODE_WORKER_URL: 'http://127.0.0.1:1' }).TRANSCODER, 'ffmpeg-worker');
});
