/**
 * The page of an owner who watches a video while it converts, in a real browser (Debian's
 * Chromium, headless, through playwright-core) against the real local stack: the player starts on
 * the fast start's first rendition and picks up the ladder's renditions when they land, from
 * where it was.
 *
 * HEVC is encoded, not packaged: the fast start publishes its smallest rendition first, while the
 * ladder encodes (15 fps keeps that encode ahead of real time on a busy machine). The stack paces
 * the worker at 2x real time, as MediaConvert would be: on a fast machine an unpaced ladder is
 * done before the page has shown the video converting. How late the ladder lands depends on the
 * machine's load (other test files' ffmpeg beside this one's: on a loaded 2-core machine a 60 s
 * clip's ladder took over 110 s), so the viewer watches at PLAYBACK_RATE: the clip lasts longer
 * than the test waits for the ladder, and the player is still mid-video when it lands, however
 * busy the machine. Its own file: its waits alone approach the runner's time for one file.
 */
import t from 'tap';
import { buildWebPage } from '../../deploy/web-build.ts';
import { startTestStack, uploadVideo } from '../helpers/stack.ts';
import { makeClip, tempDir } from '../helpers/media.ts';
import { launchBrowser, openPage, signIn } from '../helpers/browser.ts';

const SECONDS = 40;
/** The viewer's speed: the clip lasts 160 s, more than the ladder is waited for (and then 20 s). */
const PLAYBACK_RATE = 0.25;
const LADDER_WAIT_MS = 120_000;

const webDir = await tempDir(t, 'vod-web-');
await buildWebPage({ outDir: webDir });
const stack = await startTestStack(t, { settings: { WEB_ASSETS_DIR: webDir }, transcodeSpeedLimit: 2 });
const hevc = await makeClip({ seconds: SECONDS, width: 1280, height: 720, audio: true, fps: 15, videoCodec: 'hevc' });
const browser = await launchBrowser(t);

t.test('the owner watches a video while it converts, and the player picks up renditions as they finish', async (t) => {
  const { page, consoleErrors } = await openPage(t, browser, 'web-page-converting');
  await signIn(page, stack.apiUrl, 'carol');

  const { videoId } = await uploadVideo(stack, await stack.token('carol'), hevc, { title: 'Converting' });
  await page.getByRole('button', { name: 'Refresh' }).click();
  const card = page.locator(`#videos li[data-video-id="${videoId}"]`);
  await card.getByRole('link', { name: 'Watch Converting' }).waitFor({ timeout: 60_000 });
  t.equal(await card.getAttribute('data-status'), 'processing', 'watchable while still converting');
  // The player's position over time, and when its menu changes: to see where it resumes.
  await page.evaluate((rate) => {
    const trace: Array<[string, number]> = [];
    (window as unknown as { trace: typeof trace }).trace = trace;
    const video = document.querySelector('#video') as HTMLVideoElement;
    // Loading a source resets the rate to the default one: both, so a reload keeps it.
    video.defaultPlaybackRate = rate;
    video.playbackRate = rate;
    video.addEventListener('timeupdate', () => trace.push(['position', video.currentTime]));
    new MutationObserver(() => trace.push(['options', document.querySelectorAll('#quality option').length])).observe(document.querySelector('#quality')!, {
      childList: true,
    });
  }, PLAYBACK_RATE);
  t.teardown(async () => {
    if (t.passing()) return;
    const state = await page
      .evaluate(() => {
        const video = document.querySelector('#video') as HTMLVideoElement;
        const trace = (window as unknown as { trace: Array<[string, number]> }).trace;
        return { position: video.currentTime, duration: video.duration, ended: video.ended, paused: video.paused, trace: trace.slice(-40) };
      })
      .catch((error: Error) => error.message);
    t.comment(`the player when it failed: ${JSON.stringify(state)}`);
  });
  await card.getByRole('link', { name: 'Watch Converting' }).click();
  await page.waitForFunction(() => (document.querySelector('#video') as HTMLVideoElement).currentTime > 1, undefined, { timeout: 30_000 });
  const quality = page.getByLabel('Quality');
  const menu = () => quality.locator('option').evaluateAll((all: HTMLOptionElement[]) => all.map((option) => option.text.split(' ')[0]));
  const playing = Date.now();
  const atFirst = await menu();
  t.same(atFirst, ['Auto', '360p'], 'it plays its first rendition');

  await page.waitForFunction(() => document.querySelectorAll('#quality option').length === 4, undefined, { timeout: LADDER_WAIT_MS });
  t.same(await menu(), ['Auto', '720p', '540p', '360p'], 'the menu gains the new renditions without a reload');
  t.comment(`the ladder's renditions listed ${((Date.now() - playing) / 1000).toFixed(1)} s after the player started`);
  const player = await page.evaluate(() => {
    const video = document.querySelector('#video') as HTMLVideoElement;
    return { rate: video.playbackRate, ended: video.ended };
  });
  t.ok(player.rate === PLAYBACK_RATE && !player.ended, `still watching, at ${player.rate}x, when the ladder lands`);
  // Playing again: positions reported after the reload, moving on by a second.
  await page.waitForFunction(
    () => {
      const trace = (window as unknown as { trace: Array<[string, number]> }).trace;
      const reload = trace.findIndex(([kind, value]) => kind === 'options' && value === 4);
      const positions = trace
        .slice(reload)
        .filter(([kind, value]) => kind === 'position' && value > 0.1)
        .map(([, value]) => value);
      return positions.length >= 2 && positions.at(-1)! > positions[0]! + 1;
    },
    undefined,
    { timeout: 20_000 },
  );
  const trace = await page.evaluate(() => (window as unknown as { trace: Array<[string, number]> }).trace);
  const reload = trace.findIndex(([kind, value]) => kind === 'options' && value === 4);
  const before =
    trace
      .slice(0, reload)
      .filter(([kind]) => kind === 'position')
      .at(-1)?.[1] ?? 0;
  // Detaching the media element reads 0 for a moment; the first real position comes next.
  const after = trace.slice(reload).find(([kind, value]) => kind === 'position' && value > 0.1)?.[1] ?? 0;
  t.ok(before > 1 && after >= before - 0.5, `playback goes on from where it was (${before.toFixed(2)} s, then ${after.toFixed(2)} s)`, {
    trace: trace.slice(Math.max(0, reload - 3), reload + 12),
  });
  t.equal(await page.locator('#player-problem').textContent(), '', 'no player error');
  t.same(
    consoleErrors.filter((text) => /hls\.js fatal/.test(text)),
    [],
    'no fatal hls.js error',
  );
});
