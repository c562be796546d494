import t from 'tap';
import { gopFrames, planRenditions, SEGMENT_SECONDS, toEven } from '../../src/ladder.ts';

const sizes = (source: { width: number; height: number }) =>
  planRenditions(source).map((r) => `${r.name} ${r.width}x${r.height}`);

t.test('segments are 4 seconds long', async (t) => {
  t.equal(SEGMENT_SECONDS, 4);
});

t.test('a 1080p landscape source gets 1080p, 720p and 360p at the ladder bitrates', async (t) => {
  const plan = planRenditions({ width: 1920, height: 1080 });
  t.same(plan, [
    { name: '1080p', width: 1920, height: 1080, videoBitrate: 5_000_000, audioBitrate: 128_000 },
    { name: '720p', width: 1280, height: 720, videoBitrate: 2_800_000, audioBitrate: 128_000 },
    { name: '360p', width: 640, height: 360, videoBitrate: 800_000, audioBitrate: 128_000 },
  ]);
});

t.test('a portrait source gets its rungs by its short side and stays portrait', async (t) => {
  t.same(sizes({ width: 1080, height: 1920 }), ['1080p 1080x1920', '720p 720x1280', '360p 360x640']);
});

t.test('a rotated phone video is planned from its display size, not its coded size', async (t) => {
  // Coded 1920x1080 with a 90° display matrix; the prober passes the swapped (display) size.
  const coded = { width: 1920, height: 1080 };
  const display = { width: coded.height, height: coded.width };
  t.same(sizes(display), ['1080p 1080x1920', '720p 720x1280', '360p 360x640']);
  t.not(sizes(display)[0], sizes(coded)[0]);
});

t.test('a 4K source is not encoded above 1080p', async (t) => {
  t.same(sizes({ width: 3840, height: 2160 }), ['1080p 1920x1080', '720p 1280x720', '360p 640x360']);
});

t.test('a source between rungs is never upscaled', async (t) => {
  t.same(sizes({ width: 1280, height: 720 }), ['720p 1280x720', '360p 640x360']);
  t.same(sizes({ width: 1600, height: 900 }), ['720p 1280x720', '360p 640x360']);
});

t.test('odd dimensions are rounded to the nearest even numbers, aspect kept', async (t) => {
  t.same(sizes({ width: 641, height: 361 }), ['360p 640x360']);
  for (const r of planRenditions({ width: 1439, height: 1081 })) {
    t.equal(r.width % 2, 0, `${r.name} width is even`);
    t.equal(r.height % 2, 0, `${r.name} height is even`);
    t.ok(Math.abs(r.width / r.height - 1439 / 1081) < 0.01, `${r.name} keeps the aspect ratio`);
  }
});

t.test('a source smaller than 360p gets one rendition at its own size, named after its short side', async (t) => {
  const plan = planRenditions({ width: 320, height: 240 });
  t.equal(plan.length, 1);
  t.match(plan[0], { name: '240p', width: 320, height: 240, audioBitrate: 128_000 });
  t.ok(plan[0]!.videoBitrate < 800_000 && plan[0]!.videoBitrate >= 200_000, 'a smaller bitrate');

  t.same(sizes({ width: 179, height: 321 }), ['180p 180x322'], 'portrait and odd, made even');
});

t.test('an impossible size is rejected', async (t) => {
  t.throws(() => planRenditions({ width: 0, height: 1080 }), RangeError);
  t.throws(() => planRenditions({ width: Number.NaN, height: 1080 }), RangeError);
});

t.test('toEven rounds to the nearest even number, at least 2', async (t) => {
  t.equal(toEven(361), 362);
  t.equal(toEven(360.9), 360);
  t.equal(toEven(639.2), 640);
  t.equal(toEven(1), 2);
  t.equal(toEven(0), 2);
});

t.test('the GOP is one segment of frames at the source frame rate', async (t) => {
  t.equal(gopFrames(30), 120);
  t.equal(gopFrames(30000 / 1001), 120);
  t.equal(gopFrames(25), 100);
  t.equal(gopFrames(60), 240);
  t.equal(gopFrames(23.976), 96);
  t.throws(() => gopFrames(0), RangeError);
});
