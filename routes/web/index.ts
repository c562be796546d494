/**
 * The web page at `/`, its assets under `/assets/`, and `/config.json` (where to sign in). None of
 * them needs a token: the page itself asks the visitor to sign in before it shows anything.
 *
 * The page is built by deploy/web-build.ts (`npm run web`, run before `npm start`) into
 * WEB_ASSETS_DIR; this plugin reads that folder once at start and serves it from memory, with
 * the precompressed (br, gzip) twins when the browser takes them. Without a build the API still
 * starts, logs why, and `/` answers 503 saying how to build it.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
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
  'img-src \'self\' data: https: http:',
  'media-src \'self\' blob: https: http:',
  'connect-src \'self\' https: http:',
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

async function loadAssets(dir: string): Promise<Map<string, Asset> | Error> {
  let names: string[];
  try {
    names = [
      'index.html',
      ...(await readdir(path.join(dir, 'assets'))).map((name) => `assets/${name}`),
    ];
    await readFile(path.join(dir, 'index.html'));
  } catch (error) {
    return error as Error;
  }
  const assets = new Map<string, Asset>();
  const twin = (name: string) => readFile(path.join(dir, name)).catch(() => undefined);
  for (const name of names.filter((file) => !/\.(br|gz)$/.test(file))) {
    const body = await readFile(path.join(dir, name));
    const [br, gzip] = await Promise.all([twin(`${name}.br`), twin(`${name}.gz`)]);
    assets.set(name, {
      body,
      ...(br ? { br } : {}),
      ...(gzip ? { gzip } : {}),
      type: TYPES[path.extname(name)] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    });
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
  const assets = await loadAssets(dir);
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
    return send(request, reply, index, 'no-cache');
  });
  for (const [name, asset] of assets) {
    if (name === 'index.html') continue;
    // Content-hashed names never change meaning: cache them for good.
    fastify.get(`/${name}`, hide, async (request, reply) => {
      reply.header('x-content-type-options', 'nosniff');
      return send(request, reply, asset, 'public, max-age=31536000, immutable');
    });
  }
};

export default webRoutes;
