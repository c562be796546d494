/**
 * Every setting the service reads, as one TypeBox schema: it gives the type, the defaults, the
 * validation at boot and the table in the README. Settings come from environment variables in
 * every runtime (Lambda, `sam local`, the local stack), are read once, and a missing or malformed
 * one fails fast naming the variable.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

const GiB = 1024 ** 3;
/** S3's limit for a single PUT; larger files need multipart (resumable uploads issue). */
export const SINGLE_PUT_LIMIT_BYTES = 5 * GiB;

const Url = Type.String({ pattern: '^https?://' });

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
  TRANSCODE_WORKER_URL: Type.Optional(Url),
  JWT_ISSUER: Type.String({ minLength: 1, description: 'Expected `iss` of bearer tokens (Cognito user pool URL in AWS).' }),
  JWT_AUDIENCE: Type.String({ minLength: 1, description: 'Expected `aud` (or Cognito `client_id`).' }),
  JWT_JWKS_URL: Url,
  MAX_UPLOAD_BYTES: Type.Integer({ minimum: 1, maximum: SINGLE_PUT_LIMIT_BYTES, default: SINGLE_PUT_LIMIT_BYTES }),
  UPLOAD_URL_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 7 * 24 * 3600, default: 900 }),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
});
export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads, converts (strings to numbers), defaults and validates the settings; throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const known = Object.keys(ConfigSchema.properties);
  const raw = Object.fromEntries(
    known.filter((name) => env[name] !== undefined && env[name] !== '').map((name) => [name, env[name]]),
  );
  const candidate = Value.Convert(ConfigSchema, Value.Default(ConfigSchema, raw));
  const problems = [...Value.Errors(ConfigSchema, candidate)].map(
    (error) => `${error.path.slice(1) || '(root)'}: ${error.message}`,
  );
  const config = candidate as Config;
  if (problems.length === 0) {
    if (config.TRANSCODER === 'mediaconvert' && !config.MEDIACONVERT_ROLE_ARN) {
      problems.push('MEDIACONVERT_ROLE_ARN: required when TRANSCODER is mediaconvert');
    }
    if (config.TRANSCODER === 'ffmpeg-worker' && !config.TRANSCODE_WORKER_URL) {
      problems.push('TRANSCODE_WORKER_URL: required when TRANSCODER is ffmpeg-worker');
    }
  }
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return Object.freeze(config);
}
