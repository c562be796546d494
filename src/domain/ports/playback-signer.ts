/**
 * Signed playback as the domain asks for it: a URL to a video's master playlist that a player may
 * use until it expires. Implemented with CloudFront signed URLs by
 * src/adapters/cloudfront/playback-signer.ts.
 */
export interface PlaybackGrant {
  manifestUrl: string;
  expiresAt: Date;
}

/** How long grants last: `ttlSeconds` usually, and never less than the video plus `marginSeconds`. */
export interface PlaybackLifetime {
  ttlSeconds: number;
  marginSeconds: number;
}

/**
 * Seconds a grant for a video of this length stays valid: never shorter than the video plus the
 * margin. The signer signs for this long; the reconciler keeps what a grant may still reach (a
 * fast-start rendition) at least this long.
 */
export function playbackLifetimeSeconds(lifetime: PlaybackLifetime, durationSeconds?: number): number {
  return Math.max(lifetime.ttlSeconds, Math.ceil(durationSeconds ?? 0) + lifetime.marginSeconds);
}

export interface PlaybackSigner {
  /** A signed master-playlist URL for the video, valid from now for the playback lifetime. */
  signManifest(input: { videoId: string; durationSeconds?: number; now: Date }): Promise<PlaybackGrant>;
}
