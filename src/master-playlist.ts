/**
 * Reading the master playlist a transcoder wrote. A module of its own so that the API function,
 * which never parses playlists, does not load the parser at cold start (video-service.ts imports
 * it on demand, for job events).
 */
import HLS from 'hls-parser';
import type { Rendition } from './schemas/video.ts';

/** Renditions from the master playlist the transcoder wrote: what the player will really see. */
export function renditionsOfMasterPlaylist(text: string): Rendition[] {
  const playlist = HLS.parse(text);
  if (!playlist.isMasterPlaylist) throw new Error('expected a master playlist');
  return playlist.variants
    .filter((variant) => !variant.isIFrameOnly && variant.resolution)
    .map((variant) => {
      const { width, height } = variant.resolution!;
      return { name: `${Math.min(width, height)}p`, width, height, bandwidth: variant.bandwidth };
    })
    // Largest first; a packaged source's top rendition can carry fewer bits than an encoded one.
    .sort((a, b) => b.width * b.height - a.width * a.height || b.bandwidth - a.bandwidth);
}
