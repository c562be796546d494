/**
 * A small bounded map for per-container caches (verified tokens, signed playback URLs, shared
 * catalog reads): when full, the oldest entry goes, so a flood of distinct keys costs a fixed
 * amount of memory. First in, first out rather than least recently used: a hit costs one Map
 * lookup (an LRU reorders on every hit), and these caches hold entries that expire anyway.
 */
export interface BoundedCache<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  delete(key: K): void;
  readonly size: number;
}

export function createBoundedCache<K, V>(maxEntries: number): BoundedCache<K, V> {
  // A Map iterates in insertion order: the first key is the oldest.
  const entries = new Map<K, V>();
  return {
    get: (key) => entries.get(key),
    set(key, value) {
      entries.delete(key);
      entries.set(key, value);
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value as K);
    },
    delete(key) {
      entries.delete(key);
    },
    get size() {
      return entries.size;
    },
  };
}
