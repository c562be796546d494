/**
 * The one path-to-key rule (edge/object-key.ts) on its own: what it accepts, what it refuses and
 * why, and a property: whatever path it accepts names a key that a file store or any later
 * normalisation resolves to itself, inside the signed folder.
 */
import t from 'tap';
import fc from 'fast-check';
import { posix } from 'node:path';
import { objectKeyOfPath, playbackKeyOfPath, resourcePathOf, unsafeKeyReason } from '../../edge/object-key.ts';

const FOLDER = '/video-streams/v1/*';

t.test('plain keys pass, decoded once', async (t) => {
  t.same(objectKeyOfPath('/uploads/v1/source'), { key: 'uploads/v1/source' });
  t.same(objectKeyOfPath('/a/b%20c'), { key: 'a/b c' });
  t.same(playbackKeyOfPath('/video-streams/v1/720p/segment_00001.ts', FOLDER), { key: 'video-streams/v1/720p/segment_00001.ts' });
  t.same(playbackKeyOfPath('/video-streams/v1/master.m3u8', '/video-streams/v1/master.m3u8'), { key: 'video-streams/v1/master.m3u8' }, 'an exact Resource');
  t.same(playbackKeyOfPath('/video-streams/v2/master.m3u8'), { key: 'video-streams/v2/master.m3u8' }, 'no Resource: any video folder');
});

t.test('refuses each unsafe form with a reason', async (t) => {
  const refused: Array<[string, RegExp]> = [
    ['/video-streams/v1/..%2F..%2Fuploads%2Fv2%2Fsource', /"\.\." segment/],
    ['/video-streams/v1/%2e%2e/v2/master.m3u8', /"\.\." segment/],
    ['/video-streams/v1/./master.m3u8', /"\." segment/],
    ['/video-streams/v1//master.m3u8', /empty segment/],
    ['/video-streams/v1/..%5Cmaster.m3u8', /backslash/],
    ['/video-streams/v1/a%00.ts', /control character/],
    ['/video-streams/v1/%E0%A4%A.ts', /percent-encoded/],
    ['/video-streams/v1/..%252Fv2%252Fmaster.m3u8', /encoded twice/],
    ['/video-streams/v2/master.m3u8', /outside the signed Resource/],
    ['/video-streams/v10/master.m3u8', /outside the signed Resource/],
    ['/uploads/v1/source', /not inside a video's folder/],
    ['/video-streams/master.m3u8', /not inside a video's folder/],
    ['video-streams/v1/master.m3u8', /does not start with/],
  ];
  for (const [path, reason] of refused) {
    const checked = playbackKeyOfPath(path, FOLDER);
    t.match(checked, { refused: reason }, path);
  }
  t.equal(unsafeKeyReason(''), 'the key is empty');
});

t.test('reads the path of a policy Resource', async (t) => {
  t.equal(resourcePathOf('https://d1.cloudfront.net/video-streams/v1/*'), '/video-streams/v1/*');
  t.equal(resourcePathOf('http://127.0.0.1:3001/video-streams/v1/*'), '/video-streams/v1/*');
  t.equal(resourcePathOf('https://*/video-streams/v1/*'), '/video-streams/v1/*', 'a wildcard host');
  t.equal(resourcePathOf('*'), '/*', 'everything');
  t.same(playbackKeyOfPath('/video-streams/v9/x.ts', resourcePathOf('*')), { key: 'video-streams/v9/x.ts' });
});

t.test('property: an accepted path names a normalised key inside the signed folder', async (t) => {
  // Segments built from the characters that make traversal: dots, slashes and their encodings.
  const piece = fc.constantFrom('.', '..', '/', '%2e', '%2E', '%2f', '%2F', '%5c', '\\', '%25', '%252f', 'a', 'v1', 'v2', 'uploads', 'x.ts', '%00', '%c0%af');
  const tail = fc.array(piece, { maxLength: 12 }).map((pieces) => pieces.join(''));
  let accepted = 0;
  fc.assert(
    fc.property(tail, (rest) => {
      const checked = playbackKeyOfPath(`/video-streams/v1/${rest}`, FOLDER);
      if ('refused' in checked) return true;
      accepted += 1;
      const { key } = checked;
      return (
        posix.normalize(key) === key &&
        key.startsWith('video-streams/v1/') &&
        key.length > 'video-streams/v1/'.length &&
        !key.includes('\\') &&
        !key.includes('%')
      );
    }),
    { numRuns: 5000 },
  );
  t.ok(accepted > 100, `${accepted} of 5000 generated paths were accepted and all stayed inside`);
});
