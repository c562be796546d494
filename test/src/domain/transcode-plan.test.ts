/**
 * The shared rules, on their own: what a probed source becomes, for both transcoders.
 */
import t from 'tap';
import { SourceRejectedError } from '../../../src/domain/errors.ts';
import type { SourceAudio, SourceMedia, SourceVideo } from '../../../src/schemas/transcode.ts';
import {
  displaySize,
  FAST_START_MARGIN_SECONDS,
  languageTag,
  measureBandwidth,
  planAudioTracks,
  planFastStart,
  planTranscode,
} from '../../../src/domain/transcode-plan.ts';

/** A web-ready 1280x720 H.264 clip with stereo AAC, as Probe reports one. */
const video: SourceVideo = {
  track: 1,
  codec: 'avc',
  codedWidth: 1280,
  codedHeight: 720,
  rotation: 0,
  frameRate: { numerator: 30, denominator: 1 },
  averageFrameRate: { numerator: 30, denominator: 1 },
  bitDepth: 8,
  chromaSubsampling: '4:2:0',
  profile: 'High',
  level: '3.1',
  scanType: 'progressive',
  bitRate: 2_000_000,
  durationSeconds: 10,
  segmentsAsPackaged: { count: 3, longestSeconds: 4, peakBitrate: 2_600_000 },
};
const stereo: SourceAudio = { track: 2, codec: 'aac', channels: 2, sampleRate: 48_000, language: 'eng' };
const clip = (change: { video?: Partial<SourceVideo>; audio?: SourceAudio[]; media?: Partial<SourceMedia> } = {}): SourceMedia => ({
  container: 'mp4',
  mimeType: 'video/mp4',
  sizeBytes: 2_500_000,
  durationSeconds: 10,
  video: { ...video, ...change.video },
  audio: change.audio ?? [stereo],
  ...change.media,
});

const rejection = (source: SourceMedia) => {
  try {
    planTranscode(source);
  } catch (error) {
    if (error instanceof SourceRejectedError) return { reason: error.reason, message: error.message };
    throw error;
  }
  return undefined;
};

t.test('a web-ready clip: every rung up to its size, its one audio track muxed, packaging allowed', async (t) => {
  const plan = planTranscode(clip());
  t.same(
    plan.video?.renditions.map((r) => r.name),
    ['720p', '540p', '360p'],
  );
  t.match(plan, { audioLayout: 'muxed', packaging: { eligible: true }, durationSeconds: 10 });
  t.match(plan.video, { display: { width: 1280, height: 720 }, frameRate: { numerator: 30, denominator: 1 }, deinterlace: false, colour: 'sdr' });
  t.match(plan.audio, [{ track: 2, index: 0, name: 'English', language: 'en', default: true, channels: 2 }]);
  t.notOk('downmix' in plan.audio[0]!, 'stereo needs no downmix');
  t.equal(plan.audio[0]!.passThrough, true, 'AAC stereo 48 kHz may be packaged as it is');
  t.notOk(planAudioTracks([{ ...stereo, sampleRate: 44_100 }])[0]!.passThrough, '44.1 kHz is encoded to 48 kHz');
  t.notOk(planAudioTracks([{ ...stereo, codec: 'mp3' }])[0]!.passThrough);
});

t.test('files that are not a video are refused in plain words, before any job', async (t) => {
  const noTracks = (media: Partial<SourceMedia>): SourceMedia => ({ audio: [], ...media });
  t.match(rejection(noTracks({ sizeBytes: 0 })), { reason: 'empty-file', message: 'The uploaded file is empty (0 bytes).' });
  t.match(rejection(noTracks({ sizeBytes: 80, mimeType: 'text/plain' })), { reason: 'text-file', message: 'This is a text file, not a video.' });
  t.match(rejection(noTracks({ sizeBytes: 900, mimeType: 'image/png' })), { reason: 'still-image', message: 'This is a still image, not a video.' });
  t.match(rejection(noTracks({ sizeBytes: 900, container: 'mp4' })), { reason: 'damaged-file', message: /looks like an MP4 file.*truncated or damaged/ });
  t.match(rejection(noTracks({ sizeBytes: 900 })), { reason: 'unrecognised-file', message: /not a video or audio file we can read/ });
  t.match(
    rejection({ audio: [], mimeType: 'image/png', video: { ...video, codec: 'unknown', durationSeconds: undefined } }),
    { reason: 'still-image' },
    'a picture ffprobe reads as a one-frame video',
  );
  t.match(rejection({ audio: [], mimeType: 'image/jpeg', video: { ...video, codec: 'mjpeg', durationSeconds: undefined } }), {
    reason: 'still-image',
  });
  t.match(rejection(clip({ media: { mimeType: 'image/gif', durationSeconds: 3 }, video: { codec: 'gif' }, audio: [] })), { reason: 'animated-image' });
});

