/**
 * Every setting the service reads, as one TypeBox schema: it gives the type, the defaults, the
 * validation at boot and the table in the README. Settings come from environment variables in
 * every runtime (Lambda, `sam local`, the local stack), are read once, and a missing or malformed
 * one fails fast naming the variable.
 */
import { createPrivateKey } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
// The three functions rather than the Value namespace, which bundles every Value operation.
import { Convert, Default } from '@sinclair/typebox/value';
import { Errors } from '@sinclair/typebox/errors';

import { S3_MULTIPART, SINGLE_PUT_LIMIT_BYTES } from '../schemas/upload.ts';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

const Url = Type.String({ pattern: '^https?://' });
const HOUR = 3600;

export const ConfigSchema = Type.Object({
  AWS_REGION: Type.String({ minLength: 1, default: 'us-east-1', description: 'Region of the bucket, table and MediaConvert.' }),
  BUCKET_NAME: Type.String({ minLength: 3, description: 'The private bucket: uploads/ and video-streams/.' }),
  TABLE_NAME: Type.String({ minLength: 3, description: 'DynamoDB table of videos.' }),
  S3_ENDPOINT: Type.Optional(Url),
  DYNAMODB_ENDPOINT: Type.Optional(Url),
  TRANSCODER: Type.Union([Type.Literal('mediaconvert'), Type.Literal('ffmpeg-worker')], {
    default: 'mediaconvert',
    description: 'mediaconvert in AWS; ffmpeg-worker is the local stand-in.',
  }),
  MEDIACONVERT_ENDPOINT: Type.Optional(Url),
  MEDIACONVERT_ROLE_ARN: Type.Optional(Type.String({ pattern: '^arn:' })),
  MEDIACONVERT_QUEUE_ARN: Type.Optional(Type.String({ pattern: '^arn:' })),
  FAST_START_FUNCTION_NAME: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'The fast-start function the upload handler hands each upload to (AWS; template parameter FfmpegLayerArn). Unset: fast start is off.',
    }),
  ),
  TRANSCODE_WORKER_URL: Type.Optional(Url),
  TRANSCODE_WORKER_TOKEN: Type.Optional(
    Type.String({ minLength: 32, description: "The local stack's secret the ffmpeg worker requires on every request (made once per data directory)." }),
  ),
  JWT_ISSUER: Type.String({ minLength: 1, description: 'Expected `iss` of bearer tokens (Cognito user pool URL in AWS).' }),
  JWT_AUDIENCE: Type.String({ minLength: 1, description: 'Expected `aud` (or Cognito `client_id`).' }),
  JWT_JWKS_URL: Url,
  MAX_UPLOAD_BYTES: Type.Integer({
    minimum: 1,
    maximum: S3_MULTIPART.maxObjectBytes,
    default: 256 * GiB,
    description: "The largest file accepted (413 above); up to S3's 5 TiB. Files above MULTIPART_THRESHOLD_BYTES are uploaded in parts.",
  }),
  UPLOAD_URL_TTL_SECONDS: Type.Integer({
    minimum: 60,
    maximum: 7 * 24 * 3600,
    default: 900,
    description: "Lifetime of a pre-signed upload URL: the single PUT's, and each batch of part URLs (never past the upload's own expiry).",
  }),
  MULTIPART_THRESHOLD_BYTES: Type.Integer({
    minimum: S3_MULTIPART.minPartBytes,
    maximum: SINGLE_PUT_LIMIT_BYTES,
    default: 64 * MiB,
    description: 'Files larger than this are uploaded in parts (resumable, in parallel); smaller ones with one PUT unless the client asks for parts.',
  }),
  MULTIPART_PART_BYTES: Type.Integer({
    minimum: S3_MULTIPART.minPartBytes,
    maximum: S3_MULTIPART.maxPartBytes,
    default: 16 * MiB,
    description: 'Size of each part but the last (larger when the file needs it to stay within 10,000 parts): what a dropped connection costs at most.',
  }),
  MULTIPART_UPLOAD_TTL_SECONDS: Type.Integer({
    minimum: 3600,
    // The bucket's lifecycle rule (template.yaml) removes parts 2 days after an upload started:
    // never before the service gives the upload up.
    maximum: 24 * 3600,
    default: 24 * 3600,
    description: 'A multipart upload not completed this long after it started is abandoned: its parts are removed and the video fails.',
  }),
  CDN_BASE_URL: Type.String({
    // The distribution's root: object keys map to paths one to one, so no path and no trailing slash.
    pattern: '^https?://[^/?#\\s]+$',
    description: 'The CloudFront distribution, e.g. https://d111111abcdef8.cloudfront.net (locally the stand-in, http://127.0.0.1:3001).',
  }),
  CLOUDFRONT_KEY_PAIR_ID: Type.String({
    pattern: '^[A-Z0-9]{8,64}$',
    description: 'Id of the CloudFront public key (in the trusted key group) whose private key signs playback URLs.',
  }),
  CLOUDFRONT_PRIVATE_KEY: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'The PEM private key itself (local stack, sam local). Exactly one of this and CLOUDFRONT_PRIVATE_KEY_PARAMETER.',
    }),
  ),
  CLOUDFRONT_PRIVATE_KEY_PARAMETER: Type.Optional(
    Type.String({
      pattern: '^[a-zA-Z0-9_.:\\-/]+$',
      description: 'Name (or ARN) of the SSM SecureString parameter holding the PEM private key (AWS); read once per container, at the first playback.',
    }),
  ),
  PLAYBACK_URL_TTL_SECONDS: Type.Integer({
    minimum: 60,
    maximum: 7 * 24 * HOUR,
    default: 4 * HOUR,
    description: 'Lifetime of a playback URL; longer when the video needs it (see PLAYBACK_URL_MARGIN_SECONDS).',
  }),
  PLAYBACK_URL_MARGIN_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 24 * HOUR,
    default: HOUR / 2,
    description: 'A playback URL lives at least the video duration plus this, so pauses and slow starts keep playing.',
  }),
  CATALOG_CACHE_MS: Type.Integer({
    minimum: 0,
    maximum: 60_000,
    default: 1000,
    description:
      "Viewers' catalog reads (a video, a list page) are shared this long per API container, so popular pages cost DynamoDB one read per interval; 0 reads every time. Writes through the same container are seen at once.",
  }),
  WEB_ASSETS_DIR: Type.String({
    minLength: 1,
    default: 'dist/web',
    description: 'The built web page (`npm run web` writes it), relative to the working directory or absolute.',
  }),
  // Sign-in for the web page: OAuth 2 authorization code with PKCE against Cognito's hosted UI (or
  // the local issuer, which offers the same endpoints). The page is a public client: no secret.
  AUTH_AUTHORIZE_URL: Type.Optional(
    Type.String({ pattern: '^https?://[^\\s]+$', description: 'Cognito `https://<domain>/oauth2/authorize`, locally the issuer’s.' }),
  ),
  AUTH_TOKEN_URL: Type.Optional(Type.String({ pattern: '^https?://[^\\s]+$', description: 'Cognito `https://<domain>/oauth2/token`.' })),
  AUTH_CLIENT_ID: Type.Optional(
    Type.String({ pattern: '^[\\w+.:-]{1,128}$', description: 'The app client (public, no secret); ID tokens carry it as `aud` (JWT_AUDIENCE).' }),
  ),
  AUTH_LOGOUT_URL: Type.Optional(
    Type.String({ pattern: '^https?://[^\\s]+$', description: 'Cognito `https://<domain>/logout`; without it, signing out only forgets the tokens.' }),
  ),
  AUTH_SCOPES: Type.String({ pattern: '^[\\w:/.-]+( [\\w:/.-]+)*$', default: 'openid', description: 'Space-separated; must include openid.' }),
  RECONCILE_PERIOD_SECONDS: Type.Integer({
    minimum: 1,
    maximum: 24 * HOUR,
    default: 300,
    description: "How often the reconciler runs (the local stack's timer; in AWS the schedule, template parameter ReconcilePeriodMinutes).",
  }),
  RECONCILE_GRACE_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 24 * HOUR,
    default: 300,
    description: 'A video is left to its events this long before the reconciler looks; objects with no record are kept this long.',
  }),
  RECONCILE_SILENT_JOB_SECONDS: Type.Integer({
    minimum: 60,
    maximum: 7 * 24 * HOUR,
    default: 6 * HOUR,
    description: 'A transcode still running with no progress for this long is canceled and its video failed.',
  }),
  RECONCILE_MAX_ATTEMPTS: Type.Integer({
    minimum: 1,
    maximum: 100,
    default: 5,
    description: 'Tries on a video that does not move before it fails with the reason.',
  }),
  RECONCILE_BACKOFF_SECONDS: Type.Integer({
    minimum: 0,
    maximum: 24 * HOUR,
    default: 60,
    description: "The reconciler's first retry of a video waits this long, each next one twice as long.",
  }),
  CORS_ALLOWED_ORIGINS: Type.String({
    // Origins only (scheme, host, port): no path, no wildcard, comma-separated.
    pattern: '^(https?://[^,*\\s/]+(,https?://[^,*\\s/]+)*)?$',
    default: '',
    description:
      "Web origins, besides the API's own, whose pages may call the API (CORS), e.g. https://videos.example.com,http://localhost:5173. No wildcards and never credentials: the API takes bearer tokens, not cookies. Empty: same origin only.",
  }),
  RATE_LIMIT_MAX: Type.Integer({
    minimum: 0,
    maximum: 1_000_000_000,
    default: 6000,
    description:
      'Requests each client (IP address) may make per RATE_LIMIT_WINDOW_SECONDS before 429; 0 turns the limit off. Counted per API process, so template.yaml sets 0: there API Gateway throttles the whole API.',
  }),
  RATE_LIMIT_WINDOW_SECONDS: Type.Integer({ minimum: 1, maximum: 3600, default: 60, description: 'The window RATE_LIMIT_MAX counts in.' }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
});
export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The signing key comes from exactly one place. A PEM given inline is parsed here, so a broken
 * key fails at boot rather than at the first playback; an SSM parameter is read when first needed.
 */
