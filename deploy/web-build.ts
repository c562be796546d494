/**
 * Builds the web page (routes/web/page/) with esbuild into a folder the page plugin serves
 * (routes/web/index.ts, setting WEB_ASSETS_DIR, default dist/web):
 *
 *   index.html                       the shell, pointing at the hashed assets
 *   assets/app-<hash>.js, .css       the page, minified, with linked source maps
 *   assets/player-<hash>.js          the player and hls.js, loaded when needed
 *   assets/hls.worker-<hash>.js      hls.js's transmuxer worker, copied from the package
 *   *.br, *.gz                       precompressed twins of every text file
 *
 * Asset names carry a content hash, so they are cached for good and a new build never mixes
 * with an old one. `npm run web` runs this; `npm start` runs it first (prestart); the browser test
 * builds its own copy into a temp dir; the AWS build ships the folder beside the API bundle.
 */
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';

const pageDir = fileURLToPath(new URL('../routes/web/page/', import.meta.url));
const require = createRequire(import.meta.url);

const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);

export interface WebBuildOptions {
  outDir: string;
  /** Default true. */
  minify?: boolean;
}

export interface WebBuildResult {
  outDir: string;
  /** Paths relative to outDir, forward slashes, without the compressed twins. */
  files: string[];
  milliseconds: number;
}

const hashOf = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('base64url').slice(0, 10).toUpperCase();

/** Text the browser loads (source maps are fetched by developer tools only). */
const COMPRESSIBLE = /\.(html|js|css|json|svg)$/;

export async function buildWebPage(options: WebBuildOptions): Promise<WebBuildResult> {
  const started = performance.now();
  const outDir = path.resolve(options.outDir);
  const assetsDir = path.join(outDir, 'assets');
  await rm(outDir, { recursive: true, force: true });
  await mkdir(assetsDir, { recursive: true });

  // hls.js runs its MPEG-TS transmuxer in a worker when given one; the ESM build has none inline.
  const worker = await readFile(require.resolve('hls.js/dist/hls.worker.js'));
  const workerName = `hls.worker-${hashOf(worker)}.js`;
  await writeFile(path.join(assetsDir, workerName), worker);

  const result = await build({
    entryPoints: { app: path.join(pageDir, 'main.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // Browsers from 2021 on (Safari 15 for native HLS on iOS); nothing needs transpiling further back.
    target: ['es2022', 'chrome100', 'firefox100', 'safari15'],
    minify: options.minify ?? true,
    sourcemap: 'linked',
    outdir: assetsDir,
    // The player (hls.js) is loaded with import() when needed: a chunk of its own.
    splitting: true,
    entryNames: '[name]-[hash]',
    chunkNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'linked',
    // The light build: no subtitles, alternate audio or DRM, which this service never produces.
    alias: { 'hls.js': 'hls.js/dist/hls.light.mjs' },
    define: { HLS_WORKER_PATH: JSON.stringify(`assets/${workerName}`) },
    logLevel: 'silent',
  });
  const relative = (file: string) => path.relative(outDir, path.resolve(file)).split(path.sep).join('/');
  const outputs = Object.keys(result.metafile.outputs).map(relative);
  const script = outputs.find((file) => /^assets\/app-[^/]+\.js$/.test(file));
  const style = outputs.find((file) => /^assets\/app-[^/]+\.css$/.test(file));
  if (!script || !style) throw new Error(`esbuild did not produce the page's script and style: ${outputs.join(', ')}`);

  // The chunks the script imports up front, fetched with it rather than after it is parsed.
  const scriptOutput = Object.entries(result.metafile.outputs).find(([file]) => relative(file) === script)![1];
  const preload = scriptOutput.imports
    .filter((imported) => imported.kind === 'import-statement')
    .map((imported) => `<link rel="modulepreload" href="${relative(imported.path)}">`)
    .join('\n');

  const template = await readFile(path.join(pageDir, 'index.html'), 'utf8');
  const html = template.replace('{{script}}', script).replace('{{style}}', style).replace('{{preload}}', preload);
  if (/\{\{\w+\}\}/.test(html)) throw new Error('index.html has a placeholder this build does not fill');
  await writeFile(path.join(outDir, 'index.html'), html);

  const files = await listFiles(outDir);
  await Promise.all(
    files
      .filter((file) => COMPRESSIBLE.test(file))
      .map(async (file) => {
        const bytes = await readFile(path.join(outDir, file));
        const [br, gz] = await Promise.all([
          brotli(bytes, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.length } }),
          gzipped(bytes, { level: 9 }),
        ]);
        if (br.length < bytes.length) await writeFile(path.join(outDir, `${file}.br`), br);
        if (gz.length < bytes.length) await writeFile(path.join(outDir, `${file}.gz`), gz);
      }),
  );
  return { outDir, files, milliseconds: Math.round(performance.now() - started) };
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(path.join(dir, prefix), { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => (entry.isDirectory() ? listFiles(dir, `${prefix}${entry.name}/`) : Promise.resolve([`${prefix}${entry.name}`]))),
  );
  return nested.flat().sort();
}

// `npm run web [-- <outDir>]`
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = process.argv[2] ?? 'dist/web';
  const built = await buildWebPage({ outDir });
  process.stdout.write(`built the web page into ${path.relative(process.cwd(), built.outDir) || '.'} in ${built.milliseconds} ms\n`);
}