t.test("pictures outside MediaConvert's input limits are refused with their size", async (t) => {
  t.match(rejection(clip({ video: { codedWidth: 16, codedHeight: 16 } })), { reason: 'picture-too-small', message: /16x16 pixels.*at least 32/ });
  t.match(rejection(clip({ video: { codedWidth: 8200, codedHeight: 4320 } })), { reason: 'picture-too-large', message: /8200x4320.*at most 8192/ });
  t.match(
    planTranscode(clip({ video: { codedWidth: 7680, codedHeight: 4320 } })).video?.renditions[0],
    { name: '1080p', width: 1920, height: 1080 },
    '8K is fine',
  );
  t.match(planTranscode(clip({ video: { codedWidth: 32, codedHeight: 32 } })).video?.renditions, [{ width: 32, height: 32 }]);
});

t.test('a file whose duration cannot be read is refused as damaged', async (t) => {
  t.match(rejection(clip({ media: { durationSeconds: undefined }, video: { durationSeconds: undefined } })), { reason: 'unknown-duration' });
});

t.test('an audio-only upload becomes one audio rendition; its first track is the programme', async (t) => {
  const plan = planTranscode({
    container: 'mp4',
    durationSeconds: 120,
    audio: [
      { ...stereo, channels: 6 },
      { ...stereo, track: 3, language: 'fra' },
    ],
  });
  t.match(plan, { audioLayout: 'audio-only', durationSeconds: 120, packaging: { eligible: false } });
  t.equal(plan.video, undefined);
  t.same(
    plan.audio.map((a) => [a.track, a.rendition, a.default]),
    [[2, 'audio-1', true]],
  );
  t.ok(plan.audio[0]!.downmix, '5.1 downmixed to stereo');
});

t.test("a sound file's cover art is no video: the upload is audio only", async (t) => {
  const plan = planTranscode({
    mimeType: 'audio/mpeg',
    durationSeconds: 200,
    video: { track: 2, codec: 'mjpeg', codedWidth: 500, codedHeight: 500, rotation: 0 },
    audio: [{ track: 1, codec: 'mp3', channels: 2 }],
  });
  t.match(plan, { audioLayout: 'audio-only', audio: [{ track: 1 }] });
  t.equal(plan.video, undefined);
});

t.test('HLG, PQ and Dolby Vision 8.x are converted to SDR, by their base layer', async (t) => {
  t.equal(planTranscode(clip({ video: { codec: 'hevc', transfer: 'ARIB_B67', bitDepth: 10 } })).video?.colour, 'hlg');
  t.equal(planTranscode(clip({ video: { codec: 'hevc', transfer: 'SMPTE_2084', bitDepth: 10 } })).video?.colour, 'pq');
  t.equal(planTranscode(clip({ video: { codec: 'hevc', dolbyVision: { profile: 8, compatibility: 4 } } })).video?.colour, 'hlg', 'iPhone: 8.4');
  t.equal(planTranscode(clip({ video: { codec: 'hevc', dolbyVision: { profile: 8, compatibility: 1 } } })).video?.colour, 'pq', '8.1');
  t.equal(planTranscode(clip({ video: { codec: 'hevc', dolbyVision: { profile: 8, compatibility: 2 } } })).video?.colour, 'sdr', '8.2');
  t.equal(planTranscode(clip({ video: { codec: 'hevc', dolbyVision: { profile: 5, compatibility: 0 } } })).video?.colour, 'pq');
  t.equal(planTranscode(clip({ video: { transfer: 'ITU_709' } })).video?.colour, 'sdr');
  t.match(planTranscode(clip({ video: { transfer: 'ARIB_B67' } })).packaging, { eligible: false, reason: 'it is HDR (HLG)' }, 'never packaged');
});

