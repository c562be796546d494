/** The page's plain functions (no DOM): signed URLs of a playback grant, and formatting. */
import t from 'tap';
import { grantPrefixOf, refreshDelayMs, siblingUrl, signingQueryOfUrl, withGrantQuery } from '../../../routes/web/page/signed-url.ts';
import {
  contentTypeOf,
  formatBitrate,
  formatBytes,
  formatDuration,
  formatProgress,
  formatTransfer,
  titleFromFileName,
  TransferRate,
} from '../../../routes/web/page/format.ts';
import { createUnfinishedUploads, isSameFile } from '../../../routes/web/page/unfinished-upload.ts';

const id = '3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b';
const cdn = 'https://d111111abcdef8.cloudfront.net';
// Signing values are URL-safe base64 (`-`, `_`, `~`) and must survive byte for byte.
const oldQuery = 'Policy=eyJTdGF0ZW1lbnQiOlt7~old-_x&Signature=AAA~b-c_d&Key-Pair-Id=K2JCJMDEHXQW5F';
const newQuery = 'Policy=eyJTdGF0ZW1lbnQiOlt7~new-_y&Signature=ZZZ~y-x_w&Key-Pair-Id=K2JCJMDEHXQW5F';
const oldManifest = `${cdn}/video-streams/${id}/master.m3u8?${oldQuery}`;
const newManifest = `${cdn}/video-streams/${id}/master.m3u8?${newQuery}`;

t.test('the signing query of a grant, copied verbatim', async (t) => {
  t.equal(signingQueryOfUrl(oldManifest), oldQuery);
  t.equal(signingQueryOfUrl(`${cdn}/a.m3u8?x=1&Expires=5&Signature=s&Key-Pair-Id=K&y=2`), 'Expires=5&Signature=s&Key-Pair-Id=K');
  t.equal(grantPrefixOf(oldManifest), `${cdn}/video-streams/${id}/`);
});

t.test('a fresh grant replaces the signature on every object of the video, and nowhere else', async (t) => {
  t.equal(
    withGrantQuery(`${cdn}/video-streams/${id}/720p/index.m3u8?${oldQuery}`, newManifest),
    `${cdn}/video-streams/${id}/720p/index.m3u8?${newQuery}`,
    'a playlist the CDN signed',
  );
  t.equal(
    withGrantQuery(`${cdn}/video-streams/${id}/720p/segment_00001.ts`, newManifest),
    `${cdn}/video-streams/${id}/720p/segment_00001.ts?${newQuery}`,
    'an unsigned URI (signed-cookie playlists)',
  );
  t.equal(
    withGrantQuery(`${cdn}/video-streams/${id}/360p/segment_00000.ts?_HLS_msn=3&${oldQuery}`, newManifest),
    `${cdn}/video-streams/${id}/360p/segment_00000.ts?_HLS_msn=3&${newQuery}`,
    'other parameters stay',
  );
  t.equal(withGrantQuery(oldManifest, newManifest), newManifest, 'the master itself');
  const other = `${cdn}/video-streams/00000000-0000-4000-8000-000000000000/master.m3u8?${oldQuery}`;
  t.equal(withGrantQuery(other, newManifest), other, "another video's URL is left alone");
  t.equal(
    withGrantQuery(`https://elsewhere.example/video-streams/${id}/x.ts`, newManifest),
    `https://elsewhere.example/video-streams/${id}/x.ts`,
    'another host too',
  );
  t.equal(siblingUrl(newManifest, 'poster.0000000.jpg'), `${cdn}/video-streams/${id}/poster.0000000.jpg?${newQuery}`, 'the poster');
});

t.test('a grant is renewed a quarter of its life (at most 5 minutes) before it ends, never in a loop', async (t) => {
  const at = Date.parse('2026-11-24T10:00:00Z');
  const grant = (seconds: number) => ({ expiresAt: new Date(at + seconds * 1000).toISOString() });
  t.equal(refreshDelayMs(grant(4 * 3600), at), 4 * 3600_000 - 5 * 60_000, 'a 4-hour grant: 5 minutes early');
  t.equal(refreshDelayMs(grant(60), at), 45_000, 'a 1-minute grant: 15 s early');
  t.equal(refreshDelayMs(grant(60), at, at + 50_000), 1000, 'overdue: soon, but not at once');
  t.equal(refreshDelayMs(grant(-10), at), 1000, 'already expired (clock skew)');
});

