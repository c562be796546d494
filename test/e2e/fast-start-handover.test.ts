/**
 * Fast start's hand-over in a real browser (issue 13): a viewer who started on the packaged
 * rendition while the video was processing keeps playing to the end when the full ladder replaces
 * the master at completion. The worker is slowed, so the ladder lands while the player is
 * mid-video. Two players: hls.js as any third-party player runs it (it loads the master once, as a
 * VOD player does: the fast-start rendition it started on must outlive the switch), and the
 * service's own page, which reloads the master at the same position when the API lists more
 * renditions. Debian's Chromium through playwright-core; the real local stack; no timing
 * assertions beyond generous timeouts (the bench measures times).
 */
import t, { type Test } from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import type HlsJs from 'hls.js';
import { buildWebPage } from '../../deploy/web-build.ts';
import type { Playback } from '../../src/schemas/playback.ts';
import type { Video } from '../../src/schemas/video.ts';
import { callApi, startTestStack, uploadVideo, waitForStatus } from '../helpers/stack.ts';
import { makeClip, tempDir } from '../helpers/media.ts';
import { launchBrowser, openPage, signIn } from '../helpers/browser.ts';

const HLS_SCRIPT = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');

const webDir = await tempDir(t, 'vod-web-');
await buildWebPage({ outDir: webDir });
const stack = await startTestStack(t, { settings: { WEB_ASSETS_DIR: webDir }, transcodeSpeedLimit: 8 });

// Within the ladder's contract for 720p (a keyframe every 2 s, 2 Mbit/s), so it is packaged as
// its top rendition. The worker packages the top rendition, then encodes the two below it, each
// pass reading the 30 s source at most eight times real time: the ladder completes at least 8 s
// after the upload, when a viewer who started as soon as it was playable has begun. Encoding is
// what a busy machine slows down (other tests' ffmpeg beside this one's), moving the hand-over
// later in the video: 10 fps keeps it cheap, and the page's viewer watches at PAGE_PLAYBACK_RATE,
// so that it stays mid-video there too (on a loaded 2-core machine the ladder once landed 60 s
// after the upload, when a viewer at full speed had reached the end).
const SECONDS = 30;
/** The clip lasts 100 s of the page viewer's time. */
const PAGE_PLAYBACK_RATE = 0.3;
const clip = await makeClip({ seconds: SECONDS, width: 1280, height: 720, audio: true, fps: 10, keyframeSeconds: 2, videoBitrate: 2_000_000 });

// A third party's page on an origin of its own (another port), without a Content-Security-Policy
// (the API's /health and /docs forbid inline scripts, so hls.js cannot be injected there): the CDN
// answers its requests by the distribution's CORS policy, as it would any site's.
const thirdParty = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  response.end('<!doctype html><title>Someone else’s player</title><video muted playsinline></video>');
});
await new Promise<void>((resolve) => thirdParty.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => thirdParty.close(() => resolve())));
const thirdPartyUrl = `http://127.0.0.1:${(thirdParty.address() as AddressInfo).port}/`;

const browser = await launchBrowser(t);

/** What a player did, as its media element and hls.js told it. */
interface PlayerTrace {
  /** [event, ms since the trace began, currentTime]. */
  events: Array<[string, number, number]>;
  errors: Array<{ type: string; details: string; fatal: boolean; url?: string; reason?: string }>;
  levels: Array<{ url: string; width: number; height: number }>;
}

/** Traces the page's `<video>`: its playback events and the element's own error. Sets its speed. */
function traceMedia(page: Page, rate = 1): Promise<void> {
  return page.evaluate((rate) => {
    const trace: PlayerTrace = { events: [], errors: [], levels: [] };
    (window as unknown as { trace: PlayerTrace }).trace = trace;
    const video = document.querySelector('video')!;
    // Loading a source resets the rate to the default one: both, so a reload keeps it.
    video.defaultPlaybackRate = rate;
    video.playbackRate = rate;
    const started = performance.now();
    for (const name of ['playing', 'waiting', 'seeking', 'ended', 'error', 'emptied', 'timeupdate']) {
      video.addEventListener(name, () => trace.events.push([name, performance.now() - started, video.currentTime]));
    }
  }, rate);
}

const traceOf = (page: Page) => page.evaluate(() => (window as unknown as { trace: PlayerTrace }).trace);

