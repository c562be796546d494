/**
 * The web page in a real browser (Debian's Chromium, headless, through playwright-core) against
 * the real local stack: sign in through the issuer's hosted-UI stand-in, upload a generated clip
 * through the page, watch it convert, play it with hls.js through the CloudFront stand-in, switch
 * to every rendition, and check that a visitor who is not signed in gets neither the page's video
 * nor its manifest. Screenshots go to test-artifacts/ (git-ignored).
 */
import t, { type Test } from 'tap';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { buildWebPage } from '../../deploy/web-build.ts';
import { callApi, startTestStack, uploadVideo } from '../helpers/stack.ts';
import { makeClip, makeNotAVideo, tempDir } from '../helpers/media.ts';
import { makeSource } from '../helpers/real-world-media.ts';
import { BROWSER_ARTIFACTS, launchBrowser, openPage as openBrowserPage, signIn } from '../helpers/browser.ts';

const artifacts = BROWSER_ARTIFACTS;

// The page built from the current sources into a temp dir (the stack points the page's sign-in
// at its issuer).
const webDir = await tempDir(t, 'vod-web-');
await buildWebPage({ outDir: webDir });
// Playback URLs that live one minute (the shortest allowed), so the test can show the page
// renewing one while it plays.
// Uploads above 20 MB are refused, so the page's 413 message can be seen with a small file.
const pageSettings = { WEB_ASSETS_DIR: webDir, PLAYBACK_URL_TTL_SECONDS: '60', PLAYBACK_URL_MARGIN_SECONDS: '0', MAX_UPLOAD_BYTES: '20000000' };
const stack = await startTestStack(t, { settings: pageSettings });
// 720p for the three rungs; 15 fps is enough to see it play and halves the ladder's encoding.
const clip = await makeClip({ seconds: 12, width: 1280, height: 720, audio: true, fps: 15 });

const browser = await launchBrowser(t);

const currentTime = (page: Page) => page.locator('#video').evaluate((video: HTMLVideoElement) => video.currentTime);

const openPage = (t: Test, name: string) => openBrowserPage(t, browser, name);

