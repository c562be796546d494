/**
 * `npm run sam:env`: the env file for `sam local start-api --env-vars`, pointing the template's
 * functions at the stand-ins `npm start` runs (their default ports, deploy/local/stack.ts).
 *
 * deploy/sam-env.json holds every value but the CloudFront signing key and the worker token,
 * which the local stack generates into its data directory on first start (the CloudFront stand-in
 * trusts that key only; the worker takes requests carrying that token only). This script adds the key id and the PEM from `DATA_DIR` (default ./.data, as for
 * `npm start`) and writes `<DATA_DIR>/sam-env.json`, which stays out of the repository.
 *
 * SAM only overrides variables the template declares, which is why template.yaml declares the
 * stand-in endpoints empty; the keys under "Parameters" apply to every function.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCloudFrontKeyPair } from './local/cloudfront/cloudfront.ts';
import { loadWorkerToken } from './local/mediaconvert/server.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export interface SamEnvFile {
  Parameters: Record<string, string>;
}

export async function readCheckedInSamEnv(): Promise<SamEnvFile> {
  return JSON.parse(await readFile(path.join(ROOT, 'deploy/sam-env.json'), 'utf8')) as SamEnvFile;
}

/** The checked-in file plus the local stack's signing key and worker token. */
export async function buildSamEnv(dataDir: string): Promise<SamEnvFile> {
  const base = await readCheckedInSamEnv();
  // The same call and directory the local stack uses (creates the pair if `npm start` never ran).
  const keys = await loadCloudFrontKeyPair(path.join(dataDir, 'cloudfront'));
  return {
    Parameters: {
      ...base.Parameters,
      CLOUDFRONT_KEY_PAIR_ID: keys.keyPairId,
      CLOUDFRONT_PRIVATE_KEY: keys.privateKeyPem,
      TRANSCODE_WORKER_TOKEN: await loadWorkerToken(dataDir),
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(ROOT, '.data'));
  const file = path.join(dataDir, 'sam-env.json');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${JSON.stringify(await buildSamEnv(dataDir), null, 2)}\n`, { mode: 0o600 });
  const rel = path.relative(process.cwd(), file);
  process.stdout.write(
    [
      `Wrote ${rel} (it holds the local signing key; it stays in the data directory).`,
      'With `npm start` running and `npm run build` done:',
      `  sam local start-api --env-vars ${rel} --docker-network host --region us-east-1 --profile vod-local`,
      "where the vod-local profile has the S3 stand-in's keys (access key S3RVER, secret S3RVER).",
      '',
    ].join('\n'),
  );
}
