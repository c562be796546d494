/**
 * `npm run measure:cold-init`: how long a fresh Node process takes to import a built bundle and
 * get it ready, which is the part of a Lambda cold start that the code controls (the runtime's own
 * start and the zip download come on top and are not measurable here). For the API bundle,
 * "ready" includes `await fastify.ready()`, which src/lambda.ts runs at module scope.
 *
 * Each run is a new `node` process with the environment a deployed function gets (no network is
 * touched at import: JWKS and the signing key are fetched on first use). Reports the median.
 *
 *   npm run build && npm run measure:cold-init [-- --runs 9 --bundle dist/api/app/index.mjs]
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What template.yaml gives the API function, with placeholder values of the right shapes. */
export const DEPLOYED_LIKE_ENV: Readonly<Record<string, string>> = {
  AWS_REGION: 'eu-west-1',
  BUCKET_NAME: 'vod-prod-111122223333-eu-west-1',
  TABLE_NAME: 'vod-prod-VideosTable-EXAMPLE',
  TRANSCODER: 'mediaconvert',
  MEDIACONVERT_ENDPOINT: 'https://mediaconvert.eu-west-1.amazonaws.com',
  MEDIACONVERT_ROLE_ARN: 'arn:aws:iam::111122223333:role/vod-prod-MediaConvertRole-EXAMPLE',
  JWT_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_EXAMPLE',
  JWT_AUDIENCE: '3ts5example1n6k1rqp2g6c7cr9',
  JWT_JWKS_URL: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_EXAMPLE/.well-known/jwks.json',
  MAX_UPLOAD_BYTES: '5368709120',
  UPLOAD_URL_TTL_SECONDS: '900',
  CDN_BASE_URL: 'https://d111111abcdef8.cloudfront.net',
  CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F',
  CLOUDFRONT_PRIVATE_KEY_PARAMETER: '/vod/prod/cloudfront-private-key',
  PLAYBACK_URL_TTL_SECONDS: '14400',
  LOG_LEVEL: 'warn',
  WEB_ASSETS_DIR: 'web',
  // Credentials are never used at import; set so the SDK's provider chain has nothing to look up.
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'example',
};

export interface ColdInit {
  /** From the start of `import()` to the module (and its top-level awaits) being done. */
  importReadyMs: number;
  /** From the process's time origin to the same point: Node's own start included. */
  sinceProcessStartMs: number;
}

/** The function's folder (Lambda's working directory): the nearest one with the build's package.json. */
export function functionRoot(bundle: string): string {
  let dir = path.dirname(bundle);
  for (let up = 0; up < 3 && !existsSync(path.join(dir, 'package.json')); up++) dir = path.dirname(dir);
  return existsSync(path.join(dir, 'package.json')) ? dir : path.dirname(bundle);
}

/** One fresh process importing `bundle`; its handler export is checked too. */
export async function measureOnce(bundle: string, options: { nodeOptions?: string[]; env?: Record<string, string> } = {}): Promise<ColdInit> {
  const script = [
    'const t0 = performance.now();',
    `const module = await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
    'const t1 = performance.now();',
    "if (typeof module.handler !== 'function') throw new Error('no handler export');",
    'console.log(JSON.stringify({ importReadyMs: t1 - t0, sinceProcessStartMs: t1 }));',
  ].join('\n');
  const { stdout } = await run(process.execPath, [...(options.nodeOptions ?? []), '--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', ...DEPLOYED_LIKE_ENV, ...options.env },
    cwd: functionRoot(bundle),
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ColdInit;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

export async function measureColdInit(
  bundle: string,
  runs: number,
  options: { nodeOptions?: string[] } = {},
): Promise<{ runs: ColdInit[]; median: ColdInit }> {
  const results: ColdInit[] = [];
  for (let index = 0; index < runs; index++) results.push(await measureOnce(bundle, options));
  return {
    runs: results,
    median: {
      importReadyMs: median(results.map((result) => result.importReadyMs)),
      sinceProcessStartMs: median(results.map((result) => result.sinceProcessStartMs)),
    },
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const index = args.indexOf(name);
    return index === -1 ? undefined : args[index + 1];
  };
  const runs = Number(option('--runs') ?? 9);
  const bundle = path.resolve(ROOT, option('--bundle') ?? 'dist/api/app/index.mjs');
  const rel = path.relative(ROOT, bundle);
  for (const [label, nodeOptions] of [
    ['plain', []],
    ['--enable-source-maps', ['--enable-source-maps']],
  ] as const) {
    const { median: result } = await measureColdInit(bundle, runs, { nodeOptions: [...nodeOptions] });
    process.stdout.write(
      `${rel} (${label}, median of ${runs} fresh processes, node ${process.version}): import + ready ${result.importReadyMs.toFixed(0)} ms, ` +
        `${result.sinceProcessStartMs.toFixed(0)} ms since process start\n`,
    );
  }
}
