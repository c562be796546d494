/** Sources as the inspection describes them, for tests that need no file at all. */
import type { SourceMedia } from '../../src/schemas/transcode.ts';

/** A web-ready 720p clip with stereo sound, as Probe describes one. */
export const webReadyClip: SourceMedia = {
  container: 'mp4',
  durationSeconds: 10,
  video: {
    codec: 'avc',
    codedWidth: 1280,
    codedHeight: 720,
    rotation: 0,
    frameRate: { numerator: 30, denominator: 1 },
    bitDepth: 8,
    chromaSubsampling: '4:2:0',
    profile: 'High',
    scanType: 'progressive',
  },
  audio: [{ track: 2, codec: 'aac', channels: 2 }],
};
