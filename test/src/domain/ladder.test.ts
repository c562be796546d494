import t from 'tap';
import {
  gopFrames,
  LADDER,
  outputFrameRate,
  peakBandwidthBudget,
  planRenditions,
  SEGMENT_SECONDS,
  stereoDownmix,
  toEven,
  videoBitrateFor,
} from '../../../src/domain/ladder.ts';

const sizes = (source: { width: number; height: number }) => planRenditions(source).map((r) => `${r.name} ${r.width}x${r.height}`);

t.test('segments are 4 seconds long', async (t) => {
  t.equal(SEGMENT_SECONDS, 4);
});

t.test('a 1080p landscape source gets 1080p, 720p, 540p and 360p at the ladder bitrates', async (t) => {
  const plan = planRenditions({ width: 1920, height: 1080 });
  t.same(plan, [
    { name: '1080p', width: 1920, height: 1080, videoBitrate: 5_000_000, audioBitrate: 128_000 },
    { name: '720p', width: 1280, height: 720, videoBitrate: 2_800_000, audioBitrate: 128_000 },
    { name: '540p', width: 960, height: 540, videoBitrate: 1_600_000, audioBitrate: 128_000 },
    { name: '360p', width: 640, height: 360, videoBitrate: 800_000, audioBitrate: 128_000 },
  ]);
});

t.test('neighbouring rungs are at most about twice apart in bitrate', async (t) => {
  for (let i = 1; i < LADDER.length; i++) {
    t.ok(LADDER[i - 1]!.videoBitrate / LADDER[i]!.videoBitrate <= 2, `${LADDER[i - 1]!.name} / ${LADDER[i]!.name}`);
  }
});

t.test('a portrait source gets its rungs by its short side and stays portrait', async (t) => {
  t.same(sizes({ width: 1080, height: 1920 }), ['1080p 1080x1920', '720p 720x1280', '540p 540x960', '360p 360x640']);
});

t.test('a 4K source is not encoded above 1080p', async (t) => {
  t.same(sizes({ width: 3840, height: 2160 }), ['1080p 1920x1080', '720p 1280x720', '540p 960x540', '360p 640x360']);
});

t.test('every source keeps its resolution class: SD and in-between sizes get a rendition at their own size', async (t) => {
  t.same(sizes({ width: 854, height: 480 }), ['480p 854x480', '360p 640x360'], 'a 16:9 DVD (480 lines) is not cut to 360p');
  t.same(sizes({ width: 640, height: 480 }), ['480p 640x480', '360p 480x360'], '4:3 480p');
  t.same(sizes({ width: 1024, height: 576 }), ['540p 960x540', '360p 640x360'], '576p is within 10% of 540p: that rung is its class');
  t.same(sizes({ width: 1600, height: 900 }), ['900p 1600x900', '720p 1280x720', '540p 960x540', '360p 640x360']);
  t.same(sizes({ width: 1280, height: 720 }), ['720p 1280x720', '540p 960x540', '360p 640x360'], 'on a rung: no extra rendition');
});

t.test('never upscaled', async (t) => {
  for (const source of [
    { width: 854, height: 480 },
    { width: 1600, height: 900 },
    { width: 1000, height: 562 },
    { width: 1920, height: 800 },
  ]) {
    for (const r of planRenditions(source)) {
      t.ok(r.width <= source.width + 1 && r.height <= source.height + 1, `${r.name} ${r.width}x${r.height} within ${source.width}x${source.height}`);
    }
  }
});

t.test('an own-size rendition gets a bitrate between its neighbours, by picture area', async (t) => {
  t.equal(videoBitrateFor(1080), 5_000_000);
  t.equal(videoBitrateFor(2160), 5_000_000, 'never above the top rung');
  t.equal(videoBitrateFor(540), 1_600_000);
  const sd = videoBitrateFor(480);
  t.ok(sd > 800_000 && sd < 1_600_000, `480p: ${sd}`);
  t.ok(videoBitrateFor(240) < 800_000 && videoBitrateFor(240) >= 200_000, 'below the lowest rung: scaled down');
  t.equal(videoBitrateFor(40), 200_000, 'a floor for tiny pictures');
});

t.test('the peak budget is what a rung may show over one segment: 1.5x its video, its audio, and transport', async (t) => {
  t.equal(peakBandwidthBudget(720, true), Math.ceil((2_800_000 * 1.5 + 128_000) * 1.1));
  t.equal(peakBandwidthBudget(720, false), Math.ceil(2_800_000 * 1.5 * 1.1));
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

t.test('the GOP is one segment of frames at the output frame rate', async (t) => {
  t.equal(gopFrames(30), 120);
  t.equal(gopFrames(30000 / 1001), 120);
  t.equal(gopFrames(25), 100);
  t.equal(gopFrames(60), 240);
  t.equal(gopFrames(23.976), 96);
  t.throws(() => gopFrames(0), RangeError);
});

t.test('the output frame rate: nominal for variable-rate sources, standard rates kept exact, at most 60', async (t) => {
  const rate = (numerator: number, denominator = 1) => ({ numerator, denominator });
  t.same(outputFrameRate({ nominal: rate(30), average: rate(30) }), rate(30), '30 stays 30, not 29.97');
  t.same(outputFrameRate({ nominal: rate(30000, 1001), average: rate(30000, 1001) }), rate(30000, 1001));
  t.same(outputFrameRate({ nominal: rate(30), average: rate(20) }), rate(30), 'dropped frames: the nominal rate, gaps filled');
  t.same(outputFrameRate({ nominal: rate(90000), average: rate(2997, 100) }), rate(30000, 1001), 'a timebase is no frame rate');
  t.same(outputFrameRate({ nominal: rate(120), average: rate(120) }), rate(60), 'high frame rate halved');
  t.same(outputFrameRate({ nominal: rate(100) }), rate(50));
  t.same(outputFrameRate({ average: rate(2997, 125) }), rate(24000, 1001), 'close to a standard rate: snapped');
  t.same(outputFrameRate({ nominal: rate(15) }), rate(15), 'an unusual rate is kept');
  t.same(outputFrameRate({}), rate(30), 'nothing known: 30');
});

t.test('every layout becomes stereo: 5.1 and 7.1 with centre and surrounds at -3 dB, LFE dropped', async (t) => {
  t.equal(stereoDownmix(2), undefined, 'stereo stays');
  t.same(stereoDownmix(1), [[0], [0]], 'mono on both sides');
  t.same(stereoDownmix(6), [
    [0, -60, -3, -60, -3, -60],
    [-60, 0, -3, -60, -60, -3],
  ]);
  t.same(
    stereoDownmix(8)!.map((side) => side.length),
    [8, 8],
  );
  t.same(
    stereoDownmix(4),
    [
      [0, -60, -60, -60],
      [-60, 0, -60, -60],
    ],
    'no standard downmix: the first two channels',
  );
});