const mediaState = (page: Page) =>
  page.evaluate(() => {
    const video = document.querySelector('video')!;
    return { currentTime: video.currentTime, duration: video.duration, ended: video.ended, paused: video.paused, error: video.error?.message ?? null };
  });

/**
 * The longest the player waited for data once it had started playing: from each `waiting` to the
 * next `playing` (or to `now` when it never came).
 */
function longestStallMs(events: PlayerTrace['events'], now: number): number {
  let longest = 0;
  let startedPlaying = false;
  let waitingSince: number | undefined;
  for (const [name, at] of events) {
    if (name === 'playing') {
      if (startedPlaying && waitingSince !== undefined) longest = Math.max(longest, at - waitingSince);
      startedPlaying = true;
      waitingSince = undefined;
    } else if (name === 'waiting' && startedPlaying) waitingSince ??= at;
    else if (name === 'ended' && waitingSince !== undefined) {
      longest = Math.max(longest, at - waitingSince);
      waitingSince = undefined;
    }
  }
  return waitingSince === undefined ? longest : Math.max(longest, now - waitingSince);
}

interface CdnRequest {
  /** Relative to the video's folder: `master.m3u8`, `fast-start/720p/segment_00000.ts`... */
  path: string;
  /** When the test heard of it. */
  at: number;
  status?: number;
}

/** The CDN requests of a page for one video, and the status of each answer. */
function recordCdnRequests(page: Page, videoId: string): CdnRequest[] {
  const requests: CdnRequest[] = [];
  const seen = new Map<object, CdnRequest>();
  const marker = `/${videoId}/`;
  page.on('request', (request) => {
    const { pathname } = new URL(request.url());
    if (!request.url().startsWith(stack.cdnUrl) || !pathname.includes(marker)) return;
    const entry = { path: pathname.slice(pathname.indexOf(marker) + marker.length), at: Date.now() };
    seen.set(request, entry);
    requests.push(entry);
  });
  page.on('response', (response) => {
    const entry = seen.get(response.request());
    if (entry) entry.status = response.status();
  });
  return requests;
}

const paths = (requests: CdnRequest[]) => requests.map((request) => request.path);

/** For the log: each request, its status, and when, in seconds since `since`. */
const listed = (requests: CdnRequest[], since: number) =>
  requests.map((request) => `${request.path} ${request.status ?? '-'} at ${((request.at - since) / 1000).toFixed(1)} s`).join(', ');

/** Uploads the clip and waits until the owner can watch it while it is still processing. */
async function uploadUntilPlayable(t: Test, token: string, title: string): Promise<{ videoId: string; uploaded: number }> {
  const { videoId, putStatus } = await uploadVideo(stack, token, clip, { title });
  t.equal(putStatus, 200, 'uploaded');
  const uploaded = Date.now();
  const deadline = uploaded + 60_000;
  let video: Video;
  for (;;) {
    ({ body: video } = await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token }));
    if (video.playable || video.status === 'ready' || video.status === 'failed' || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.equal(video.status, 'processing', 'playable while still processing');
  t.ok(video.playable, 'playable');
  t.same(
    video.renditions?.map((r) => r.name),
    ['720p'],
    'with its packaged top rendition',
  );
  t.comment(`${title}: playable ${((Date.now() - uploaded) / 1000).toFixed(1)} s after the upload`);
  return { videoId, uploaded };
}

async function playbackUrl(token: string, videoId: string): Promise<string> {
  const playback = await callApi<Playback>(stack, 'GET', `/videos/${videoId}/playback`, { token });
  if (playback.status !== 200) throw new Error(`GET /videos/${videoId}/playback answered ${playback.status}`);
  return playback.body.manifestUrl;
}

/** A third party's page with hls.js, ready to play. */
async function openThirdPartyPage(page: Page): Promise<void> {
  await page.goto(thirdPartyUrl);
  await page.addScriptTag({ path: HLS_SCRIPT });
  await traceMedia(page);
}

