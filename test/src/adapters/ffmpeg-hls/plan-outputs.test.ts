/**
 * A plan's outputs as the publisher lists them (src/adapters/ffmpeg-hls/plan-outputs.ts): the CODECS
 * of each rendition found without reading a segment, as fast start and the local stand-in use them.
 */
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { knownCodecsFor } from '../../../../src/adapters/ffmpeg-hls/plan-outputs.ts';
import { FFMPEG_MASTER } from '../../../../src/adapters/ffmpeg-hls/ffmpeg-ladder.ts';
import { makeClip, tempDir } from '../../../helpers/media.ts';
import { planForFile } from '../../../helpers/plans.ts';

t.test("an encoded rendition's CODECS come from the master ffmpeg wrote beside it, whatever the attribute order", async (t) => {
  const dir = await tempDir(t);
  const plan = await planForFile(await makeClip({ seconds: 1, width: 640, height: 360, audio: true, dir }));
  // The shape of ffmpeg 5.1's master (-master_pl_name), CODECS not always last.
  await writeFile(
    path.join(dir, FFMPEG_MASTER),
    [
      '#EXTM3U',
      '#EXT-X-VERSION:6',
      '#EXT-X-STREAM-INF:BANDWIDTH=1210000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"',
      '360p/index.m3u8',
      '',
      '#EXT-X-STREAM-INF:BANDWIDTH=2500000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=960x540',
      '540p/index.m3u8',
      '',
    ].join('\n'),
  );
  const codecsOf = knownCodecsFor(plan, dir, () => undefined);
  t.equal(await codecsOf('360p'), 'avc1.64001e,mp4a.40.2');
  t.equal(await codecsOf('540p'), 'avc1.64001f,mp4a.40.2', 'CODECS before RESOLUTION too');
  t.equal(await codecsOf('720p'), undefined, 'a rendition the master does not list: the caller reads a segment');
  t.equal(await knownCodecsFor(plan, path.join(dir, 'nothing-here'), () => undefined)('360p'), undefined, 'no master yet: the same');
});
