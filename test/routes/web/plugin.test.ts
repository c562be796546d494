/**
 * The page plugin on its own (inject): the built page and its assets, caching and compression,
 * /config.json, and what happens without a build. The page's settings are validated with the
 * rest of the config (src/app/config.ts).
 */
import t, { type Test } from 'tap';
import Fastify from 'fastify';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import webRoutes from '../../../routes/web/index.ts';
import { loadConfig } from '../../../src/app/config.ts';
import { MINIMAL_ENV } from '../../helpers/config.ts';
import { buildWebPage } from '../../../deploy/web-build.ts';
import { tempDir } from '../../helpers/media.ts';

const built = await buildWebPage({ outDir: await tempDir(t, 'vod-web-') });

const loadWebSettings = (env: Record<string, string>) => loadConfig({ ...MINIMAL_ENV, ...env });

async function start(t: Test, env: Record<string, string>) {
  const fastify = Fastify();
  await fastify.register(webRoutes, { settings: loadWebSettings(env) });
  t.teardown(() => fastify.close());
  return fastify;
}

const signIn = {
  AUTH_AUTHORIZE_URL: 'https://vod.auth.eu-west-1.amazoncognito.com/oauth2/authorize',
  AUTH_TOKEN_URL: 'https://vod.auth.eu-west-1.amazoncognito.com/oauth2/token',
  AUTH_CLIENT_ID: '1example23456789',
};

t.test('/ is the page, with its security headers, revalidated on every visit', async (t) => {
  const fastify = await start(t, { WEB_ASSETS_DIR: built.outDir, ...signIn });
  const page = await fastify.inject({ url: '/' });
  t.equal(page.statusCode, 200);
  t.match(page.headers['content-type'], /^text\/html/);
  t.equal(page.headers['cache-control'], 'no-cache');
  t.match(page.headers['content-security-policy'], /script-src 'self'/);
  t.match(page.headers['content-security-policy'], /frame-ancestors 'none'/);
  t.equal(page.headers['referrer-policy'], 'no-referrer');
  t.match(page.body, /<h2 id="signed-out-title">Sign in/);

  const again = await fastify.inject({ url: '/', headers: { 'if-none-match': String(page.headers.etag) } });
  t.equal(again.statusCode, 304, 'unchanged: 304');

  const assets = [...page.body.matchAll(/(?:src|href)="(assets\/[^"]+)"/g)].map((match) => match[1]!);
  t.ok(
    assets.some((asset) => /^assets\/app-\w+\.js$/.test(asset)) && assets.some((asset) => /^assets\/app-\w+\.css$/.test(asset)),
    `the page names its script and style: ${assets.join(', ')}`,
  );
  for (const asset of assets) {
    const response = await fastify.inject({ url: `/${asset}` });
    t.equal(response.statusCode, 200, asset);
    t.equal(response.headers['cache-control'], 'public, max-age=31536000, immutable', `${asset} is cached for good (its name has its hash)`);
    t.equal(response.headers['x-content-type-options'], 'nosniff');
  }
  t.equal((await fastify.inject({ url: '/assets/nope.js' })).statusCode, 404, 'nothing else is served');
});

t.test('precompressed when the browser accepts it', async (t) => {
  const fastify = await start(t, { WEB_ASSETS_DIR: built.outDir });
  const script = built.files.find((file) => /^assets\/app-.*\.js$/.test(file))!;
  const plain = await fastify.inject({ url: `/${script}` });
  t.notOk(plain.headers['content-encoding'], 'identity by default');
  const br = await fastify.inject({ url: `/${script}`, headers: { 'accept-encoding': 'gzip, deflate, br' } });
  t.equal(br.headers['content-encoding'], 'br');
  t.equal(br.headers.vary, 'accept-encoding');
  t.ok(br.rawPayload.length < plain.rawPayload.length / 2, `br ${br.rawPayload.length} of ${plain.rawPayload.length} bytes`);
  t.ok(brotliDecompressSync(br.rawPayload).equals(plain.rawPayload), 'same bytes once decompressed');
  const gzip = await fastify.inject({ url: `/${script}`, headers: { 'accept-encoding': 'gzip' } });
  t.equal(gzip.headers['content-encoding'], 'gzip');
  t.ok(gunzipSync(gzip.rawPayload).equals(plain.rawPayload));
});

t.test('/config.json says where to sign in, or that sign-in is not configured', async (t) => {
  const configured = await start(t, {
    WEB_ASSETS_DIR: built.outDir,
    ...signIn,
    AUTH_LOGOUT_URL: 'https://vod.auth.eu-west-1.amazoncognito.com/logout',
    AUTH_SCOPES: 'openid email',
  });
  t.same((await configured.inject({ url: '/config.json' })).json(), {
    auth: {
      authorizeUrl: signIn.AUTH_AUTHORIZE_URL,
      tokenUrl: signIn.AUTH_TOKEN_URL,
      clientId: signIn.AUTH_CLIENT_ID,
      scopes: 'openid email',
      logoutUrl: 'https://vod.auth.eu-west-1.amazoncognito.com/logout',
    },
  });
  const bare = await start(t, { WEB_ASSETS_DIR: built.outDir });
  t.same((await bare.inject({ url: '/config.json' })).json(), { auth: null });
});

t.test('without a build, the API still starts and / says how to build the page', async (t) => {
  const fastify = await start(t, { WEB_ASSETS_DIR: `${built.outDir}-missing` });
  const page = await fastify.inject({ url: '/' });
  t.equal(page.statusCode, 503);
  t.equal(page.headers['content-type'], 'application/problem+json; charset=utf-8');
  t.match(page.json(), { type: '/problems/page-not-built', status: 503, detail: /npm run web/ });
});

t.test('settings: defaults, and a clear refusal of half a sign-in configuration', async (t) => {
  t.match(loadWebSettings({}), { WEB_ASSETS_DIR: 'dist/web', AUTH_SCOPES: 'openid', AUTH_AUTHORIZE_URL: undefined });
  t.throws(() => loadWebSettings({ AUTH_AUTHORIZE_URL: signIn.AUTH_AUTHORIZE_URL }), {
    message: /AUTH_TOKEN_URL: required with AUTH_AUTHORIZE_URL[\s\S]*AUTH_CLIENT_ID: required with AUTH_AUTHORIZE_URL/,
  });
  t.throws(() => loadWebSettings({ ...signIn, AUTH_TOKEN_URL: 'ftp://nope' }), { message: /AUTH_TOKEN_URL/ });
  t.throws(() => loadWebSettings({ ...signIn, AUTH_SCOPES: 'email profile' }), { message: /AUTH_SCOPES: must include openid/ });
});