/** Plays `manifestUrl` with hls.js on a third party's page, as hls.js's documentation shows it. */
function playWithHlsJs(page: Page, manifestUrl: string): Promise<void> {
  return page.evaluate((url) => {
    const Hls = (window as unknown as { Hls: typeof HlsJs }).Hls;
    const trace = (window as unknown as { trace: PlayerTrace }).trace;
    const video = document.querySelector('video')!;
    // A short buffer ahead (6 s rather than hls.js's 30), as players on small devices keep: most of
    // the video is fetched after the ladder lands, not all of it before.
    const hls = new Hls({ maxBufferLength: 6, maxMaxBufferLength: 6 });
    hls.on(Hls.Events.ERROR, (_event, data) => {
      trace.errors.push({
        type: data.type,
        details: data.details,
        fatal: data.fatal,
        ...(data.frag ? { url: data.frag.url } : data.url ? { url: data.url } : {}),
        ...(data.reason ? { reason: data.reason } : {}),
      });
    });
    hls.on(Hls.Events.MANIFEST_PARSED, (_event, data) => {
      trace.levels = data.levels.map((level) => ({ url: level.url[0] ?? '', width: level.width, height: level.height }));
      void video.play();
    });
    hls.loadSource(url);
    hls.attachMedia(video);
  }, manifestUrl);
}

