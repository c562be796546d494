/**
 * Which way a source gets to its first playable rendition (issue 6, "fast start").
 *
 * A source whose video a browser can already play as it is (H.264 8-bit 4:2:0, progressive,
 * square pixels, upright, at most 60 fps, with AAC-LC or no audio) and whose short side is within
 * the top rung is first PACKAGED, not encoded: its own stream becomes its top rendition (named by
 * its short side) in well under a second, and only the rungs below it are encoded, in one command
 * whose keyframes are forced where the packaged segments start, so every rendition cuts at the
 * same frames. Any other source is encoded in one command for the whole ladder.
 *
 * Rotated H.264 is encoded: MPEG-TS has nowhere to carry the display matrix (ffmpeg drops it when
 * packaging, measured), so players would show it sideways.
 */
import { LADDER, SEGMENT_SECONDS, type PlannedRendition } from '../../../src/ladder.ts';
import type { SourceInfo } from './probe.ts';

/**
 * A packaged segment longer than this means the source's keyframes are too sparse to stream well
 * (screen recordings can have one a minute): such a source is encoded instead. x264's default GOP
 * (250 frames) gives 10.4 s at 24 fps, so common files pass.
 */
export const MAX_REMUX_SEGMENT_SECONDS = 3 * SEGMENT_SECONDS;

const REMUX_PROFILES = new Set(['Constrained Baseline', 'Baseline', 'Main', 'High']);
const REMUX_PIXEL_FORMATS = new Set(['yuv420p', 'yuvj420p']);
const MAX_REMUX_FRAME_RATE = 60;

/** A rendition as the publisher sees it: a folder name and a display size. */
export interface RenditionSize {
  name: string;
  width: number;
  height: number;
}

export type StartPlan =
  | { kind: 'remux'; top: RenditionSize; lower: PlannedRendition[] }
  | { kind: 'encode'; reason: string };

/** Why the source's video cannot be packaged as it is; undefined when it can. */
export function whyNotRemux(source: SourceInfo): string | undefined {
  const topShortSide = LADDER[0]!.shortSide;
  if (source.videoCodec !== 'h264') return `its video is ${source.videoCodec}, not H.264`;
  if (!source.pixelFormat || !REMUX_PIXEL_FORMATS.has(source.pixelFormat)) {
    return `its pixel format is ${source.pixelFormat ?? 'unknown'}, not 8-bit 4:2:0`;
  }
  if (!source.videoProfile || !REMUX_PROFILES.has(source.videoProfile)) {
    return `its H.264 profile is ${source.videoProfile ?? 'unknown'}`;
  }
  if (source.fieldOrder && source.fieldOrder !== 'progressive' && source.fieldOrder !== 'unknown') {
    return 'it is interlaced';
  }
  if (source.sampleAspectRatio && !['1:1', '0:1', 'N/A'].includes(source.sampleAspectRatio)) {
    return `its pixels are not square (${source.sampleAspectRatio})`;
  }
  if (source.rotation !== 0) return `it is stored rotated by ${source.rotation}°`;
  if (source.frameRate > MAX_REMUX_FRAME_RATE) return `its frame rate is ${source.frameRate.toFixed(0)} fps`;
  if (Math.min(source.width, source.height) > topShortSide) {
    return `it is larger than ${topShortSide}p`;
  }
  if (source.hasAudio && !(source.audioCodec === 'aac' && source.audioProfile === 'LC')) {
    return `its audio is ${source.audioCodec ?? 'unknown'}${source.audioProfile ? ` ${source.audioProfile}` : ''}, not AAC-LC`;
  }
  return undefined;
}

/**
 * The plan for a source and its planned ladder (planRenditions): package the top and encode the
 * rungs strictly below the source's own size, or encode everything.
 */
export function planStart(source: SourceInfo, renditions: PlannedRendition[]): StartPlan {
  const reason = whyNotRemux(source);
  if (reason) return { kind: 'encode', reason };
  const shortSide = Math.min(source.width, source.height);
  return {
    kind: 'remux',
    top: { name: `${shortSide}p`, width: source.width, height: source.height },
    lower: renditions.filter((r) => Math.min(r.width, r.height) < shortSide),
  };
}
