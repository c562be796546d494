/**
 * What viewers read from the catalog (one video, a page of a list), shared for a moment: identical
 * reads in flight at once make one DynamoDB request, and an answer serves the same read again for
 * `ttlMs`. A page everybody lists and a video many people start watching then cost the table one
 * read per key per `ttlMs`, not one per request; without it the API spends most of its CPU in the
 * DynamoDB client (about 0.5 ms per GetItem, 1 ms per Query, measured in test/bench).
 *
 * Staleness is bounded by `ttlMs` for writes made elsewhere (the event functions, another API
 * container). Writes made through `invalidate()`'s owner (the video service) clear everything at
 * once, so a viewer never reads back less than their own request just did. Event handling never
 * reads through here: its conditional updates need the record as it is.
 */
import type { VideoStatus } from '../schemas/video.ts';
import type { VideoCatalog, VideoRecord } from './ports/video-catalog.ts';
import { createBoundedCache } from '../shared/bounded-cache.ts';

export type CatalogReads = Pick<VideoCatalog, 'get' | 'queryByStatus' | 'queryByOwnerStatus'>;

export interface CatalogReadCache extends CatalogReads {
  /** Forget every answer and every read in flight: call after each write. */
  invalidate(): void;
}

interface Entry {
  /** When the answer stops serving; Infinity while the read is in flight. */
  expiresAt: number;
  value: Promise<unknown>;
}

export function createCatalogReadCache(catalog: CatalogReads, options: { ttlMs: number; maxEntries?: number; now?: () => number }): CatalogReadCache {
  const { ttlMs } = options;
  // A page holds up to 101 records (about 100 KB): 256 keys (the oldest goes first) bound the cache
  // near 25 MB, and with answers that serve for a second, 256 keys in demand at once is plenty.
  const maxEntries = options.maxEntries ?? 256;
  const now = options.now ?? (() => performance.now());
  let entries = createBoundedCache<string, Entry>(maxEntries);

  function shared<T>(key: string, read: () => Promise<T>): Promise<T> {
    if (ttlMs <= 0) return read();
    const entry = entries.get(key);
    if (entry && entry.expiresAt > now()) return entry.value as Promise<T>;
    const table = entries;
    const value = read();
    const fresh: Entry = { expiresAt: Number.POSITIVE_INFINITY, value };
    table.set(key, fresh);
    value.then(
      // Served from `ttlMs` after the answer came, unless a write cleared the map meanwhile.
      () => {
        fresh.expiresAt = now() + ttlMs;
      },
      // A failed read is never served again.
      () => {
        if (table.get(key) === fresh) table.delete(key);
      },
    );
    return value;
  }

  // A video id and a cursor (a sortKey) are one string each in their keys, so plain concatenation
  // keeps them apart; an owner id may hold any character, so owner keys are JSON.
  return {
    get: (videoId: string): Promise<VideoRecord | undefined> => shared(`v ${videoId}`, () => catalog.get(videoId)),
    queryByStatus: (status: VideoStatus, limit: number, before?: string) =>
      shared(`s ${status} ${limit} ${before ?? ''}`, () => catalog.queryByStatus(status, limit, before)),
    queryByOwnerStatus: (ownerId: string, status: VideoStatus, limit: number, before?: string) =>
      shared(JSON.stringify(['o', ownerId, status, limit, before]), () => catalog.queryByOwnerStatus(ownerId, status, limit, before)),
    invalidate() {
      // A new cache: reads still in flight settle into the old one, which nothing reads any more.
      entries = createBoundedCache(maxEntries);
    },
  };
}
