/**
 * A PUT that a SIGKILL cut leaves its temporary file beside the object (deploy/local/s3/s3-atomic-store.ts);
 * the S3 stand-in removes such leftovers when it starts, and never the objects themselves.
 */
import t from 'tap';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { removeInterruptedWrites } from '../../../../deploy/local/s3/s3-atomic-store.ts';
import { startLocalS3 } from '../../../../deploy/local/s3/s3-server.ts';

t.test('leftovers of interrupted writes are removed at start; objects stay', async (t) => {
  const dir = t.testdir({
    'vod-local': {
      uploads: {
        v1: { 'source._S3rver_object': 'whole object', 'source._S3rver_object.partial-0f8fad5b-d9cb-469f-a165-70867728950e': 'half' },
        v2: { '1.partial-7c9e6679-7425-40de-944b-e07fc1f90ae7': 'a part, half' },
      },
      'video-streams': { v1: { 'notes.partial-thing': 'not a temporary name: kept' } },
    },
  });
  t.equal(await removeInterruptedWrites(dir), 2);
  const left = (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
  t.same(left, ['vod-local/uploads/v1/source._S3rver_object', 'vod-local/video-streams/v1/notes.partial-thing']);
});

t.test('the S3 stand-in does it before it serves', async (t) => {
  const dir = t.testdir({ 'vod-local': { 'x._S3rver_object.partial-0f8fad5b-d9cb-469f-a165-70867728950e': 'half' } });
  const s3 = await startLocalS3({ directory: dir, port: 0, bucket: 'vod-local' });
  t.teardown(() => s3.close());
  const files = (await readdir(dir, { recursive: true })).map(String);
  t.notOk(
    files.some((file) => file.includes('.partial-')),
    JSON.stringify(files),
  );
});