t.test('non-square pixels give square-pixel renditions at the display aspect', async (t) => {
  t.same(displaySize({ ...video, codedWidth: 720, codedHeight: 480, pixelAspect: { numerator: 32, denominator: 27 } }), { width: 853, height: 480 });
  const dvd = planTranscode(clip({ video: { codedWidth: 720, codedHeight: 480, pixelAspect: { numerator: 32, denominator: 27 } } }));
  t.same(
    dvd.video?.renditions.map((r) => `${r.width}x${r.height}`),
    ['854x480', '640x360'],
    'a 16:9 DVD: 16:9 renditions, 480p kept',
  );
  t.match(dvd.packaging, { eligible: false, reason: /not square \(32:27\)/ });
  const hdv = planTranscode(clip({ video: { codedWidth: 1440, codedHeight: 1080, pixelAspect: { numerator: 4, denominator: 3 } } }));
  t.same(hdv.video?.renditions[0], { name: '1080p', width: 1920, height: 1080, videoBitrate: 5_000_000, audioBitrate: 128_000 }, 'HDV: 16:9, not 4:3');
  const pal = planTranscode(clip({ video: { codedWidth: 720, codedHeight: 576, pixelAspect: { numerator: 64, denominator: 45 } } }));
  t.same(
    pal.video?.renditions.map((r) => `${r.width}x${r.height}`),
    ['960x540', '640x360'],
    'a 16:9 PAL DVD',
  );
});

t.test('rotation is applied before planning; a rotated source is encoded upright', async (t) => {
  const plan = planTranscode(clip({ video: { rotation: 90 } }));
  t.same(plan.video?.display, { width: 720, height: 1280 });
  t.equal(plan.video?.renditions[0]?.name, '720p');
  t.match(plan.packaging, { eligible: false, reason: 'it is stored rotated by 90°' });
});

t.test('an interlaced stream is deinterlaced and never packaged', async (t) => {
  const plan = planTranscode(clip({ video: { scanType: 'interlaced' } }));
  t.equal(plan.video?.deinterlace, true);
  t.match(plan.packaging, { eligible: false, reason: 'it is interlaced' });
  t.equal(planTranscode(clip()).video?.deinterlace, false);
});

t.test('packaging is allowed only for what a browser plays as is, at a rendition size and within its budget', async (t) => {
  const cases: Array<[Partial<SourceVideo>, RegExp]> = [
    [{ codec: 'hevc' }, /HEVC, not H\.264/],
    [{ profile: 'High 4:4:4 Predictive' }, /profile is High 4:4:4/],
    [{ bitDepth: 10 }, /bit depth is 10/],
    [{ chromaSubsampling: '4:2:2' }, /chroma is 4:2:2/],
    [{ frameRate: { numerator: 120, denominator: 1 }, averageFrameRate: { numerator: 120, denominator: 1 } }, /frame rate is above 60 fps/],
    [{ codedWidth: 1000, codedHeight: 562 }, /picture \(1000x562\) is not a rendition size/],
    [{ codedWidth: 2560, codedHeight: 1440 }, /not a rendition size/],
    [{ bitRate: 8_000_000 }, /bitrate \(8\.0 Mbit\/s\) is above the 720p budget \(2\.8 Mbit\/s\)/],
  ];
  for (const [change, reason] of cases) {
    t.match(planTranscode(clip({ video: change })).packaging, { eligible: false, reason }, JSON.stringify(change));
  }
  t.match(
    planTranscode(clip({ video: { codedWidth: 1920, codedHeight: 800, bitRate: 3_000_000 } })).packaging,
    { eligible: true },
    'a cinema-scope 800p is its own top rendition',
  );
  t.match(
    planTranscode(clip({ video: { frameRate: { numerator: 30, denominator: 1 }, averageFrameRate: { numerator: 21, denominator: 1 } } })).packaging,
    { eligible: true },
    'a variable frame rate packages as it is',
  );
  t.match(planTranscode(clip({ audio: [{ ...stereo, channels: 6 }] })).packaging, { eligible: true }, 'any audio: it is encoded beside the packaged video');
});

t.test("a packaged rendition must keep the ladder's promises, measured on the segments its sample table makes", async (t) => {
  const packaging = (segmentsAsPackaged?: SourceVideo['segmentsAsPackaged']) => planTranscode(clip({ video: { segmentsAsPackaged } })).packaging;
  t.match(packaging({ count: 3, longestSeconds: 6.4, peakBitrate: 2_600_000 }), { eligible: true }, '6.4 s rounds to the 6 s target');
  t.match(packaging({ count: 2, longestSeconds: 8.3, peakBitrate: 2_600_000 }), {
    eligible: false,
    reason: 'its keyframes are too far apart (a segment of 8.3 s; at most 6 s)',
  });
  t.match(packaging({ count: 3, longestSeconds: 4, peakBitrate: 6_000_000 }), {
    eligible: false,
    reason: 'its video peaks at 6.0 Mbit/s in a segment, above the 4.2 Mbit/s a 720p rendition may reach',
  });
  t.match(packaging(undefined), { eligible: false, reason: 'its container has no sample table to measure its segments by' });
});

