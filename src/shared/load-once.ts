/**
 * `load` runs at the first call; every caller until it settles, and after it succeeds, shares
 * its one promise. A rejected load is forgotten, so the next call runs `load` again: a client,
 * a key or a file that could not be had once (a network blip, a throttled API) is not refused
 * for the life of the process.
 */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= load().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}
