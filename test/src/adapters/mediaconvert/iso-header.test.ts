/**
 * The MP4/MOV header reader the source inspector adds to MediaConvert's Probe, reading real
 * ffmpeg-made files from the S3 stand-in with ranged GETs, as it reads the upload in AWS.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createAwsClients } from '../../../../src/app/aws-clients.ts';
import { createS3RangeReader, readIsoHeader, type RangeReader } from '../../../../src/adapters/mediaconvert/iso-header.ts';
import { startTestStack } from '../../../helpers/stack.ts';
import {
  addDolbyVisionConfig,
  FFMPEG_QUIET,
  makeClip,
  makeNotAVideo,
  makeTruncatedMp4,
  tempDir,
  testPicture,
  testTone,
  twoLanguageTracks,
} from '../../../helpers/media.ts';

const run = promisify(execFile);
const stack = await startTestStack(t);
const s3 = await createAwsClients(stack.config).s3();
const bucket = stack.config.BUCKET_NAME;

let counter = 0;
async function upload(file: string): Promise<string> {
  const key = `uploads/probe-${++counter}/source`;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: await readFile(file) }));
  return key;
}

/** The S3 reader, counting the bytes it fetched. */
function countingReader(key: string): { read: RangeReader; fetched: () => number } {
  const inner = createS3RangeReader({ s3, bucket }, key);
  let fetched = 0;
  return {
    read: async (offset, length) => {
      const result = await inner(offset, length);
      fetched += result.bytes.length;
      return result;
    },
    fetched: () => fetched,
  };
}

const header = async (file: string) => readIsoHeader(createS3RangeReader({ s3, bucket }, await upload(file)));

t.test('a camera file (moov after the media) is read from its header alone', async (t) => {
  const clip = await makeClip({ seconds: 4, width: 1280, height: 720, audio: true, faststart: false });
  const { read, fetched } = countingReader(await upload(clip));
  t.match(await readIsoHeader(read), {
    tracks: [
      { position: 1, handler: 'vide', codec: 'avc1', rotation: 0 },
      { position: 2, handler: 'soun', codec: 'mp4a', rotation: 0 },
    ],
  });
  const { size } = await stat(clip);
  t.ok(fetched() < size / 4, `fetched ${fetched()} of ${size} bytes`);
});

t.test('a web-optimised file (moov first) and a QuickTime .mov read the same', async (t) => {
  const faststart = await makeClip({ seconds: 1, width: 640, height: 360, audio: true, faststart: true });
  t.match(await header(faststart), { tracks: [{ handler: 'vide' }, { handler: 'soun' }] });
  const mov = path.join(await tempDir(t), 'clip.mov');
  await run('ffmpeg', ['-hide_banner', '-v', 'error', '-y', '-i', faststart, '-c', 'copy', '-f', 'mov', mov]);
  t.match(await header(mov), { tracks: [{ handler: 'vide', codec: 'avc1' }, { handler: 'soun' }] });
});

t.test('the display rotation of a phone clip', async (t) => {
  const probed = await header(await makeClip({ seconds: 1, width: 1920, height: 1080, audio: false, rotate: 90 }));
  const rotation = probed?.tracks[0]?.rotation;
  t.ok(rotation === 90 || rotation === 270, `a quarter turn (${rotation})`);
});

t.test('the pixel aspect ratio of an anamorphic DVD-like clip', async (t) => {
  const probed = await header(await makeClip({ seconds: 1, width: 720, height: 480, audio: false, sampleAspect: '32:27' }));
  t.same(probed?.tracks[0]?.pixelAspect, { numerator: 32, denominator: 27 });
});

t.test('the titles and languages of audio tracks', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'two-languages.mp4');
  await run('ffmpeg', [
    ...FFMPEG_QUIET,
    ...testPicture('320x240', 1),
    ...testTone(1),
    ...testTone(1, 660),
    ...twoLanguageTracks('Commentaire du réalisateur'),
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac'],
    file,
  ]);
  t.match((await header(file))?.tracks, [
    { position: 1, handler: 'vide' },
    { position: 2, handler: 'soun', language: 'eng', name: 'SoundHandler' },
    { position: 3, handler: 'soun', language: 'fra', name: 'Commentaire du réalisateur' },
  ]);
});