t.test('BANDWIDTH is the peak segment bit rate, AVERAGE-BANDWIDTH the mean', async (t) => {
  const seg = (duration: number, bytes: number) => ({ duration, bytes });
  t.same(measureBandwidth([seg(4, 500_000), seg(4, 1_000_000), seg(2, 250_000)]), { peak: 2_000_000, average: 1_400_000 });
  t.same(measureBandwidth([seg(4, 500_000), seg(0.5, 200_000)]), { peak: 1_000_000, average: Math.ceil((700_000 * 8) / 4.5) });
  t.same(measureBandwidth([seg(0.5, 200_000)]), { peak: 3_200_000, average: 3_200_000 }, 'unless it is all there is');
});

t.test('several audio tracks become alternate renditions, named and tagged from the source', async (t) => {
  const plan = planTranscode(
    clip({
      audio: [
        { ...stereo, name: 'SoundHandler' },
        { ...stereo, track: 3, language: 'fre', name: 'Commentaire (réalisateur)' },
        { ...stereo, track: 4, language: 'ger', channels: 6 },
        { ...stereo, track: 5, language: 'eng' },
        { ...stereo, track: 6 },
      ],
    }),
  );
  t.equal(plan.audioLayout, 'alternate');
  t.same(
    plan.audio.map((a) => [a.rendition, a.name, a.language, a.default, Boolean(a.downmix)]),
    [
      ['audio-1', 'English', 'en', true, false],
      ['audio-2', 'Commentaire realisateur', 'fr', false, false],
      ['audio-3', 'German', 'de', false, true],
      ['audio-4', 'English 2', 'en', false, false],
      ['audio-5', 'English 3', 'en', false, false],
    ],
  );
  t.match(planTranscode(clip({ audio: [] })), { audioLayout: 'none', audio: [] });
});

t.test('track names and languages: plain letters only, unknown languages left out', async (t) => {
  t.equal(languageTag('eng'), 'en');
  t.equal(languageTag('und'), undefined);
  t.equal(languageTag(undefined), undefined);
  t.equal(languageTag('12'), undefined);
  const [unknown] = planAudioTracks([{ track: 1, codec: 'aac', channels: 2, language: 'und' }]);
  t.same(unknown, { track: 1, index: 0, rendition: 'audio-1', name: 'Track 1', default: true, channels: 2 });
  t.equal(planAudioTracks([{ track: 1, codec: 'aac', channels: 0 }]).length, 0, 'a track with no channels is none');
  t.equal(planAudioTracks(Array.from({ length: 12 }, (_, i) => ({ track: i + 1, codec: 'aac', channels: 2 }))).length, 8, 'at most eight');
});

t.test("fast start: packaged when the plan allows, else the smallest rung encoded, only when the work fits the function's time", async (t) => {
  const budget = (seconds: number) => seconds + FAST_START_MARGIN_SECONDS;
  const packaged = planTranscode(clip());
  t.same(planFastStart(packaged, budget(10)), { how: 'package' }, 'a remux: a tenth of its length (1 s) fits 10 s');
  t.match(planFastStart(packaged, budget(0.5)), { how: 'none', reason: /packaging 10 s of video may not finish in 1 s/ });

  const hevc = planTranscode(clip({ video: { codec: 'hevc' } }));
  // 10 s of 720p30 is 0.44 of 1080p30's pixels per second: 10 * 0.45 * 0.44 = 2 s of encoding.
  t.same(planFastStart(hevc, budget(2)), { how: 'encode' });
  t.match(planFastStart(hevc, budget(1.9)), { how: 'none', reason: /encoding the first rendition of 10 s of video may not finish/ });
  const uhd = planTranscode(clip({ video: { codec: 'hevc', codedWidth: 3840, codedHeight: 2160, frameRate: { numerator: 60, denominator: 1 } } }));
  t.match(planFastStart(uhd, budget(2)), { how: 'none' }, '2160p60 is eight times the decoding');
  t.same(planFastStart(uhd, budget(36)), { how: 'encode' });

  const podcast = planTranscode(clip({ media: { durationSeconds: 3600, mimeType: 'audio/mp4', video: undefined } }));
  t.equal(podcast.video, undefined);
  t.same(planFastStart(podcast, budget(200)), { how: 'encode' }, 'an hour of sound: a tenth of the reference work');
});
