/** loadOnce: one load shared by every caller, and a failed one tried again at the next call. */
import t from 'tap';
import { loadOnce } from '../../../src/shared/load-once.ts';

t.test('loads at the first call, not before, and shares the one promise', async (t) => {
  let loads = 0;
  const get = loadOnce(async () => ++loads);
  t.equal(loads, 0, 'nothing loads until asked');
  const [first, second] = [get(), get()];
  t.equal(first, second, 'callers while it loads share the promise');
  t.same(await Promise.all([first, second, get()]), [1, 1, 1]);
  t.equal(await get(), 1, 'a loaded value is kept');
  t.equal(loads, 1);
});

t.test('a failed load is given to every caller that shared it, then tried again at the next call', async (t) => {
  let loads = 0;
  let fail = true;
  const get = loadOnce(async () => {
    loads += 1;
    if (fail) throw new Error(`load ${loads} failed`);
    return `load ${loads}`;
  });
  const shared = [get(), get()];
  t.equal(shared[0], shared[1]);
  for (const attempt of shared) await t.rejects(attempt, { message: 'load 1 failed' });
  await t.rejects(get(), { message: 'load 2 failed' }, 'forgotten: the next call loads again');
  fail = false;
  t.equal(await get(), 'load 3');
  t.equal(await get(), 'load 3', 'and once it succeeds, never again');
  t.equal(loads, 3);
});
