/**
 * Large uploads through the web page, in a real browser against the real local stack with a low
 * multipart threshold (5 MiB parts): the page sends the file in parts, rides out a lost connection
 * without sending finished parts again, resumes after a reload from the parts storage holds (the
 * user chooses the same file again) and the video then plays, and a cancel leaves nothing stored.
 * Screenshots of failures go to test-artifacts/ (git-ignored).
 */
import t, { type Test } from 'tap';
import path from 'node:path';
import type { CDPSession, Page } from 'playwright-core';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { buildWebPage } from '../../deploy/web-build.ts';
import { createS3Client } from '../../src/app/aws-clients.ts';
import { sourceKey } from '../../src/domain/storage-layout.ts';
import { callApi, startTestStack } from '../helpers/stack.ts';
import { makeClip, padWithFreeBox, tempDir } from '../helpers/media.ts';
import { BROWSER_ARTIFACTS, launchBrowser, openPage } from '../helpers/browser.ts';

const artifacts = BROWSER_ARTIFACTS;
const MiB = 1024 * 1024;
const PART_BYTES = 5 * MiB;

const webDir = await tempDir(t, 'vod-web-');
await buildWebPage({ outDir: webDir });
// Every upload above 5 MiB goes in 5 MiB parts (S3's smallest).
const stack = await startTestStack(t, {
  settings: { WEB_ASSETS_DIR: webDir, MULTIPART_THRESHOLD_BYTES: String(PART_BYTES), MULTIPART_PART_BYTES: String(PART_BYTES) },
});
// A 4-second clip padded to 8 parts: cheap to make and to convert, long enough to interrupt.
const mediaDir = await tempDir(t, 'vod-large-');
const clip = await makeClip({ seconds: 4, width: 640, height: 360, audio: true, faststart: true, dir: mediaDir });
const FILE_BYTES = 8 * PART_BYTES - 123_456;
await padWithFreeBox(clip, FILE_BYTES);
const PART_COUNT = Math.ceil(FILE_BYTES / PART_BYTES);

const browser = await launchBrowser(t);

interface StoredParts {
  parts: Array<{ partNumber: number }>;
  storedBytes: number;
}

