/**
 * Where a video's objects live in the one private bucket: `uploads/{videoId}/source` holds the
 * original bytes and `video-streams/{videoId}/` the HLS output. Keys never contain user-supplied
 * names. The storage adapter, the playback signer, the reconciler and the local S3 stand-in's
 * notifications all address objects by these rules.
 */
import { MASTER_PLAYLIST } from '../shared/stream-files.ts';

export const UPLOADS_PREFIX = 'uploads/';
export const STREAMS_PREFIX = 'video-streams/';

export const sourceKey = (videoId: string) => `${UPLOADS_PREFIX}${videoId}/source`;
export const streamPrefix = (videoId: string) => `${STREAMS_PREFIX}${videoId}/`;
export const masterPlaylistKey = (videoId: string) => `${streamPrefix(videoId)}${MASTER_PLAYLIST}`;
/**
 * Fast start's first rendition: a folder of its own beside the ladder's, so the ladder never
 * overwrites what a viewer who started early is still reading (the reconciler removes it later).
 */
export const fastStartPrefix = (videoId: string) => `${streamPrefix(videoId)}fast-start/`;

/** The videoId of an upload's source key, or undefined for any other key. */
export function videoIdOfSourceKey(key: string): string | undefined {
  return /^uploads\/([^/]+)\/source$/.exec(key)?.[1];
}

/** The two folders a video's objects live in. */
export type StorageArea = 'uploads' | 'streams';
export const AREA_PREFIX: Record<StorageArea, string> = { uploads: UPLOADS_PREFIX, streams: STREAMS_PREFIX };