t.test('a Dolby Vision configuration: profile and base-layer compatibility', async (t) => {
  const clip = await makeClip({ seconds: 1, width: 320, height: 240, audio: false, videoCodec: 'hevc' });
  await addDolbyVisionConfig(clip, { profile: 8, compatibility: 4 });
  t.same((await header(clip))?.tracks[0]?.dolbyVision, { profile: 8, compatibility: 4 });
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', clip]);
  t.match(stdout, /"dv_profile": 8[\s\S]*"dv_bl_signal_compatibility_id": 4/, 'ffprobe reads the same record');
});

t.test('what is not an MP4/MOV gives no answer', async (t) => {
  t.equal(await header(await makeNotAVideo()), undefined, 'a text file');
  t.equal(await header(await makeTruncatedMp4()), undefined, 'a file cut before its moov');
  const mkv = path.join(await tempDir(t), 'clip.mkv');
  await run('ffmpeg', ['-hide_banner', '-v', 'error', '-y', '-i', await makeClip({ seconds: 1, width: 320, height: 240, audio: false }), '-c', 'copy', mkv]);
  t.equal(await header(mkv), undefined, 'a Matroska file');
});

t.test('a missing object is an error, not a guess, so the event is retried', async (t) => {
  await t.rejects(readIsoHeader(createS3RangeReader({ s3, bucket }, 'uploads/nothing-here/source')), { name: 'NoSuchKey' });
});

t.test("the segments a packaged video would make are read from its sample table, as ffmpeg's HLS muxer cuts them", async (t) => {
  const { runFfmpeg, buildPackageArgs } = await import('../../../../src/adapters/ffmpeg-hls/ffmpeg-ladder.ts');
  const { planForFile } = await import('../../../helpers/plans.ts');
  const dir = await tempDir(t);
  const { makeSource } = await import('../../../helpers/real-world-media.ts');
  const cases: Array<{ file: string; cuts: number[] }> = [
    // Keyframes every 3 s: cut at the first keyframe past each 4 s: 6, 9, 12, 18, then the end.
    { file: await makeClip({ seconds: 20, width: 640, height: 360, audio: true, keyframeSeconds: 3, videoBitrate: 600_000, dir }), cuts: [6, 3, 3, 6, 2] },
    { file: await makeClip({ seconds: 9, width: 320, height: 240, audio: false, keyframeSeconds: 1, fps: 25, dir }), cuts: [4, 4, 1] },
    // B-frames (x264's veryfast; ultrafast has none): presentation times from ctts.
    { file: (await makeSource('web-ready-720p', dir)).file, cuts: [4, 4] },
  ];
  for (const { file, cuts } of cases) {
    const predicted = (await header(file))?.tracks.find((track) => track.handler === 'vide')?.segmentsAsPackaged;
    const plan = await planForFile(file);
    const outDir = path.join(dir, `out-${cuts.join('-')}`);
    await runFfmpeg(buildPackageArgs({ input: file, plan, name: 'top', audio: 'none', outDir }), { input: file });
    const playlist = await readFile(path.join(outDir, 'top', 'index.m3u8'), 'utf8');
    const durations = [...playlist.matchAll(/#EXTINF:([\d.]+),/g)].map((m) => Number(m[1]));
    t.same(
      durations.map((d) => Math.round(d)),
      cuts,
      `ffmpeg cuts ${durations.join(', ')}`,
    );
    t.equal(predicted?.count, durations.length, 'as many segments as predicted');
    t.ok(Math.abs(predicted!.longestSeconds - Math.max(...durations)) < 0.05, `the longest: ${predicted?.longestSeconds} predicted`);
    // The measured segments carry transport stream overhead on top of the video the table counts.
    const segments = await Promise.all(
      playlist
        .split('\n')
        .filter((line) => line.endsWith('.ts'))
        .map(async (uri, i) => ({ duration: durations[i]!, bytes: (await stat(path.join(outDir, 'top', uri))).size })),
    );
    const counted = segments.length > 1 && segments.at(-1)!.duration < 2 ? segments.slice(0, -1) : segments;
    const measuredPeak = Math.max(...counted.map((s) => (s.bytes * 8) / s.duration));
    t.ok(
      predicted!.peakBitrate <= measuredPeak && measuredPeak <= predicted!.peakBitrate * 1.1,
      `peak ${predicted?.peakBitrate} predicted, ${Math.round(measuredPeak)} in transport stream`,
    );
  }
});