t.test('sign in, upload, watch every rendition; a signed-out visitor gets nothing', async (t) => {
  const { context, page, consoleErrors } = await openPage(t, 'web-page');
  const cdnRequests: string[] = [];
  page.on('request', (request) => {
    if (request.url().startsWith(stack.cdnUrl)) cdnRequests.push(request.url());
  });
  // The page's clock, to jump it forward to the renewal of the signed URL (time still flows).
  await context.clock.install();

  // Signed out: a prompt, no library, no player.
  await page.goto(stack.apiUrl);
  await page.getByRole('heading', { name: 'Sign in to watch and upload videos' }).waitFor();
  t.equal(await page.locator('#signed-in').isVisible(), false, 'nothing but the prompt when signed out');
  await page.screenshot({ path: new URL('web-page-signed-out.png', artifacts).pathname });

  // The hosted-UI stand-in: a user name, then back to the page with a code, traded with PKCE.
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${stack.issuerUrl}/oauth2/authorize?**`);
  t.match(page.url(), /code_challenge_method=S256/, 'PKCE');
  await page.getByLabel('User name').fill('alice');
  await page.screenshot({ path: new URL('web-page-sign-in.png', artifacts).pathname });
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('Signed in as alice').waitFor();
  t.notMatch(page.url(), /code=/, 'the code is gone from the address bar');

  // Files the API refuses, said in words; nothing is left behind.
  const fileInput = page.getByLabel('Choose a video or audio file');
  const problem = page.locator('#upload-problem');
  await fileInput.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('milk, eggs') });
  await problem.getByText('“notes.txt”: This is a text file (text/plain), not a video: upload a video or audio file.').waitFor();
  await fileInput.setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: Buffer.from('not really a picture') });
  await problem.getByText('“photo.png”: This is a still image (image/png), not a video: upload a video or audio file.').waitFor();
  await fileInput.setInputFiles({ name: 'empty.mp4', mimeType: 'video/mp4', buffer: Buffer.alloc(0) });
  await problem.getByText('“empty.mp4”: The file is empty (0 bytes): choose a video or audio file.').waitFor();
  await fileInput.setInputFiles({ name: 'huge.mp4', mimeType: 'video/mp4', buffer: Buffer.alloc(21_000_000) });
  await problem.getByText(/^“huge\.mp4” is too large \(21\.0 MB\)\. .*largest upload accepted is 20000000 bytes/).waitFor();
  t.pass('415, 400 and 413 are explained');

  // Uploads go slowly from here, so there is time to see the bar move, cancel, or lose the network.
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const throttle = () => cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 8_000_000 });
  await throttle();
  const barAbove = (percent: number) => page.waitForFunction((p) => (document.querySelector('#upload-bar') as HTMLProgressElement).value > p, percent);
  const cards = page.locator('#videos li');

  await fileInput.setInputFiles(clip);
  await barAbove(10);
  await page.getByRole('button', { name: 'Cancel upload' }).click();
  await page.locator('#upload-status').getByText('Upload cancelled.').waitFor();
  await page.waitForFunction(() => document.querySelectorAll('#videos li').length === 0);
  t.pass('a cancelled upload leaves no video behind');

  // Storage unreachable: the connection is reset under the PUT.
  const storage = `${stack.s3Url}/**`;
  await page.route(storage, (route) => route.abort('connectionreset'));
  await fileInput.setInputFiles(clip);
  await problem.getByText(/network connection to storage failed/).waitFor();
  await page.unroute(storage);
  await page.waitForFunction(() => document.querySelectorAll('#videos li').length === 0);
  t.pass('a lost connection is explained');
  const left = await callApi<{ items: unknown[] }>(stack, 'GET', '/videos?status=all', { token: await stack.token('alice') });
  t.same(left.body.items, [], 'neither the cancelled nor the broken upload left a video record');

  // A file that only looks like a video: accepted, uploaded, then failed with a reason.
  await fileInput.setInputFiles(await makeNotAVideo());
  const failed = cards.filter({ has: page.getByRole('heading', { name: 'holiday' }) });
  await failed.and(page.locator('[data-status="failed"]')).waitFor();
  const reason = await failed.locator('.failure').textContent();
  t.match(reason, /^Why: .*(video|read)/i, `the reason is shown: ${reason}`);

  // The real upload.
  await page.locator('#upload-bar').evaluate((bar: HTMLProgressElement) => {
    const seen: number[] = [];
    (window as unknown as { progressSeen: number[] }).progressSeen = seen;
    new MutationObserver(() => seen.push(bar.value)).observe(bar, { attributes: true, attributeFilter: ['value'] });
  });
  const uploadStarted = Date.now();
  await page.getByLabel('Choose a video or audio file').setInputFiles(clip);
  await page.waitForFunction(() => {
    const value = (document.querySelector('#upload-bar') as HTMLProgressElement).value;
    return value > 20 && value < 100;
  });
  await page.screenshot({ path: new URL('web-page-uploading.png', artifacts).pathname });
  await page.getByText(/^Uploaded “.*”/).waitFor({ timeout: 30_000 });
  const uploadSeconds = (Date.now() - uploadStarted) / 1000;
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  const progress = await page.evaluate(() => (window as unknown as { progressSeen: number[] }).progressSeen);
  t.ok(
    progress.some((value) => value > 0 && value < 100),
    `the bar moved through ${progress.join(', ')} in ${uploadSeconds} s`,
  );
  t.equal(progress.at(-1), 100, 'and ends full');
  t.same(
    progress,
    [...progress].sort((a, b) => a - b),
    'never going back',
  );
  t.match(await page.locator('#upload-numbers').textContent(), /MB of \d+(\.\d+)? MB \(100%\)/, 'bytes and percent');

  // The library follows the conversion without a reload.
  const title = path.basename(clip, '.mp4');
  const card = page.locator('#videos li', { has: page.getByRole('heading', { name: title }) });
  const statuses = new Set<string>();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = (await card.getAttribute('data-status')) ?? '';
    statuses.add(`${status} ${await card.locator('.badge').textContent()}`);
    if (status === 'ready' || status === 'failed' || Date.now() > deadline) break;
    await page.waitForTimeout(100);
  }
  t.equal(await card.getAttribute('data-status'), 'ready', `became ready via ${[...statuses].join(' → ')}`);
  t.ok(
    [...statuses].some((status) => /^processing Converting \d+%$/.test(status)),
    'showed the conversion percent',
  );
  t.equal(await card.locator('.duration').textContent(), '0:12', 'duration');
  await card.locator('img').evaluate((img: HTMLImageElement) =>
    img.complete && img.naturalWidth > 0
      ? undefined
      : new Promise((resolve, reject) => {
          img.addEventListener('load', resolve);
          img.addEventListener('error', reject);
        }),
  );
  t.equal(await card.locator('img').evaluate((img: HTMLImageElement) => img.naturalWidth), 640, 'the poster, signed like the stream');

  // Watch: hls.js through the CloudFront stand-in.
  await card.getByRole('link', { name: `Watch ${title}` }).click();
  await page.getByRole('heading', { name: title, level: 2 }).waitFor();
  await page.waitForFunction(() => (document.querySelector('#video') as HTMLVideoElement).currentTime > 3, undefined, { timeout: 20_000 });
  t.equal(await page.locator('#player-problem').textContent(), '', 'no player error');
  const manifestUrl = cdnRequests.find((url) => url.includes('/master.m3u8?'))!;
  t.ok(manifestUrl, 'the player fetched the signed manifest');

  // 50 s later on the page's clock, the one-minute playback URL is due: the page fetches a new one
  // and every later request of the player carries its signature.
  const renewal = page.waitForResponse((response) => /\/videos\/[^/]+\/playback$/.test(response.url()));
  await page.clock.fastForward('00:50');
  const renewed = (await (await renewal).json()) as { manifestUrl: string };
  const signature = (url: string) => new URL(url).searchParams.get('Signature');
  t.not(signature(renewed.manifestUrl), signature(manifestUrl), 'a new playback URL');
  const requestsBeforeRenewal = cdnRequests.length;

  const quality = page.getByLabel('Quality');
  const options = await quality.locator('option').evaluateAll((all: HTMLOptionElement[]) => all.map((option) => ({ value: option.value, text: option.text })));
  t.same(
    options.map((option) => option.text.split(' ')[0]),
    ['Auto', '720p', '540p', '360p'],
    `the menu lists every rendition: ${options.map((o) => o.text).join(' | ')}`,
  );
  for (const option of options.slice(1)) {
    const rendition = option.text.split(' ')[0]!;
    await quality.selectOption(option.value);
    await page.locator('#now-playing', { hasText: new RegExp(`^Playing ${rendition}$`) }).waitFor();
    t.pass(`switched to ${rendition}`);
    const from = await currentTime(page);
    await page.waitForFunction((t0) => (document.querySelector('#video') as HTMLVideoElement).currentTime > t0 + 0.5, from, { timeout: 10_000 });
    t.pass(`${rendition} keeps playing past ${from.toFixed(1)} s`);
  }
  await quality.selectOption('-1');
  await page.getByText(/^Playing \d+p \(automatic\)$/).waitFor();
  const afterRenewal = cdnRequests.slice(requestsBeforeRenewal);
  t.ok(afterRenewal.length > 0, `the player went on loading (${afterRenewal.length} requests)`);
  t.same(
    afterRenewal.filter((url) => signature(url) !== signature(renewed.manifestUrl)),
    [],
    'all with the new signature',
  );
  t.equal(await page.locator('#player-problem').textContent(), '', 'still no player error');
  t.same(
    consoleErrors.filter((text) => /hls\.js fatal/.test(text)),
    [],
    'no fatal hls.js error',
  );
  await page.screenshot({ path: new URL('web-page.png', artifacts).pathname, fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: new URL('web-page-phone.png', artifacts).pathname, fullPage: true });

  // A second browser context, never signed in, with a link to the video.
  const videoId = (await card.getAttribute('data-video-id'))!;
  const stranger = await browser.newContext();
  t.teardown(() => stranger.close());
  const strangerPage = await stranger.newPage();
  const strangerCdnRequests: string[] = [];
  strangerPage.on('request', (request) => {
    if (request.url().startsWith(stack.cdnUrl)) strangerCdnRequests.push(request.url());
  });
  await strangerPage.goto(`${stack.apiUrl}/#watch=${videoId}`);
  await strangerPage.getByRole('heading', { name: 'Sign in to watch and upload videos' }).waitFor();
  t.equal(await strangerPage.locator('#player').isVisible(), false, 'no player for a visitor who is not signed in');
  t.equal(await strangerPage.locator('#video').evaluate((video: HTMLVideoElement) => video.currentSrc), '', 'and no video source');
  t.same(strangerCdnRequests, [], 'the page asked the CDN for nothing');
  const playback = await strangerPage.evaluate(async (id) => (await fetch(`/videos/${id}/playback`)).status, videoId);
  t.equal(playback, 401, 'the API gives no playback URL without a token');
  const unsigned = manifestUrl.slice(0, manifestUrl.indexOf('?'));
  t.equal((await stranger.request.get(unsigned)).status(), 403, 'the CDN refuses the manifest without its signature');
  const tampered = manifestUrl.replace(/Signature=([^&])/, (_match, first: string) => `Signature=${first === 'A' ? 'B' : 'A'}`);
  t.equal((await stranger.request.get(tampered)).status(), 403, 'and with a tampered signature');

  // The owner deletes it from the player; the manifest URL the page saw stops working.
  page.once('dialog', (dialog) => void dialog.accept());
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.getByRole('button', { name: 'Delete video' }).click();
  await card.waitFor({ state: 'detached' });
  t.equal(await page.locator('#player').isVisible(), false, 'the player closes');
  t.not((await stranger.request.get(manifestUrl)).status(), 200, 'a deleted video is gone from the CDN');

  // Signing out ends the hosted UI's session too (its logout endpoint), then back to the prompt.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to watch and upload videos' }).waitFor();
  t.equal(await page.locator('#signed-in').isVisible(), false, 'signed out');
});

t.test('an audio-only upload plays as sound; a video with two languages offers both', async (t) => {
  const { page, consoleErrors } = await openPage(t, 'web-page-audio');
  const dir = await tempDir(t);
  const [podcast, bilingual] = await Promise.all([makeSource('audio-m4a', dir), makeSource('two-languages', dir)]);
  await signIn(page, stack.apiUrl, 'dave');

  // Picked on the page like any video: audio is welcome.
  await page.getByLabel('Title').fill('Podcast');
  await page.getByLabel('Choose a video or audio file').setInputFiles(podcast.file);
  const card = page.locator('#videos li', { hasText: 'Podcast' });
  await card.getByRole('link', { name: 'Watch Podcast' }).waitFor({ timeout: 60_000 });
  // Watchable from the fast start on, while the poster still says it converts: ready, it has none.
  await card.locator('[data-role="status"]', { hasText: 'Ready' }).waitFor({ timeout: 60_000 });
  await card.locator('.meta', { hasText: 'Audio only' }).waitFor();
  t.match(await card.locator('.poster').textContent(), /^♪ Audio only/, 'no picture to show');
  await card.getByRole('link', { name: 'Watch Podcast' }).click();
  await page.waitForFunction(() => (document.querySelector('#video') as HTMLVideoElement).currentTime > 2, undefined, { timeout: 20_000 });
  await page.locator('#now-playing', { hasText: 'Playing audio only' }).waitFor();
  t.equal(await page.getByLabel('Quality').isDisabled(), true, 'one quality: nothing to choose');
  t.equal(await page.locator('#audio-track-group').isVisible(), false, 'one sound track: no audio menu');
  t.equal(await page.locator('#player-problem').textContent(), '', 'it plays');

  const { videoId } = await uploadVideo(stack, await stack.token('dave'), bilingual.file, { title: 'Bilingual' });
  await page.getByRole('button', { name: 'Refresh' }).click();
  const second = page.locator(`#videos li[data-video-id="${videoId}"]`);
  await second.locator('[data-role="status"]', { hasText: 'Ready' }).waitFor({ timeout: 60_000 });
  await second.getByRole('link', { name: 'Watch Bilingual' }).click();
  await page.waitForFunction(() => (document.querySelector('#video') as HTMLVideoElement).currentTime > 0.5, undefined, { timeout: 20_000 });
  const audioMenu = page.getByLabel('Audio', { exact: true });
  await audioMenu.waitFor();
  const tracks = await audioMenu.locator('option').evaluateAll((all: HTMLOptionElement[]) => all.map((option) => option.text));
  t.same(tracks, ['English (en)', 'Commentaire (fr)'], 'both tracks, the default first');
  await audioMenu.selectOption({ label: 'Commentaire (fr)' });
  await page.waitForFunction(() => (document.querySelector('#audio-track') as HTMLSelectElement).value === '1');
  const from = await currentTime(page);
  await page.waitForFunction(
    (t0) => (document.querySelector('#video') as HTMLVideoElement).currentTime > t0 + 0.3 || (document.querySelector('#video') as HTMLVideoElement).ended,
    from,
    { timeout: 10_000 },
  );
  t.equal(await page.locator('#player-problem').textContent(), '', 'switching language keeps it playing');
  t.same(
    consoleErrors.filter((text) => /hls\.js fatal/.test(text)),
    [],
    'no fatal hls.js error',
  );
});