t.test('a bare hls.js player that started on the packaged rendition plays it to the end when the ladder replaces the master', async (t) => {
  const token = await stack.token('frank');
  const { page } = await openPage(t, browser, 'fast-start-handover-hlsjs');
  await openThirdPartyPage(page);
  const { videoId, uploaded } = await uploadUntilPlayable(t, token, 'Hand-over');
  const requests = recordCdnRequests(page, videoId);
  await playWithHlsJs(page, await playbackUrl(token, videoId));
  await page.waitForFunction(() => document.querySelector('video')!.currentTime > 2, undefined, { timeout: 30_000 });
  t.comment(`playing ${((Date.now() - uploaded) / 1000).toFixed(1)} s after the upload`);
  // The viewer pauses until the ladder has landed: however long a busy machine makes the ladder
  // take, the player is then mid-video with most of the rendition still to fetch (its buffer
  // holds 6 s ahead), and goes on with the master it loaded before the switch.
  await page.evaluate(() => document.querySelector('video')!.pause());

  const { video: ready } = await waitForStatus(stack, token, videoId, ['ready', 'failed'], 120_000);
  const readyAt = Date.now();
  const atReady = await mediaState(page);
  t.equal(ready.status, 'ready', 'the job completed', { error: ready.error });
  const master = await (await fetch(await playbackUrl(token, videoId))).text();
  t.ok(master.includes('\n720p/index.m3u8?') && !master.includes('fast-start/'), 'the master is the ladder from then on', { master });
  t.same(
    ready.renditions?.map((r) => r.name),
    ['720p', '540p', '360p'],
    'the ladder is listed',
  );
  t.comment(
    `ready ${((Date.now() - uploaded) / 1000).toFixed(1)} s after the upload, the player at ${atReady.currentTime.toFixed(1)} s of ${atReady.duration}`,
  );
  t.ok(atReady.currentTime > 0 && atReady.currentTime < atReady.duration && !atReady.ended, 'the ladder landed while the player was mid-video', atReady);
  await page.evaluate(() => document.querySelector('video')!.play());

  await page.waitForFunction(
    () => {
      const trace = (window as unknown as { trace: PlayerTrace }).trace;
      return document.querySelector('video')!.ended || document.querySelector('video')!.error !== null || trace.errors.some((error) => error.fatal);
    },
    undefined,
    { timeout: 120_000 },
  );
  const atEnd = await mediaState(page);
  const trace = await traceOf(page);
  const now = await page.evaluate(() => performance.now());
  t.comment(`ended ${((Date.now() - uploaded) / 1000).toFixed(1)} s after the upload; requests: ${listed(requests, uploaded)}`);
  t.same(
    trace.errors.filter((error) => error.fatal),
    [],
    'no fatal hls.js error',
  );
  t.equal(atEnd.error, null, 'no media error');
  t.ok(atEnd.ended, 'played to the end', atEnd);
  t.ok(Math.abs(atEnd.duration - SECONDS) < 0.5 && atEnd.currentTime > SECONDS - 0.5, `all ${SECONDS} s of it`, atEnd);
  t.same(
    trace.levels.map((level) => new URL(level.url).pathname.split(`/${videoId}/`)[1]),
    ['fast-start/720p/index.m3u8'],
    'the master it loaded listed the fast-start rendition',
  );
  t.same(
    paths(requests).filter((path) => path === 'master.m3u8'),
    ['master.m3u8'],
    'it loaded the master once, as a VOD player does',
  );
  t.same(
    paths(requests).filter((path) => path !== 'master.m3u8' && !path.startsWith('fast-start/720p/')),
    [],
    'every playlist and segment it fetched was the fast-start rendition',
  );
  t.same(
    requests.filter((request) => request.status !== 200),
    [],
    'every one answered 200',
  );
  const afterReady = requests.filter((request) => request.at > readyAt && request.path.endsWith('.ts'));
  t.ok(afterReady.length >= 1, `segments fetched after the ladder took over: ${listed(afterReady, uploaded)}`);
  t.same(
    paths(requests).filter((path) => path.endsWith('.ts')),
    // A segment from each 4 s (at the source's keyframes, every 2 s) to the next, the last one shorter.
    Array.from({ length: Math.ceil(SECONDS / 4) }, (_, i) => `fast-start/720p/segment_${String(i).padStart(5, '0')}.ts`),
    'every segment of the rendition, each once',
  );
  const stall = longestStallMs(trace.events, now);
  t.ok(stall < 5000, `no stall longer than a few seconds (longest ${Math.round(stall)} ms)`, {
    events: trace.events.filter(([name]) => name !== 'timeupdate'),
  });
  // At the start hls.js seeks over the gap before the first buffered frame (from 0 to 0.12 s): the
  // ladder's 720p, packaged the same way, starts at the same timestamps. Anything else, such as a
  // segment refused or missing after the switch, would be an error here even if retried.
  const startGap = (error: PlayerTrace['errors'][number]) =>
    error.details === 'bufferSeekOverHole' && /^fragment loaded with buffer holes, seeking from 0 to 0\.\d+$/.test(error.reason ?? '');
  t.comment(`hls.js errors: ${JSON.stringify(trace.errors.map(({ url, ...error }) => ({ ...error, url: url?.split('?')[0] })))}`);
  t.same(
    trace.errors.filter((error) => !startGap(error)),
    [],
    'no other error, not even a recovered one',
  );

  // A viewer who comes afterwards gets the ladder.
  const { page: later } = await openPage(t, browser, 'fast-start-handover-later');
  const laterRequests = recordCdnRequests(later, videoId);
  await openThirdPartyPage(later);
  await playWithHlsJs(later, await playbackUrl(token, videoId));
  await later.waitForFunction(() => document.querySelector('video')!.currentTime > 2, undefined, { timeout: 30_000 });
  const laterTrace = await traceOf(later);
  t.same(
    laterTrace.levels
      .map((level) => [new URL(level.url).pathname.split(`/${videoId}/`)[1], level.width, level.height])
      // hls.js orders its levels by bitrate, lowest first.
      .reverse(),
    [
      ['720p/index.m3u8', 1280, 720],
      ['540p/index.m3u8', 960, 540],
      ['360p/index.m3u8', 640, 360],
    ],
    'a new player gets the ladder master',
  );
  t.same(
    paths(laterRequests).filter((path) => path.startsWith('fast-start/')),
    [],
    'and nothing of the fast-start folder',
  );
  t.same(
    laterTrace.errors.filter((error) => error.fatal),
    [],
    'and plays its first seconds without a fatal error',
  );
});