function privateKeyProblems(config: Config): string[] {
  const inline = config.CLOUDFRONT_PRIVATE_KEY;
  const parameter = config.CLOUDFRONT_PRIVATE_KEY_PARAMETER;
  if (inline && parameter) {
    return ['CLOUDFRONT_PRIVATE_KEY: give either it or CLOUDFRONT_PRIVATE_KEY_PARAMETER, not both'];
  }
  if (!inline && !parameter) {
    return ['CLOUDFRONT_PRIVATE_KEY_PARAMETER: required (or CLOUDFRONT_PRIVATE_KEY with the PEM itself)'];
  }
  if (inline) {
    try {
      const key = createPrivateKey(pemFromSetting(inline));
      if (key.asymmetricKeyType !== 'rsa') return [`CLOUDFRONT_PRIVATE_KEY: CloudFront keys are RSA, not ${key.asymmetricKeyType}`];
    } catch {
      return ['CLOUDFRONT_PRIVATE_KEY: not a PEM private key'];
    }
  }
  return [];
}

/**
 * Env files often carry a PEM on one line with literal `\n` escapes; turn those back into newlines.
 */
export function pemFromSetting(value: string): string {
  return value.includes('\n') ? value : value.replaceAll('\\n', '\n');
}

/**
 * The page's three sign-in settings belong together: a page that can send people to sign in but
 * not finish is worse than one that says sign-in is not configured.
 */
