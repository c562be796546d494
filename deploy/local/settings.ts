/** Settings of the local stack itself (`npm start`, `npm run token`), validated like the app's. */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { resolve } from 'node:path';
import { DEFAULT_PORTS } from './stack.ts';

const Port = (port: number, description: string) => Type.Integer({ minimum: 0, maximum: 65535, default: port, description });

export const LocalSettingsSchema = Type.Object({
  PORT: Port(DEFAULT_PORTS.api, 'API port'),
  CDN_PORT: Port(DEFAULT_PORTS.cdn, 'CloudFront stand-in port (manifest URLs point here)'),
  ISSUER_PORT: Port(DEFAULT_PORTS.issuer, 'Local JWT issuer (JWKS) port'),
  S3_PORT: Port(DEFAULT_PORTS.s3, 'S3 stand-in port'),
  DYNAMODB_PORT: Port(DEFAULT_PORTS.dynamodb, 'DynamoDB stand-in port'),
  TRANSCODER_PORT: Port(DEFAULT_PORTS.transcoder, 'ffmpeg worker port'),
  DATA_DIR: Type.String({ minLength: 1, default: './.data', description: 'Objects, tables, keys, jobs and events' }),
  TRANSCODE_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 16, default: 1, description: 'Transcodes at once' }),
  TRANSCODE_SPEED_LIMIT: Type.Optional(
    Type.Number({ minimum: 0.1, maximum: 100, description: 'Transcode at most this many times real time, like MediaConvert (default: as fast as ffmpeg can)' }),
  ),
});
export type LocalSettings = Static<typeof LocalSettingsSchema>;

export function loadLocalSettings(env: Record<string, string | undefined>): LocalSettings {
  const raw = Object.fromEntries(Object.keys(LocalSettingsSchema.properties).flatMap((name) => (env[name] ? [[name, env[name]]] : [])));
  const settings = Value.Convert(LocalSettingsSchema, Value.Default(LocalSettingsSchema, raw));
  const problems = [...Value.Errors(LocalSettingsSchema, settings)].map((error) => `${error.path.slice(1)}: ${error.message}`);
  if (problems.length > 0) throw new Error(`Invalid local settings:\n  ${problems.join('\n  ')}`);
  const valid = settings as LocalSettings;
  return { ...valid, DATA_DIR: resolve(valid.DATA_DIR) };
}
