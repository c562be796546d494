import t from 'tap';
import { planRenditions } from '../../../../src/ladder.ts';
import { planStart, whyNotRemux } from '../../../../deploy/local/transcoder/fast-start.ts';
import { probeSource, type SourceInfo } from '../../../../deploy/local/transcoder/probe.ts';
import { makeClip } from '../../../helpers/media.ts';

const phone: SourceInfo = {
  width: 1920, height: 1080, durationSeconds: 60, hasAudio: true, frameRate: 30,
  videoCodec: 'h264', audioCodec: 'aac', audioProfile: 'LC', rotation: 0, videoStartSeconds: 0,
  pixelFormat: 'yuv420p', videoProfile: 'High', fieldOrder: 'progressive', sampleAspectRatio: '1:1',
};

t.test('an H.264/AAC-LC source within 1080p is packaged as its top rendition; the rungs below it are encoded', async (t) => {
  const plan = planStart(phone, planRenditions(phone));
  t.match(plan, { kind: 'remux', top: { name: '1080p', width: 1920, height: 1080 } });
  t.same(plan.kind === 'remux' && plan.lower.map((r) => r.name), ['720p', '360p']);

  const portrait = { ...phone, width: 1080, height: 1920 };
  t.match(planStart(portrait, planRenditions(portrait)), { kind: 'remux', top: { name: '1080p', width: 1080, height: 1920 } });

  const between = { ...phone, width: 1000, height: 562 };
  const betweenPlan = planStart(between, planRenditions(between));
  t.match(betweenPlan, { kind: 'remux', top: { name: '562p', width: 1000, height: 562 } }, 'named by its short side');
  t.same(betweenPlan.kind === 'remux' && betweenPlan.lower.map((r) => `${r.width}x${r.height}`), ['640x360']);

  const small = { ...phone, width: 320, height: 240 };
  t.match(planStart(small, planRenditions(small)), { kind: 'remux', top: { name: '240p' }, lower: [] }, 'below the lowest rung: packaged only');
  const silent: SourceInfo = { ...phone, hasAudio: false };
  delete silent.audioCodec;
  delete silent.audioProfile;
  t.equal(whyNotRemux(silent), undefined, 'no audio is fine');
  t.equal(whyNotRemux({ ...phone, videoProfile: 'Main', pixelFormat: 'yuvj420p', frameRate: 60 }), undefined);
});

t.test('anything a browser cannot play as it is, or that would not fit the ladder, is encoded, with the reason', async (t) => {
  const cases: Array<[Partial<SourceInfo>, RegExp]> = [
    [{ videoCodec: 'hevc' }, /video is hevc/],
    [{ videoCodec: 'vp9' }, /video is vp9/],
    [{ pixelFormat: 'yuv420p10le', videoProfile: 'High 10' }, /pixel format is yuv420p10le/],
    [{ pixelFormat: 'yuv444p', videoProfile: 'High 4:4:4 Predictive' }, /pixel format is yuv444p/],
    [{ videoProfile: 'Extended' }, /profile is Extended/],
    [{ fieldOrder: 'tt' }, /interlaced/],
    [{ sampleAspectRatio: '4:3' }, /not square/],
    [{ rotation: 90, width: 1080, height: 1920 }, /rotated by 90°/],
    [{ frameRate: 120 }, /120 fps/],
    [{ width: 2560, height: 1440 }, /larger than 1080p/],
    [{ audioCodec: 'mp3', audioProfile: undefined }, /audio is mp3, not AAC-LC/],
    [{ audioProfile: 'HE-AAC' }, /audio is aac HE-AAC/],
  ];
  for (const [change, reason] of cases) {
    const source = { ...phone, ...change } as SourceInfo;
    t.match(whyNotRemux(source), reason, JSON.stringify(change));
    t.equal(planStart(source, planRenditions(source)).kind, 'encode');
  }
});

t.test('probing tells packaged sources from encoded ones', async (t) => {
  const standard = await probeSource(await makeClip({ seconds: 1, width: 640, height: 360, audio: true }));
  t.equal(whyNotRemux(standard), undefined);
  const rotated = await probeSource(await makeClip({ seconds: 1, width: 640, height: 360, audio: true, rotate: 90 }));
  t.match(whyNotRemux(rotated), /rotated by 90°/, 'MPEG-TS cannot carry the display matrix');
  const hevc = await probeSource(await makeClip({ seconds: 1, width: 640, height: 360, audio: false, videoCodec: 'hevc' }));
  t.match(whyNotRemux(hevc), /video is hevc/);
});
