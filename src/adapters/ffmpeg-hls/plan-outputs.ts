/**
 * A transcode plan's outputs as the HLS publisher lists them: the video renditions, the audio
 * renditions of their own, and the CODECS of each. Shared by fast start (fast-start.ts) and the
 * local MediaConvert stand-in (deploy/local/mediaconvert/transcode-job.ts).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import HLS from 'hls-parser';
import type { RenditionPlan, TranscodePlan } from '../../schemas/transcode.ts';
import { AAC_LC_CODEC, avc1CodecString, FFMPEG_MASTER, type AudioOutput } from './ffmpeg-ladder.ts';
import { playlistOf, type PublishedOutput } from './hls-publisher.ts';

/** The plan's audio renditions of their own (several tracks, or no video), as the publisher lists them. */
export function audioOutputsOf(plan: TranscodePlan): PublishedOutput[] {
  if (plan.audioLayout !== 'alternate' && plan.audioLayout !== 'audio-only') return [];
  return plan.audio.map((track) => ({
    kind: 'audio',
    name: track.rendition,
    title: track.name,
    ...(track.language ? { language: track.language } : {}),
    default: track.default,
  }));
}

/** What the video renditions carry of the audio: the one track muxed in, or none (renditions of its own, or no audio). */
export const muxedAudioOf = (plan: TranscodePlan): AudioOutput => (plan.audioLayout === 'muxed' ? 'muxed' : 'none');

export const videoOutputOf = (plan: TranscodePlan, rung: RenditionPlan): PublishedOutput => ({
  kind: 'video',
  name: rung.name,
  width: rung.width,
  height: rung.height,
  frameRate: plan.video!.frameRate,
});

/**
 * CODECS of a rendition without reading its segments: an audio rendition's are AAC's; a packaged
 * rendition is the source's own stream (its profile and level from the probe); an encoded one's
 * are in the master ffmpeg wrote beside it.
 */
export function knownCodecsFor(plan: TranscodePlan, outDir: string, packaged: () => string | undefined): (name: string) => Promise<string | undefined> {
  const audioNames = new Set(audioOutputsOf(plan).map((output) => output.name));
  const sourceVideo = plan.source.video;
  return async (name) => {
    if (audioNames.has(name)) return AAC_LC_CODEC;
    const level = Number(sourceVideo?.level);
    if (packaged() === name && sourceVideo?.profile && level > 0) {
      return [avc1CodecString(sourceVideo.profile, Math.round(level * 10)), ...(muxedAudioOf(plan) === 'muxed' ? [AAC_LC_CODEC] : [])].join(',');
    }
    const text = await readFile(path.join(outDir, FFMPEG_MASTER), 'utf8').catch(() => undefined);
    if (!text) return undefined;
    const master = HLS.parse(text);
    if (!master.isMasterPlaylist) return undefined;
    return master.variants.find((variant) => variant.uri === playlistOf(name))?.codecs;
  };
}
