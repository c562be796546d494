/**
 * Reading the master playlist a transcoder wrote. A module of its own so that the API function,
 * which never parses playlists, does not load the parser at cold start (video-service.ts imports
 * it on demand, for job events).
 */
import HLS from 'hls-parser';
import type { AudioTrack, Rendition } from '../schemas/video.ts';

/** What a master playlist offers viewers: its video renditions and audio tracks. */
export interface MasterPlaylistSummary {
  /** Video renditions, largest first. */
  renditions: Rendition[];
  /** Alternate audio renditions (EXT-X-MEDIA TYPE=AUDIO), in the playlist's order. */
  audioTracks: AudioTrack[];
  /** Variants of any kind: an audio-only master has variants but no video renditions. */
  variants: number;
}

/** Renditions from the master playlist the transcoder wrote: what the player will really see. */
export function readMasterPlaylist(text: string): MasterPlaylistSummary {
  const playlist = HLS.parse(text);
  if (!playlist.isMasterPlaylist) throw new Error('expected a master playlist');
  const variants = playlist.variants.filter((variant) => !variant.isIFrameOnly);
  const renditions = variants
    .filter((variant) => variant.resolution)
    .map((variant) => {
      const { width, height } = variant.resolution!;
      return { name: `${Math.min(width, height)}p`, width, height, bandwidth: variant.bandwidth };
    })
    // Largest first; a packaged source's top rendition can carry fewer bits than an encoded one.
    .sort((a, b) => b.width * b.height - a.width * a.height || b.bandwidth - a.bandwidth);
  const audioTracks = new Map<string, AudioTrack>();
  for (const variant of variants) {
    for (const audio of variant.audio) {
      if (audioTracks.has(audio.name)) continue;
      audioTracks.set(audio.name, { name: audio.name, ...(audio.language ? { language: audio.language } : {}), default: audio.isDefault === true });
    }
  }
  return { renditions, audioTracks: [...audioTracks.values()], variants: variants.length };
}

/** The video renditions alone (see readMasterPlaylist). */
export function renditionsOfMasterPlaylist(text: string): Rendition[] {
  return readMasterPlaylist(text).renditions;
}
