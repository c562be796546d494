/**
 * Signed playback as the domain asks for it: a URL to a video's master playlist that a player may
 * use until it expires. Implemented with CloudFront signed URLs by
 * src/adapters/cloudfront/playback-signer.ts.
 */
export interface PlaybackGrant {
  manifestUrl: string;
  expiresAt: Date;
}

export interface PlaybackSigner {
  /** A signed master-playlist URL for the video, valid from now for the playback lifetime. */
  signManifest(input: { videoId: string; durationSeconds?: number; now: Date }): Promise<PlaybackGrant>;
}
