import type { Test } from 'tap';
import { mkdir } from 'node:fs/promises';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Headless Chromium as Debian packages it (`chromium`, installed by .ci/run), for playwright-core's `chromium.launch`. */
export const CHROMIUM = '/usr/bin/chromium';

/** No GPU, no sandbox in a container, no background traffic; playwright adds a fresh profile. */
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where a failing browser subtest leaves a screenshot of the page. */
export const BROWSER_ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);

/** Debian's Chromium, headless, for a test file: closed after it; the artifacts folder made. */
export async function launchBrowser(t: Test): Promise<Browser> {
  // playwright gives every launch a fresh temporary profile (--user-data-dir) of its own.
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  t.teardown(() => browser.close());
  await mkdir(BROWSER_ARTIFACTS, { recursive: true });
  return browser;
}

/** Opens the page at `apiUrl` and signs in as `user` through the issuer's hosted-UI stand-in. */
export async function signIn(page: Page, apiUrl: string, user: string): Promise<void> {
  await page.goto(apiUrl);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('User name').fill(user);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`Signed in as ${user}`).waitFor();
}

/**
 * A fresh browser context and page for one subtest, closed after it. Console errors and uncaught
 * exceptions are collected; if the subtest fails, they are printed and what the page looked like
 * goes to test-artifacts/<name>-failure.png.
 */
export async function openPage(t: Test, browser: Browser, name: string): Promise<{ context: BrowserContext; page: Page; consoleErrors: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.teardown(() => context.close());
  const page = await context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  t.teardown(async () => {
    if (t.passing()) return;
    t.comment(`page console errors: ${JSON.stringify(consoleErrors)}`);
    await page.screenshot({ path: new URL(`${name}-failure.png`, BROWSER_ARTIFACTS).pathname, fullPage: true }).catch(() => undefined);
  });
  return { context, page, consoleErrors };
}
