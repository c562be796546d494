/**
 * `npm run build`: one esbuild bundle per Lambda entry point, into `dist/<function>/`, which is
 * exactly what template.yaml's CodeUri values name. `sam deploy` zips those folders as they are;
 * nothing is installed at deploy time.
 *
 *   dist/api/app/index.mjs         the Fastify monolith (src/app/lambda.ts), handler `app/index.handler`
 *   dist/api/static/               Swagger UI's assets: @fastify/swagger-ui serves them from
 *                                  `<bundle dir>/../static` (its lib/routes.js), so the bundle
 *                                  sits one folder down; its index.js reads the logo from
 *                                  `<bundle dir>/static/logo.svg`, so that one file goes there too
 *   dist/api/web/                  the web page (deploy/web-build.ts), served by routes/web from
 *                                  WEB_ASSETS_DIR=web (Lambda's working directory is the folder)
 *   dist/s3-upload/index.mjs       S3 ObjectCreated notifications (events/s3-upload.ts)
 *   dist/job-state-change/index.mjs  MediaConvert job events (events/job-state-change.ts)
 *   dist/reconcile/index.mjs       the scheduled reconciler run (events/reconcile.ts)
 *   dist/fast-start/index.mjs      fast start in AWS, ffmpeg from a layer (events/fast-start.ts)
 *   dist/manifest-signer/index.mjs   the Lambda@Edge playlist signer (edge/manifest-signer.ts)
 *
 * Every bundle is ESM (the `.mjs` extension tells Lambda), minified, with a source map beside it,
 * and carries the AWS SDK it was tested with rather than the runtime's own copy (which is pinned to
 * an older minor version and lacks, for one, the checksum settings src/app/aws-clients.ts relies on).
 * Each folder also gets a package.json, so an accidental `sam build` copies it unchanged.
 *
 * Cold start (`npm run measure:cold-init`) is mostly V8 compiling what the bundle loads, so:
 * - Code split: every dynamic `import()` (the SDK clients a function loads on first use, see
 *   src/app/aws-clients.ts; the SDK's own credential providers) becomes a file under `chunks/` that
 *   is read and compiled only when first imported. The handler file loads the rest.
 * - No `keepNames`: it wraps every function and class in a `__name()` call (10 ms of the API's cold
 *   start). Error names do not depend on it (src/domain/errors.ts, the SDK's exceptions and
 *   @fastify/error set `name` explicitly); constructor names in logs (pino's `err.type`) and
 *   function names in stack traces are minified, as stack frames were before: read them with the
 *   source map (`NODE_OPTIONS=--enable-source-maps`).
 *
 * Options: `--outdir <dir>` (default dist), `--no-minify`, `--metafile` (writes meta.json per
 * bundle for https://esbuild.github.io/analyze/).
 */
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { buildWebPage } from './web-build.ts';
import { cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

export interface BundleSpec {
  /** Folder under the output directory; template.yaml's CodeUri is `dist/<name>`. */
  name: string;
  /** Entry point, relative to the repository root. */
  entry: string;
  /** Bundle file inside the folder. */
  file: string;
  /** What template.yaml's Handler must say. */
  handler: string;
  /** Files or folders copied into the bundle folder: [source, destination inside the folder]. */
  assets?: Array<[from: string, to: string]>;
  /** Lambda@Edge: smaller is faster at the edge, and nothing may come from the environment. */
  edge?: boolean;
  /** Also build the web page into this folder inside the bundle folder. */
  webPage?: string;
}

const swaggerUiStatic = path.join(path.dirname(require.resolve('@fastify/swagger-ui/package.json')), 'static');

export const BUNDLES: readonly BundleSpec[] = [
  {
    name: 'api',
    entry: 'src/app/lambda.ts',
    file: 'app/index.mjs',
    handler: 'app/index.handler',
    assets: [
      [swaggerUiStatic, 'static'],
      [path.join(swaggerUiStatic, 'logo.svg'), 'app/static/logo.svg'],
    ],
    webPage: 'web',
  },
  { name: 's3-upload', entry: 'events/s3-upload.ts', file: 'index.mjs', handler: 'index.handler' },
  { name: 'job-state-change', entry: 'events/job-state-change.ts', file: 'index.mjs', handler: 'index.handler' },
  { name: 'reconcile', entry: 'events/reconcile.ts', file: 'index.mjs', handler: 'index.handler' },
  { name: 'fast-start', entry: 'events/fast-start.ts', file: 'index.mjs', handler: 'index.handler' },
  { name: 'manifest-signer', entry: 'edge/manifest-signer.ts', file: 'index.mjs', handler: 'index.handler', edge: true },
];

/**
 * An ESM bundle has no `require`, `__filename` or `__dirname`, but the CommonJS packages inside it
 * (fastify's dependencies, parts of the SDK) call them; esbuild's shim throws "Dynamic require of
 * ... is not supported" without a real `require`. Names are prefixed so they cannot collide.
 */
export const ESM_BANNER = [
  "import { createRequire as __vodCreateRequire } from 'node:module';",
  "import { fileURLToPath as __vodFileURLToPath } from 'node:url';",
  "import { dirname as __vodDirname } from 'node:path';",
  'const require = __vodCreateRequire(import.meta.url);',
  'const __filename = __vodFileURLToPath(import.meta.url);',
  'const __dirname = __vodDirname(__filename);',
].join('\n');

export interface BuiltBundle extends BundleSpec {
  /** Absolute path of the bundle file. */
  outfile: string;
  /** The handler file alone. */
  bytes: number;
  /** What a cold start loads: the handler file and the chunks it imports statically. */
  initialBytes: number;
  /** Every JavaScript file of the bundle: the handler file and all its chunks. */
  codeBytes: number;
  /** Bytes of the whole folder (what Lambda unpacks): bundle, map, assets. */
  folderBytes: number;
  metafile?: Metafile;
}

export interface BuildBundlesOptions {
  outDir?: string;
  minify?: boolean;
  metafile?: boolean;
  /** Only these bundles (by name). */
  only?: readonly string[];
}

async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

/** Builds one bundle into `<outDir>/<spec.name>/`. */
export async function buildBundle(spec: BundleSpec, options: Omit<BuildBundlesOptions, 'only'> = {}): Promise<BuiltBundle> {
  const outDir = path.resolve(ROOT, options.outDir ?? 'dist');
  const folder = path.join(outDir, spec.name);
  await rm(folder, { recursive: true, force: true });
  await mkdir(folder, { recursive: true });
  const outfile = path.join(folder, spec.file);
  const config: BuildOptions = {
    absWorkingDir: ROOT,
    // Named entry point + outdir (not outfile): code splitting needs a folder for the chunks.
    entryPoints: { [path.basename(spec.file, '.mjs')]: path.join(ROOT, spec.entry) },
    outdir: path.dirname(outfile),
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    splitting: true,
    bundle: true,
    platform: 'node',
    // The Lambda runtime (nodejs22.x); Node 20 here runs the same output in tests.
    target: 'node20',
    format: 'esm',
    // ESM builds of dual packages (the SDK ships both) tree-shake better.
    mainFields: ['module', 'main'],
    minify: options.minify ?? true,
    // See the header: names cost cold-start time and nothing depends on them.
    keepNames: false,
    sourcemap: true,
    // Maps give file:line in stack traces; the sources themselves stay out of the zip.
    sourcesContent: false,
    // Every chunk is a module of its own and needs the shims too.
    banner: { js: ESM_BANNER },
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  };
  const result = await build(config);
  for (const [from, to] of spec.assets ?? []) {
    await cp(from, path.join(folder, to), { recursive: true });
  }
  if (spec.webPage) await buildWebPage({ outDir: path.join(folder, spec.webPage), minify: options.minify ?? true });
  await writeFile(
    path.join(folder, 'package.json'),
    `${JSON.stringify({ name: `vod-${spec.name}`, private: true, type: 'module', description: `Built by deploy/build.ts from ${spec.entry}` }, null, 2)}\n`,
  );
  if (options.metafile) await writeFile(path.join(outDir, `${spec.name}.meta.json`), JSON.stringify(result.metafile));
  const { initialBytes, codeBytes } = codeSizes(result.metafile!, path.relative(ROOT, outfile));
  return {
    ...spec,
    outfile,
    bytes: (await stat(outfile)).size,
    initialBytes,
    codeBytes,
    folderBytes: await folderSize(folder),
    ...(options.metafile ? { metafile: result.metafile! } : {}),
  };
}

/** Bytes of the entry file plus the chunks it imports statically (what loads at start), and of all code. */
function codeSizes(metafile: Metafile, entry: string): { initialBytes: number; codeBytes: number } {
  const outputs = metafile.outputs;
  const key = Object.keys(outputs).find((file) => path.resolve(ROOT, file) === path.resolve(ROOT, entry))!;
  const initial = new Set<string>();
  const queue = [key];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (initial.has(file)) continue;
    initial.add(file);
    for (const imported of outputs[file]!.imports) if (imported.kind === 'import-statement' && !imported.external) queue.push(imported.path);
  }
  const sum = (files: Iterable<string>) => [...files].reduce((total, file) => total + outputs[file]!.bytes, 0);
  return { initialBytes: sum(initial), codeBytes: sum(Object.keys(outputs).filter((file) => file.endsWith('.mjs'))) };
}

export async function buildBundles(options: BuildBundlesOptions = {}): Promise<BuiltBundle[]> {
  const specs = BUNDLES.filter((spec) => !options.only || options.only.includes(spec.name));
  return Promise.all(specs.map((spec) => buildBundle(spec, options)));
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outDirIndex = args.indexOf('--outdir');
  const started = performance.now();
  const built = await buildBundles({
    ...(outDirIndex === -1 ? {} : { outDir: args[outDirIndex + 1]! }),
    minify: !args.includes('--no-minify'),
    metafile: args.includes('--metafile'),
  });
  const elapsed = Math.round(performance.now() - started);
  process.stdout.write(`Built ${built.length} bundles in ${elapsed} ms:\n`);
  for (const bundle of built) {
    process.stdout.write(
      `  ${path.relative(ROOT, bundle.outfile).padEnd(36)} ${kib(bundle.initialBytes).padStart(9)} at start, ${kib(bundle.codeBytes).padStart(9)} with chunks   folder ${kib(bundle.folderBytes).padStart(9)}   handler ${bundle.handler}\n`,
    );
  }
}
