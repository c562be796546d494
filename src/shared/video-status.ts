/**
 * Whether a video can be watched: ready, or still processing once its first renditions are
 * published (`playable`; records made ready before `playable` existed count all the same). Only
 * its owner sees a video while it is processing. The API decides with this whether to sign a
 * playback and what `playable` says; the page, what to offer to watch.
 */
export function canBeWatched(video: { status: string; playable?: boolean | undefined }): boolean {
  return video.status === 'ready' || (video.status === 'processing' && video.playable === true);
}
