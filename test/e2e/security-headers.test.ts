/**
 * Security headers in a real browser (Debian's Chromium through playwright-core) against the real
 * local stack: Swagger UI at /docs renders every operation of the OpenAPI document under its
 * Content-Security-Policy, and the web page's sign-in screen renders under the page's, with no
 * `securitypolicyviolation` event and no console error in either. The JSON API's own headers are
 * checked on a success, a problem and a 404.
 */
import t, { type Test } from 'tap';
import { readFile } from 'node:fs/promises';
import { buildWebPage } from '../../deploy/web-build.ts';
import { startTestStack } from '../helpers/stack.ts';
import { tempDir } from '../helpers/media.ts';
import { launchBrowser } from '../helpers/browser.ts';

const openapi = JSON.parse(await readFile(new URL('../../openapi/openapi.json', import.meta.url), 'utf8')) as {
  paths: Record<string, Record<string, { operationId: string }>>;
};
const operationIds = Object.values(openapi.paths).flatMap((operations) => Object.values(operations).map((operation) => operation.operationId));

const webDir = await tempDir(t, 'vod-web-');
await buildWebPage({ outDir: webDir });
const stack = await startTestStack(t, { settings: { WEB_ASSETS_DIR: webDir } });
const browser = await launchBrowser(t);

/** A page that records every CSP violation (from the first script on) and every console error. */
async function watchedPage(t: Test) {
  const context = await browser.newContext();
  t.teardown(() => context.close());
  await context.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) => {
      seen.push(`${event.effectiveDirective} blocked ${event.blockedURI || '(inline)'} in ${event.sourceFile}:${event.lineNumber}`);
    });
  });
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  const violations = () => page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);
  return { page, consoleErrors, violations };
}

t.test('Swagger UI renders every operation under its Content-Security-Policy', async (t) => {
  const { page, consoleErrors, violations } = await watchedPage(t);
  const response = await page.goto(`${stack.apiUrl}/docs`);
  const csp = response?.headers()['content-security-policy'] ?? '';
  t.match(csp, /default-src 'none'/, `/docs has a CSP: ${csp}`);
  t.notMatch(csp, /unsafe-inline|unsafe-eval/, 'no inline script or eval allowed');
  t.equal(response?.headers()['x-frame-options'], 'DENY');
  t.equal(response?.headers()['x-content-type-options'], 'nosniff');
  const operations = page.locator('.opblock');
  await page.waitForFunction((count) => document.querySelectorAll('.opblock').length === count, operationIds.length, { timeout: 30_000 });
  t.equal(await operations.count(), operationIds.length, `${operationIds.length} operations rendered`);
  for (const operationId of operationIds) {
    t.equal(await page.locator(`[id$="${operationId}"]`).count(), 1, `${operationId} is shown`);
  }
  // Opening an operation renders its schemas (models, examples): more styles and images.
  await operations.first().locator('.opblock-summary').click();
  await page.locator('.opblock-body').first().waitFor();
  t.same(await violations(), [], 'no CSP violation');
  t.same(consoleErrors, [], 'no console error');
});

t.test('the web page renders under its own Content-Security-Policy', async (t) => {
  const { page, consoleErrors, violations } = await watchedPage(t);
  const response = await page.goto(stack.apiUrl);
  t.match(response?.headers()['content-security-policy'], /script-src 'self'/, "the page's own policy, not the JSON one");
  await page.getByRole('heading', { name: 'Sign in to watch and upload videos' }).waitFor();
  t.same(await violations(), [], 'no CSP violation');
  t.same(consoleErrors, [], 'no console error');
});

t.test('JSON answers, problems and 404s carry the strict API headers', async (t) => {
  const token = await stack.token('alice');
  for (const [label, url, headers] of [
    ['a success', '/health', {}],
    ['a problem', '/videos', {}],
    ['a 404', '/nowhere', {}],
    ['an authenticated success', '/videos', { authorization: `Bearer ${token}` }],
  ] as const) {
    const response = await fetch(`${stack.apiUrl}${url}`, { headers });
    await response.arrayBuffer();
    t.equal(response.headers.get('content-security-policy'), "default-src 'none';frame-ancestors 'none';base-uri 'none';form-action 'none'", label);
    t.equal(response.headers.get('x-content-type-options'), 'nosniff', label);
    t.equal(response.headers.get('x-frame-options'), 'DENY', label);
    t.equal(response.headers.get('referrer-policy'), 'no-referrer', label);
    t.match(response.headers.get('strict-transport-security'), /max-age=\d+/, label);
  }
});
