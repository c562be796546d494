/** Sources as the inspection describes them, for tests that need no file at all. */
import type { SourceMedia } from '../../src/schemas/transcode.ts';

/** An MP4 of progressive 8-bit 4:2:0 H.264 (High profile) with stereo AAC on track 2, as Probe describes one. */
export function h264Clip(spec: { width: number; height: number; fps: number; seconds: number }): SourceMedia {
  return {
    container: 'mp4',
    durationSeconds: spec.seconds,
    video: {
      codec: 'avc',
      codedWidth: spec.width,
      codedHeight: spec.height,
      rotation: 0,
      frameRate: { numerator: spec.fps, denominator: 1 },
      bitDepth: 8,
      chromaSubsampling: '4:2:0',
      profile: 'High',
      scanType: 'progressive',
    },
    audio: [{ track: 2, codec: 'aac', channels: 2 }],
  };
}

/** A web-ready 720p clip with stereo sound. */
export const webReadyClip = h264Clip({ width: 1280, height: 720, fps: 30, seconds: 10 });
