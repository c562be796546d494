/**
 * The viewers' catalog read cache (src/domain/catalog-read-cache.ts): identical reads share one catalog
 * request while in flight and for the TTL after; invalidation and failures are never served.
 * The catalog behind it is a counting stand-in; the API-level behaviour against the real stack
 * is in test/routes/catalog-cache.test.ts.
 */
import t from 'tap';
import { createCatalogReadCache, type CatalogReads } from '../../../src/domain/catalog-read-cache.ts';
import type { VideoRecord } from '../../../src/domain/ports/video-catalog.ts';

function countingCatalog() {
  const calls: string[] = [];
  let version = 0;
  let failNext = false;
  const pending: Array<() => void> = [];
  const record = (videoId: string) => ({ videoId, title: `v${version}` }) as unknown as VideoRecord;
  const answer = async <T>(call: string, value: () => T): Promise<T> => {
    calls.push(call);
    // The table as it was when asked; the answer waits for release(), so reads overlap as long as
    // a test wants.
    const result = value();
    const fails = failNext;
    failNext = false;
    await new Promise<void>((resolve) => pending.push(resolve));
    if (fails) throw new Error('throttled');
    return result;
  };
  const catalog: CatalogReads = {
    get: (videoId) => answer(`get ${videoId}`, () => record(videoId)),
    queryByStatus: (status, limit, before) => answer(`status ${status} ${limit} ${before ?? ''}`, () => [record('a')]),
    queryByOwnerStatus: (owner, status, limit, before) => answer(`owner ${owner} ${status} ${limit} ${before ?? ''}`, () => [record(owner)]),
  };
  return {
    catalog,
    calls,
    release: () => pending.splice(0).forEach((resolve) => resolve()),
    bump: () => version++,
    failNext: () => (failNext = true),
  };
}

/** Runs `read` to completion, releasing the counting catalog's answers as they are asked for. */
async function settle<T>(fake: ReturnType<typeof countingCatalog>, read: Promise<T>): Promise<T> {
  for (;;) {
    const done = await Promise.race([
      read.then(
        () => true,
        () => true,
      ),
      new Promise<false>((resolve) => setImmediate(() => resolve(false))),
    ]);
    if (done) return read;
    fake.release();
  }
}

t.test('identical reads in flight at once make one request, and the answer serves for the TTL', async (t) => {
  let clock = 0;
  const fake = countingCatalog();
  const cache = createCatalogReadCache(fake.catalog, { ttlMs: 1000, now: () => clock });
  const reads = [cache.get('x'), cache.get('x'), cache.get('x')];
  const [first, second, third] = await settle(fake, Promise.all(reads));
  t.same(fake.calls, ['get x'], 'one request for three viewers');
  t.equal(second, first);
  t.equal(third, first);

  clock += 999;
  t.equal(await cache.get('x'), first, 'served again within the TTL');
  clock += 1;
  fake.bump();
  const later = await settle(fake, cache.get('x'));
  t.equal(fake.calls.length, 2, 'read again once the TTL has passed');
  t.equal(later?.title, 'v1');
});

t.test('keys keep videos, statuses, owners, page sizes and cursors apart', async (t) => {
  const fake = countingCatalog();
  const cache = createCatalogReadCache(fake.catalog, { ttlMs: 1000, now: () => 0 });
  await settle(
    fake,
    Promise.all([
      cache.get('x'),
      cache.get('y'),
      cache.queryByStatus('ready', 21),
      cache.queryByStatus('ready', 11),
      cache.queryByStatus('ready', 21, 'cursor'),
      cache.queryByOwnerStatus('alice', 'processing', 21),
      cache.queryByOwnerStatus('alice', 'failed', 21),
      cache.queryByOwnerStatus('bob', 'processing', 21),
      // An owner id shaped like another key's parts is still its own key.
      cache.queryByOwnerStatus('alice","processing', 'processing', 21),
    ]),
  );
  t.equal(fake.calls.length, 9, 'nine different reads, nine requests');
});

t.test('invalidate() forgets answers and reads in flight: the next read asks again', async (t) => {
  const fake = countingCatalog();
  const cache = createCatalogReadCache(fake.catalog, { ttlMs: 60_000, now: () => 0 });
  const before = cache.get('x');
  cache.invalidate();
  fake.bump();
  const after = cache.get('x');
  const [old, fresh] = await settle(fake, Promise.all([before, after]));
  t.equal(fake.calls.length, 2, 'a read started after the write does not join the one before it');
  t.equal(old?.title, 'v0');
  t.equal(fresh?.title, 'v1');
  t.equal(await cache.get('x'), fresh, 'the fresh answer is the one served');
});

t.test('a failed read is not served to the next viewer', async (t) => {
  const fake = countingCatalog();
  const cache = createCatalogReadCache(fake.catalog, { ttlMs: 60_000, now: () => 0 });
  fake.failNext();
  await t.rejects(settle(fake, cache.get('x')), /throttled/);
  t.ok(await settle(fake, cache.get('x')), 'asked again, answered');
  t.equal(fake.calls.length, 2);
});

t.test('a TTL of 0 reads every time; the map stays within its bound under many keys', async (t) => {
  const fake = countingCatalog();
  const uncached = createCatalogReadCache(fake.catalog, { ttlMs: 0 });
  await settle(fake, Promise.all([uncached.get('x'), uncached.get('x')]));
  t.equal(fake.calls.length, 2, 'no sharing at all');

  const bounded = createCatalogReadCache(fake.catalog, { ttlMs: 60_000, maxEntries: 3, now: () => 0 });
  for (const id of ['a', 'b', 'c', 'd']) await settle(fake, bounded.get(id));
  const asked = fake.calls.length;
  await settle(fake, bounded.get('d'));
  t.equal(fake.calls.length, asked, 'the newest is kept');
  await settle(fake, bounded.get('a'));
  t.equal(fake.calls.length, asked + 1, 'the oldest went when the fourth came');
});
