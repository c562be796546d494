/**
 * The MediaConvert adapter's header probe, reading real ffmpeg-made files from the S3 stand-in
 * with ranged GETs, as it reads the upload in AWS.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createAwsClients } from '../../../src/aws-clients.ts';
import {
  createS3RangeReader,
  createS3SourceProbe,
  probeIsoMedia,
  type RangeReader,
} from '../../../src/transcoder/source-probe.ts';
import { startTestStack } from '../../helpers/stack.ts';
import { makeClip, makeNotAVideo, makeTruncatedMp4, tempDir } from '../../helpers/media.ts';

const run = promisify(execFile);
const stack = await startTestStack(t);
const s3 = await createAwsClients(stack.config).s3();
const bucket = stack.config.BUCKET_NAME;
const probe = createS3SourceProbe({ s3, bucket });

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

t.test('a camera file (moov after the media) is read from its header alone', async (t) => {
  const clip = await makeClip({ seconds: 4, width: 1280, height: 720, audio: true, faststart: false });
  const key = await upload(clip);
  const { read, fetched } = countingReader(key);
  t.same(await probeIsoMedia(read), { width: 1280, height: 720, rotation: 0, hasAudio: true, videoCodec: 'avc1' });
  const { size } = await stat(clip);
  t.ok(fetched() < size / 4, `fetched ${fetched()} of ${size} bytes`);
});

t.test('a web-optimised file (moov first) and a QuickTime .mov read the same', async (t) => {
  const faststart = await makeClip({ seconds: 1, width: 640, height: 360, audio: true, faststart: true });
  t.match(await probe(await upload(faststart)), { width: 640, height: 360, hasAudio: true });
  const mov = path.join(await tempDir(t), 'clip.mov');
  await run('ffmpeg', ['-hide_banner', '-v', 'error', '-y', '-i', faststart, '-c', 'copy', '-f', 'mov', mov]);
  t.match(await probe(await upload(mov)), { width: 640, height: 360, hasAudio: true });
});

t.test('the rotation flag swaps the sides: display size, as the ladder needs it', async (t) => {
  const clip = await makeClip({ seconds: 1, width: 1920, height: 1080, audio: false, rotate: 90 });
  const probed = await probe(await upload(clip));
  t.match(probed, { width: 1080, height: 1920, hasAudio: false });
  t.ok(probed?.rotation === 90 || probed?.rotation === 270, `a quarter turn (${probed?.rotation})`);
});

t.test('what is not an MP4/MOV gives no answer, so the adapter falls back', async (t) => {
  t.equal(await probe(await upload(await makeNotAVideo())), undefined, 'a text file');
  t.equal(await probe(await upload(await makeTruncatedMp4())), undefined, 'a file cut before its moov');
  const mkv = path.join(await tempDir(t), 'clip.mkv');
  await run('ffmpeg', ['-hide_banner', '-v', 'error', '-y', '-i', await makeClip({ seconds: 1, width: 320, height: 240, audio: false }), '-c', 'copy', mkv]);
  t.equal(await probe(await upload(mkv)), undefined, 'a Matroska file');
});

t.test('a missing object is an error, not a guess, so the event is retried', async (t) => {
  await t.rejects(probe('uploads/nothing-here/source'), { name: 'NoSuchKey' });
});