t.test('numbers as people read them', async (t) => {
  t.equal(formatBytes(999), '999 B');
  t.equal(formatBytes(11_338_531), '11.3 MB');
  t.equal(formatBytes(2_970_000), '2.97 MB');
  t.equal(formatBytes(5 * 1024 ** 3), '5.37 GB');
  t.equal(formatProgress(2_970_000, 11_338_531), '2.97 MB of 11.3 MB (26%)');
  t.equal(formatProgress(0, 0), '0 B of 0 B (0%)');
  t.equal(formatDuration(12.02), '0:12');
  t.equal(formatDuration(75.4), '1:15');
  t.equal(formatDuration(3725), '1:02:05');
  t.equal(formatBitrate(3_168_000), '3.2 Mbit/s');
  t.equal(formatBitrate(640_000), '640 kbit/s');
  t.equal(titleFromFileName('My holiday.final.MP4'), 'My holiday.final');
  t.equal(titleFromFileName('.hidden'), '.hidden');
});

t.test('the declared content type: the browser’s, else from the extension', async (t) => {
  t.equal(contentTypeOf({ name: 'a.mp4', type: 'video/mp4' }), 'video/mp4');
  t.equal(contentTypeOf({ name: 'a.MKV', type: '' }), 'video/x-matroska');
  t.equal(contentTypeOf({ name: 'notes.txt', type: 'text/plain' }), 'text/plain', 'not a video: the API answers 415');
  t.equal(contentTypeOf({ name: 'mystery', type: '' }), 'application/octet-stream');
});

t.test("an upload's speed over the last seconds, and the time left at that speed", async (t) => {
  const rate = new TransferRate(5000);
  // A resumed upload starts from the bytes stored before the reload: they are not speed.
  rate.sample(40_000_000, 0);
  t.equal(rate.bytesPerSecond(), undefined, 'unknown at first');
  rate.sample(42_000_000, 500);
  t.equal(rate.bytesPerSecond(), undefined, 'and for the first second');
  for (let second = 1; second <= 10; second++) rate.sample(40_000_000 + second * 4_000_000, second * 1000);
  t.equal(rate.bytesPerSecond(), 4_000_000, '4 MB/s');
  // The connection drops: no bytes for 6 s, and the speed falls to nothing within the window.
  rate.sample(80_000_000, 16_000);
  t.equal(rate.bytesPerSecond(), 0, 'stalled');
  t.equal(formatTransfer(80_000_000, 100_000_000, 4_000_000), '80.0 MB of 100.0 MB (80%) · 4.00 MB/s · 0:05 left');
  t.equal(formatTransfer(80_000_000, 100_000_000, 0), '80.0 MB of 100.0 MB (80%) · stalled');
  t.equal(formatTransfer(1_000_000, 100_000_000, undefined), '1.00 MB of 100.0 MB (1%)', 'no speed before it is known');
  t.equal(formatTransfer(100_000_000, 100_000_000, 4_000_000), '100.0 MB of 100.0 MB (100%)', 'nor once done');
});

t.test('an unfinished upload is remembered per user, and recognised by name, size and date', async (t) => {
  const items = new Map<string, string>();
  const storage = {
    getItem: (key: string) => items.get(key) ?? null,
    setItem: (key: string, value: string) => void items.set(key, value),
    removeItem: (key: string) => void items.delete(key),
  };
  const alice = createUnfinishedUploads(storage, 'alice');
  const bob = createUnfinishedUploads(storage, 'bob');
  const upload = { videoId: id, title: 'Holiday', filename: 'holiday.mp4', sizeBytes: 50_000_000, lastModified: 1_700_000_000_000 };
  t.equal(alice.get(), undefined);
  alice.save(upload);
  t.same(alice.get(), upload);
  t.equal(bob.get(), undefined, "not another user's");
  t.ok(isSameFile(upload, { name: 'holiday.mp4', size: 50_000_000, lastModified: 1_700_000_000_000 }), 'the same file');
  t.notOk(isSameFile(upload, { name: 'holiday.mp4', size: 50_000_000, lastModified: 1_700_000_000_001 }), 'edited since');
  t.notOk(isSameFile(upload, { name: 'holiday.mp4', size: 50_000_001, lastModified: 1_700_000_000_000 }), 'another size');
  alice.clear('00000000-0000-4000-8000-000000000000');
  t.same(alice.get(), upload, 'clearing another upload leaves it');
  alice.clear(id);
  t.equal(alice.get(), undefined, 'cleared');
  items.set('vod:unfinished-upload:alice', '{"videoId":1');
  t.equal(alice.get(), undefined, 'unreadable: as if nothing were there');
  items.set('vod:unfinished-upload:alice', '{"videoId":"x"}');
  t.equal(alice.get(), undefined, 'incomplete: the same');
});