/** A signed-in page (a user of its own per subtest), with the part PUTs it sends to storage counted. */
async function signedInPage(t: Test, user: string) {
  const { context, page, consoleErrors } = await openPage(t, browser, `web-upload-resume-${user}`);
  /** Part numbers of the part PUTs sent, and of those storage answered 200. */
  const partsSent: number[] = [];
  const partsStored: number[] = [];
  const partNumberOf = (url: string) => Number(new URL(url).searchParams.get('partNumber'));
  const isPartPut = (method: string, url: string) => method === 'PUT' && url.startsWith(stack.s3Url) && url.includes('partNumber=');
  page.on('request', (request) => {
    if (isPartPut(request.method(), request.url())) partsSent.push(partNumberOf(request.url()));
  });
  page.on('response', (response) => {
    if (isPartPut(response.request().method(), response.url()) && response.status() === 200) partsStored.push(partNumberOf(response.url()));
  });

  await page.goto(stack.apiUrl);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${stack.issuerUrl}/oauth2/authorize?**`);
  await page.getByLabel('User name').fill(user);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`Signed in as ${user}`).waitFor();

  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  // Slow enough to interrupt half-way, fast enough for a short test.
  await network(cdp, { offline: false });
  const token = await stack.token(user);
  return { page, cdp, partsSent, partsStored, token, consoleErrors };
}

const UPLOAD_BYTES_PER_SECOND = 8_000_000;
function network(cdp: CDPSession, { offline }: { offline: boolean }) {
  return cdp.send('Network.emulateNetworkConditions', { offline, latency: 0, downloadThroughput: -1, uploadThroughput: UPLOAD_BYTES_PER_SECOND });
}

const chooseFile = (page: Page) => page.getByLabel('Choose a video or audio file').setInputFiles(clip);
const barAbove = (page: Page, percent: number) =>
  page.waitForFunction((p) => (document.querySelector('#upload-bar') as HTMLProgressElement).value > p, percent);
const uploaded = (page: Page) =>
  page
    .locator('#upload-status')
    .getByText(/^Uploaded “/)
    .waitFor({ timeout: 60_000 });
const videoIdOf = (page: Page, user: string) =>
  page.evaluate((key) => (JSON.parse(localStorage.getItem(key) ?? 'null') as { videoId: string } | null)?.videoId, `vod:unfinished-upload:${user}`);

function countBy(numbers: number[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const n of numbers) counts.set(n, (counts.get(n) ?? 0) + 1);
  return counts;
}

t.test('a lost connection pauses the upload; it goes on when the network is back, without sending finished parts again', async (t) => {
  const { page, cdp, partsStored, partsSent } = await signedInPage(t, 'alice');
  // The connection drops as the fifth part starts (the first four are stored or nearly): that part
  // fails, and so does every request until the network is back (ones under way may still finish).
  // Part 5's request is held until the test has read the speed and time left: the page shows them
  // after a second of progress and while bytes move, and on a busy machine part 5 may start sooner.
  let cut = false;
  let numbersRead = () => {};
  const numbersReadBefore = new Promise<void>((resolve) => (numbersRead = resolve));
  await page.route(`${stack.s3Url}/**`, async (route) => {
    const request = route.request();
    if (cut || request.method() !== 'PUT' || new URL(request.url()).searchParams.get('partNumber') !== '5') return route.fallback();
    cut = true;
    await numbersReadBefore;
    await network(cdp, { offline: true });
    return route.abort('internetdisconnected');
  });
  await chooseFile(page);
  // The line as it reads once the speed has settled (the first second's includes the start-up).
  const numbersLine = /^[\d.]+ MB of 41\.\d MB \(\d+%\) · [\d.]+ MB\/s · \d+:\d\d left$/;
  const shown = await page.waitForFunction((pattern) => {
    const text = document.querySelector('#upload-numbers')?.textContent ?? '';
    return new RegExp(pattern).test(text) && text;
  }, numbersLine.source);
  t.match(await shown.jsonValue(), numbersLine, 'bytes, percent, speed and time left');
  numbersRead();
  await page.locator('#upload-status').getByText('Connection lost — retrying…').waitFor();
  await page.waitForTimeout(2000);
  t.equal(await page.locator('#upload-status').textContent(), 'Connection lost — retrying…', 'said while the connection is down');
  const storedWhileOffline = partsStored.length;
  const barWhileOffline = await page.locator('#upload-bar').evaluate((bar: HTMLProgressElement) => bar.value);
  await page.screenshot({ path: new URL('web-upload-offline.png', artifacts).pathname });
  await network(cdp, { offline: false });
  await uploaded(page);

  t.ok(
    storedWhileOffline > 0 && storedWhileOffline < PART_COUNT,
    `${storedWhileOffline} of ${PART_COUNT} parts were stored when the connection dropped (bar at ${barWhileOffline}%)`,
  );
  t.same(
    [...countBy(partsStored).entries()].sort(([a], [b]) => a - b),
    Array.from({ length: PART_COUNT }, (_, i) => [i + 1, 1]),
    'every part stored exactly once',
  );
  t.ok(partsSent.length > PART_COUNT, `the parts cut off were sent again (${partsSent.length} PUTs for ${PART_COUNT} parts)`);
  t.equal(await page.locator('#upload-bar').evaluate((bar: HTMLProgressElement) => bar.value), 100);
  t.equal(await videoIdOf(page, 'alice'), undefined, 'nothing left to resume');
});

t.test('after a reload, choosing the same file resumes from the stored parts; the video then plays', async (t) => {
  const { page, partsStored, partsSent, token } = await signedInPage(t, 'bob');
  await chooseFile(page);
  // Parts go four at a time, so the first ones are stored together, well after the bar moved.
  while (partsStored.length < 2) await page.waitForTimeout(50);
  const videoId = (await videoIdOf(page, 'bob'))!;
  t.ok(videoId, 'the unfinished upload is remembered');
  await page.reload();

  await page.getByText(/^Unfinished upload of “.*\.mp4” \(\d+% stored\): choose the same file to resume, or discard it\.$/).waitFor();
  const before = await callApi<StoredParts>(stack, 'GET', `/uploads/${videoId}/parts`, { token });
  const storedBefore = before.body.parts.map((part) => part.partNumber);
  t.ok(storedBefore.length >= 2, `storage holds parts ${storedBefore.join(', ')} before resuming`);
  t.match(await page.locator('#upload-resume-text').textContent(), `(${Math.floor((before.body.storedBytes / FILE_BYTES) * 100)}% stored)`);
  await page.screenshot({ path: new URL('web-upload-resume-offer.png', artifacts).pathname });

  const sentBeforeResume = partsSent.length;
  const storedBeforeResume = partsStored.length;
  await chooseFile(page);
  await uploaded(page);
  const sentAfter = partsSent.slice(sentBeforeResume);
  t.same(
    sentAfter.filter((n) => storedBefore.includes(n)),
    [],
    `no stored part sent again (sent ${[...new Set(sentAfter)].sort((a, b) => a - b).join(', ')})`,
  );
  t.same(
    [...new Set(partsStored.slice(storedBeforeResume))].sort((a, b) => a - b),
    Array.from({ length: PART_COUNT }, (_, i) => i + 1).filter((n) => !storedBefore.includes(n)),
    'exactly the missing parts were stored',
  );
  t.equal(await page.locator('#upload-resume').isVisible(), false, 'the offer is gone');

  const title = path.basename(clip, '.mp4');
  // By its id: alice's upload of the same file has the same title and, once ready, shows here too.
  const card = page.locator(`#videos li[data-video-id="${videoId}"]`);
  await card.and(page.locator('[data-status="ready"]')).waitFor({ timeout: 90_000 });
  t.equal(await card.locator('.duration').textContent(), '0:04', 'the padding is not video');
  await card.getByRole('link', { name: `Watch ${title}` }).click();
  await page.waitForFunction(() => (document.querySelector('#video') as HTMLVideoElement).currentTime > 1, undefined, { timeout: 20_000 });
  t.equal(await page.locator('#player-problem').textContent(), '', 'it plays');
});

t.test('cancel aborts the upload: no video, no parts, no multipart upload left in storage', async (t) => {
  const { page, token } = await signedInPage(t, 'carol');
  const deletes: string[] = [];
  page.on('response', (response) => {
    if (response.request().method() === 'DELETE') deletes.push(`${new URL(response.url()).pathname} ${response.status()}`);
  });
  await chooseFile(page);
  await barAbove(page, 20);
  const videoId = (await videoIdOf(page, 'carol'))!;
  await page.getByRole('button', { name: 'Cancel upload' }).click();
  await page.locator('#upload-status').getByText('Upload cancelled.').waitFor();

  t.same(deletes, [`/uploads/${videoId} 204`], 'DELETE /uploads/{videoId}, once');
  t.equal((await callApi(stack, 'GET', `/uploads/${videoId}/parts`, { token })).status, 404, 'no upload to resume');
  t.equal((await callApi(stack, 'GET', `/videos/${videoId}`, { token })).status, 404, 'no video');
  const s3 = await createS3Client(stack.config);
  const listed = await s3.send(new ListMultipartUploadsCommand({ Bucket: stack.config.BUCKET_NAME, Prefix: sourceKey(videoId) }));
  t.same(listed.Uploads ?? [], [], 'no multipart upload in storage');
  t.equal(await videoIdOf(page, 'carol'), undefined, 'nothing left to resume');
  await page.reload();
  await page.getByText('Signed in as carol').waitFor();
  t.equal(await page.locator('#upload-resume').isVisible(), false, 'no offer after a reload');
});
