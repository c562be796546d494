/**
 * The names of a video's HLS output inside its folder `video-streams/{videoId}/`, where both
 * transcoders write them and players, the edge signer and the reconciler look for them.
 */

/** The multivariant playlist a player opens first; it names every rendition's playlist. */
export const MASTER_PLAYLIST = 'master.m3u8';