function signInProblems(config: Config): string[] {
  const trio = ['AUTH_AUTHORIZE_URL', 'AUTH_TOKEN_URL', 'AUTH_CLIENT_ID'] as const;
  const given = trio.filter((name) => config[name]);
  const problems =
    given.length > 0 && given.length < trio.length ? trio.filter((name) => !config[name]).map((name) => `${name}: required with ${given.join(', ')}`) : [];
  if (!config.AUTH_SCOPES.split(' ').includes('openid')) {
    problems.push('AUTH_SCOPES: must include openid (the ID token is the bearer token)');
  }
  return problems;
}

/** Reads, converts (strings to numbers), defaults and validates the settings; throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const known = Object.keys(ConfigSchema.properties);
  const raw = Object.fromEntries(known.filter((name) => env[name] !== undefined && env[name] !== '').map((name) => [name, env[name]]));
  const candidate = Convert(ConfigSchema, Default(ConfigSchema, raw));
  const problems = [...Errors(ConfigSchema, candidate)].map((error) => `${error.path.slice(1) || '(root)'}: ${error.message}`);
  const config = candidate as Config;
  if (problems.length === 0) {
    if (config.TRANSCODER === 'mediaconvert' && !config.MEDIACONVERT_ROLE_ARN) {
      problems.push('MEDIACONVERT_ROLE_ARN: required when TRANSCODER is mediaconvert');
    }
    if (config.TRANSCODER === 'ffmpeg-worker' && !config.TRANSCODE_WORKER_URL) {
      problems.push('TRANSCODE_WORKER_URL: required when TRANSCODER is ffmpeg-worker');
    }
    if (config.TRANSCODER === 'ffmpeg-worker' && !config.TRANSCODE_WORKER_TOKEN) {
      problems.push('TRANSCODE_WORKER_TOKEN: required when TRANSCODER is ffmpeg-worker (the worker takes jobs only from its own stack)');
    }
    if (config.TRANSCODER === 'ffmpeg-worker' && !config.MEDIACONVERT_ENDPOINT) {
      // Sources are inspected with MediaConvert's Probe in both runtimes; locally the worker answers it.
      problems.push('MEDIACONVERT_ENDPOINT: required when TRANSCODER is ffmpeg-worker (the worker answers MediaConvert Probe; usually TRANSCODE_WORKER_URL)');
    }
    problems.push(...privateKeyProblems(config), ...signInProblems(config));
    if (config.CLOUDFRONT_PRIVATE_KEY) config.CLOUDFRONT_PRIVATE_KEY = pemFromSetting(config.CLOUDFRONT_PRIVATE_KEY);
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return Object.freeze(config);
}
