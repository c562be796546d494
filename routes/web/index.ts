/**
 * The web page at `/`, its assets under `/assets/`, and `/config.json` (where to sign in). None of
 * them needs a token: the page itself asks the visitor to sign in before it shows anything.
 *
 * The page is built by deploy/web-build.ts (`npm run web`, run before `npm start`) into
 * WEB_ASSETS_DIR; this plugin lists that folder once at start, reads each file at its first
 * request and serves it from memory from then on, with the precompressed (br, gzip) twins when
 * the browser takes them. Without a build the API still
 * starts, logs why, and `/` answers 503 saying how to build it.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { loadOnce } from '../../src/shared/load-once.ts';
import { authConfigOf, type WebSettings } from './settings.ts';

export interface WebRoutesOptions {
  /** From the app's validated config. */
  settings: WebSettings;
}

interface Asset {
  body: Buffer;
  br?: Buffer;
  gzip?: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * No inline script or style, nothing framed. Media, posters and uploads go to the CDN and the
 * bucket, whose hosts this plugin does not know (they are the API's settings), hence http(s):.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: https: http:",
  "media-src 'self' blob: https: http:",
  "connect-src 'self' https: http:",
  "worker-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const PAGE_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  // Signed URLs and sign-in codes must not leak to other sites through Referer.
  'referrer-policy': 'no-referrer',
};

/**
 * The page's files by route name (`index.html`, `assets/...`), each read from disk at its first
 * request and kept in memory from then on. Only the listing happens at start: a cold start used to
 * read and hash every asset (2.7 MB with the source maps), though most API containers never serve
 * the page. Fails (returns the error) when the page is not built.
 */
async function listAssets(dir: string): Promise<Map<string, () => Promise<Asset>> | Error> {
  let present: Set<string>;
  try {
    const [rootFiles, assetFiles] = await Promise.all([readdir(dir), readdir(path.join(dir, 'assets'))]);
    if (!rootFiles.includes('index.html')) throw new Error(`no index.html in ${dir}`);
    present = new Set([...rootFiles.filter((name) => name.startsWith('index.html')), ...assetFiles.map((name) => `assets/${name}`)]);
  } catch (error) {
    return error as Error;
  }
  const read = (file: string) => (present.has(file) ? readFile(path.join(dir, file)) : undefined);
  const assets = new Map<string, () => Promise<Asset>>();
  for (const name of [...present].filter((file) => !/\.(br|gz)$/.test(file))) {
    // A failed read (the file vanished) is tried again at the next request.
    const asset = loadOnce(async (): Promise<Asset> => {
      const [body, br, gzip] = await Promise.all([read(name)!, read(`${name}.br`), read(`${name}.gz`)]);
      return {
        body,
        ...(br ? { br } : {}),
        ...(gzip ? { gzip } : {}),
        type: TYPES[path.extname(name)] ?? 'application/octet-stream',
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      };
    });
    assets.set(name, asset);
  }
  return assets;
}

function send(request: FastifyRequest, reply: FastifyReply, asset: Asset, cacheControl: string) {
  reply.header('content-type', asset.type).header('cache-control', cacheControl).header('etag', asset.etag).header('vary', 'accept-encoding');
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  const accepted = String(request.headers['accept-encoding'] ?? '');
  if (asset.br && /\bbr\b/.test(accepted)) return reply.header('content-encoding', 'br').send(asset.br);
  if (asset.gzip && /\bgzip\b/.test(accepted)) return reply.header('content-encoding', 'gzip').send(asset.gzip);
  return reply.send(asset.body);
}

const webRoutes: FastifyPluginAsync<WebRoutesOptions> = async (fastify: FastifyInstance, options) => {
  const { settings } = options;
  const auth = authConfigOf(settings);
  const dir = path.resolve(settings.WEB_ASSETS_DIR);
  const assets = await listAssets(dir);
  const hide = { schema: { hide: true } };

  fastify.get('/config.json', hide, async (_request, reply) => {
    reply.header('cache-control', 'no-cache');
    return { auth };
  });

  if (assets instanceof Error) {
    fastify.log.warn({ dir, reason: assets.message }, 'The web page is not built: `/` answers 503 until `npm run web` builds it');
    fastify.get('/', hide, async (_request, reply) =>
      reply
        .code(503)
        .type('application/problem+json')
        .send({
          type: '/problems/page-not-built',
          title: 'Page not built',
          status: 503,
          detail: `The web page is not built in ${settings.WEB_ASSETS_DIR}: run npm run web (npm start does it first).`,
        }),
    );
    return;
  }

  const index = assets.get('index.html')!;
  fastify.get('/', hide, async (request, reply) => {
    reply.headers(PAGE_HEADERS);
    // Always revalidated: it names the current build's assets.
    return send(request, reply, await index(), 'no-cache');
  });
  for (const [name, asset] of assets) {
    if (name === 'index.html') continue;
    // Content-hashed names never change meaning: cache them for good.
    fastify.get(`/${name}`, hide, async (request, reply) => {
      reply.header('x-content-type-options', 'nosniff');
      return send(request, reply, await asset(), 'public, max-age=31536000, immutable');
    });
  }
};

export default webRoutes;
