/**
 * `npm run measure:cold-init`: how long a fresh Node process takes to import a built bundle and
 * get it ready, which is the part of a Lambda cold start that the code controls (the runtime's own
 * start and the zip download come on top and are not measurable here). For the API bundle,
 * "ready" includes `await fastify.ready()`, which src/app/lambda.ts runs at module scope.
 *
 * Each run is a new `node` process with the environment a deployed function gets (no network is
 * touched at import: JWKS and the signing key are fetched on first use). Reports the median.
 *
 * For the API bundle it also builds the bare framework (deploy/bare-framework.ts: Fastify,
 * swagger, swagger-ui, aws-lambda and one route) with the same build options and times both in
 * alternation, so the ratio holds on a busy machine. "First request" is init plus one GET /health
 * invocation through the handler: what work deferred from init to first use costs back.
 *
 *   npm run build && npm run measure:cold-init [-- --runs 9 --bundle dist/api/app/index.mjs --no-baseline]
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BUNDLES, buildBundle, type BuiltBundle, type BundleSpec } from './build.ts';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** What template.yaml gives the API function, with placeholder values of the right shapes. */
export const DEPLOYED_LIKE_ENV: Readonly<Record<string, string>> = {
  AWS_REGION: 'eu-west-1',
  BUCKET_NAME: 'vod-prod-111122223333-eu-west-1-1c2fa620',
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

const API_BUNDLE = BUNDLES.find((spec) => spec.name === 'api')!;

/** The baseline bundle: built like the API, with Swagger UI's assets beside it; never deployed. */
export const BARE_FRAMEWORK_BUNDLE: BundleSpec = {
  name: 'bare-framework',
  entry: 'deploy/bare-framework.ts',
  file: API_BUNDLE.file,
  handler: API_BUNDLE.handler,
  assets: API_BUNDLE.assets ?? [],
};

/** An HTTP API (v2) GET /health event, as API Gateway sends it. */
export const HEALTH_EVENT = {
  version: '2.0',
  routeKey: 'GET /health',
  rawPath: '/health',
  rawQueryString: '',
  headers: { accept: 'application/json', host: 'api.example.com', 'user-agent': 'measure-cold-init' },
  requestContext: {
    accountId: '111122223333',
    apiId: 'api',
    domainName: 'api.example.com',
    http: { method: 'GET', path: '/health', protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'measure-cold-init' },
    requestId: 'cold-init',
    routeKey: 'GET /health',
    stage: '$default',
    time: '24/Nov/2026:06:00:00 +0000',
    timeEpoch: 1795500000000,
  },
  isBase64Encoded: false,
};

export interface ColdInit {
  /** From the start of `import()` to the module (and its top-level awaits) being done. */
  importReadyMs: number;
  /** From the process's time origin to the same point: Node's own start included. */
  sinceProcessStartMs: number;
  /** CPU time (user + system, all threads) of the import: steadier than wall time on a busy machine. */
  importCpuMs: number;
  /** importReadyMs plus the first invocation of `firstEvent`, when one was given. */
  firstRequestMs?: number;
}

/** The function's folder (Lambda's working directory): the nearest one with the build's package.json. */
export function functionRoot(bundle: string): string {
  let dir = path.dirname(bundle);
  for (let up = 0; up < 3 && !existsSync(path.join(dir, 'package.json')); up++) dir = path.dirname(dir);
  return existsSync(path.join(dir, 'package.json')) ? dir : path.dirname(bundle);
}

/** One fresh process importing `bundle`; its handler export is checked too, and invoked with `firstEvent`. */
export async function measureOnce(
  bundle: string,
  options: { nodeOptions?: string[]; env?: Record<string, string>; firstEvent?: unknown } = {},
): Promise<ColdInit> {
  const script = [
    'const cpu0 = process.cpuUsage();',
    'const t0 = performance.now();',
    `const module = await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
    'const t1 = performance.now();',
    'const cpu = process.cpuUsage(cpu0);',
    "if (typeof module.handler !== 'function') throw new Error('no handler export');",
    'const result = { importReadyMs: t1 - t0, sinceProcessStartMs: t1, importCpuMs: (cpu.user + cpu.system) / 1000 };',
    'if (process.env.VOD_FIRST_EVENT) {',
    '  const response = await module.handler(JSON.parse(process.env.VOD_FIRST_EVENT), { awsRequestId: "cold-init" });',
    '  if (response.statusCode !== 200) throw new Error(`first request answered ${response.statusCode}`);',
    '  result.firstRequestMs = performance.now() - t0;',
    '}',
    'console.log(JSON.stringify(result));',
  ].join('\n');
  const { stdout } = await run(process.execPath, [...(options.nodeOptions ?? []), '--input-type=module', '-e', script], {
    env: {
      PATH: process.env.PATH ?? '',
      ...DEPLOYED_LIKE_ENV,
      ...options.env,
      ...(options.firstEvent ? { VOD_FIRST_EVENT: JSON.stringify(options.firstEvent) } : {}),
    },
    cwd: functionRoot(bundle),
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as ColdInit;
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

function medianOf(results: ColdInit[]): ColdInit {
  const firsts = results.flatMap((result) => (result.firstRequestMs === undefined ? [] : [result.firstRequestMs]));
  return {
    importReadyMs: median(results.map((result) => result.importReadyMs)),
    sinceProcessStartMs: median(results.map((result) => result.sinceProcessStartMs)),
    importCpuMs: median(results.map((result) => result.importCpuMs)),
    ...(firsts.length > 0 ? { firstRequestMs: median(firsts) } : {}),
  };
}

export async function measureColdInit(
  bundle: string,
  runs: number,
  options: { nodeOptions?: string[]; firstEvent?: unknown } = {},
): Promise<{ runs: ColdInit[]; median: ColdInit }> {
  const results: ColdInit[] = [];
  for (let index = 0; index < runs; index++) results.push(await measureOnce(bundle, options));
  return { runs: results, median: medianOf(results) };
}

/** Builds the bare framework bundle into `outDir` (a temporary folder by default). */
export async function buildBareFramework(outDir: string): Promise<BuiltBundle> {
  return buildBundle(BARE_FRAMEWORK_BUNDLE, { outDir });
}

export interface ColdInitComparison {
  api: ColdInit;
  bare: ColdInit;
  runs: number;
}

/**
 * The API bundle against the bare framework, one fresh process of each in turn (so load on the
 * machine hits both alike), medians of `runs`. Both get the GET /health first request.
 */
export async function compareWithBareFramework(apiBundle: string, bareBundle: string, runs: number): Promise<ColdInitComparison> {
  const api: ColdInit[] = [];
  const bare: ColdInit[] = [];
  for (let index = 0; index < runs; index++) {
    bare.push(await measureOnce(bareBundle, { firstEvent: HEALTH_EVENT }));
    api.push(await measureOnce(apiBundle, { firstEvent: HEALTH_EVENT }));
  }
  return { api: medianOf(api), bare: medianOf(bare), runs };
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
  const ms = (value: number) => `${value.toFixed(0)} ms`;
  const isApi = rel === path.join('dist', 'api', 'app', 'index.mjs');
  if (isApi && !args.includes('--no-baseline')) {
    const outDir = await mkdtemp(path.join(tmpdir(), 'vod-bare-framework-'));
    try {
      const bare = await buildBareFramework(outDir);
      const { api, bare: baseline } = await compareWithBareFramework(bundle, bare.outfile, runs);
      process.stdout.write(
        `median of ${runs} fresh processes each, alternating, node ${process.version}:\n` +
          `  bare framework  import + ready ${ms(baseline.importReadyMs)} (cpu ${ms(baseline.importCpuMs)}), with a first GET /health ${ms(baseline.firstRequestMs!)}\n` +
          `  ${rel}  import + ready ${ms(api.importReadyMs)} (cpu ${ms(api.importCpuMs)}), with a first GET /health ${ms(api.firstRequestMs!)}\n` +
          `  ratio: ${(api.importReadyMs / baseline.importReadyMs).toFixed(2)} (cpu ${(api.importCpuMs / baseline.importCpuMs).toFixed(2)})\n`,
      );
    } finally {
      await rm(outDir, { recursive: true, force: true });
    }
  }
  for (const [label, nodeOptions] of [
    ['plain', []],
    ['--enable-source-maps', ['--enable-source-maps']],
  ] as const) {
    if (label === 'plain' && isApi && !args.includes('--no-baseline')) continue; // measured above
    const { median: result } = await measureColdInit(bundle, runs, { nodeOptions: [...nodeOptions] });
    process.stdout.write(
      `${rel} (${label}, median of ${runs} fresh processes, node ${process.version}): import + ready ${ms(result.importReadyMs)}, ` +
        `${ms(result.sinceProcessStartMs)} since process start\n`,
    );
  }
}