t.test('the page player of the owner watching while it converts reloads onto the ladder and plays to the end', async (t) => {
  const { page, consoleErrors } = await openPage(t, browser, 'fast-start-handover-page');
  await signIn(page, stack.apiUrl, 'grace');

  const token = await stack.token('grace');
  const { videoId, uploaded } = await uploadUntilPlayable(t, token, 'Page hand-over');
  const requests = recordCdnRequests(page, videoId);
  await page.getByRole('button', { name: 'Refresh' }).click();
  const card = page.locator(`#videos li[data-video-id="${videoId}"]`);
  await card.getByRole('link', { name: 'Watch Page hand-over' }).waitFor({ timeout: 30_000 });
  await traceMedia(page, PAGE_PLAYBACK_RATE);
  // When the quality menu changes: the reload onto the ladder.
  await page.evaluate(() => {
    const trace = (window as unknown as { trace: PlayerTrace }).trace;
    const video = document.querySelector('video')!;
    const started = performance.now();
    new MutationObserver(() =>
      trace.events.push([`options ${document.querySelectorAll('#quality option').length}`, performance.now() - started, video.currentTime]),
    ).observe(document.querySelector('#quality')!, { childList: true });
  });
  await card.getByRole('link', { name: 'Watch Page hand-over' }).click();
  await page.waitForFunction(() => document.querySelector('video')!.currentTime > 0.5, undefined, { timeout: 30_000 });
  const quality = page.getByLabel('Quality');
  const menu = () => quality.locator('option').evaluateAll((all: HTMLOptionElement[]) => all.map((option) => option.text.split(' ')[0]));
  t.same(await menu(), ['Auto', '720p'], 'it plays the packaged rendition');
  t.comment(`playing ${((Date.now() - uploaded) / 1000).toFixed(1)} s after the upload`);

  const { video: ready } = await waitForStatus(stack, token, videoId, ['ready', 'failed'], 120_000);
  const atReady = await mediaState(page);
  t.equal(ready.status, 'ready', 'the job completed', { error: ready.error });
  t.comment(
    `ready ${((Date.now() - uploaded) / 1000).toFixed(1)} s after the upload, the player at ${atReady.currentTime.toFixed(1)} s of ${atReady.duration}`,
  );
  t.ok(atReady.currentTime > 0 && atReady.currentTime < atReady.duration && !atReady.ended, 'the ladder landed while the player was mid-video', atReady);

  await page.waitForFunction(() => document.querySelectorAll('#quality option').length === 4, undefined, { timeout: 30_000 });
  t.same(await menu(), ['Auto', '720p', '540p', '360p'], 'the player reloaded the master with the ladder');
  await page.waitForFunction(() => document.querySelector('video')!.ended || document.querySelector('#player-problem')!.textContent !== '', undefined, {
    timeout: 150_000,
  });
  const atEnd = await mediaState(page);
  const trace = await traceOf(page);
  const now = await page.evaluate(() => performance.now());
  t.comment(`ended ${((Date.now() - uploaded) / 1000).toFixed(1)} s after the upload; requests: ${listed(requests, uploaded)}`);
  t.equal(await page.locator('#player-problem').textContent(), '', 'no player error');
  t.same(
    consoleErrors.filter((text) => /hls\.js fatal/.test(text)),
    [],
    'no fatal hls.js error',
  );
  t.ok(atEnd.ended && atEnd.currentTime > SECONDS - 0.5, 'played to the end', atEnd);
  const reload = trace.events.findIndex(([name]) => name === 'options 4');
  // Detaching the media element reads 0 for a moment: the last real position before, the first after.
  const before = trace.events.slice(0, reload).findLast(([name, , position]) => name === 'timeupdate' && position > 0.1)?.[2] ?? 0;
  const resumed = trace.events.slice(reload).find(([name, , position]) => name === 'timeupdate' && position > 0.1)?.[2] ?? 0;
  t.ok(reload > 0 && before > 1 && resumed >= before - 0.5, `and went on from where it was (${before.toFixed(1)} s, then ${resumed.toFixed(1)} s)`, {
    events: trace.events.slice(Math.max(0, reload - 3), reload + 12),
  });
  // Its requests: the fast-start rendition, then, from the second master on, the ladder only.
  t.same(
    requests.filter((request) => request.status !== 200),
    [],
    'every request answered 200',
  );
  const streams = paths(requests).filter((path) => path.endsWith('.m3u8') || path.endsWith('.ts'));
  const second = streams.indexOf('master.m3u8', 1);
  t.ok(
    streams.slice(1, second).every((path) => path.startsWith('fast-start/720p/')),
    'it started on the fast-start rendition',
  );
  t.ok(second > 0, 'it loaded the master again');
  const fromLadder = streams.slice(second + 1);
  t.ok(
    fromLadder.some((path) => path.endsWith('.ts')),
    'and fetched segments of the ladder',
  );
  t.same(
    fromLadder.filter((path) => !/^(720p|540p|360p)\//.test(path)),
    [],
    'and nothing else',
  );
  const stall = longestStallMs(trace.events, now);
  t.ok(stall < 5000, `no stall longer than a few seconds (longest ${Math.round(stall)} ms)`, {
    events: trace.events.filter(([name]) => name !== 'timeupdate'),
  });
});
