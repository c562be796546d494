/**
 * The one set of rules that turns a probed source into a transcode plan, for both transcoders:
 * the MediaConvert job settings (mediaconvert-transcoder.ts) and the local ffmpeg worker
 * (deploy/local/mediaconvert/) execute what this decides, and nothing else decides it.
 *
 * - Files that cannot become a stream are refused here, before any job, with a reason a person
 *   can read (SourceRejectedError): still images, text, empty or unrecognisable files, pictures
 *   outside MediaConvert's input limits.
 * - Geometry: renditions are planned from the DISPLAY size (pixel aspect and rotation applied), so
 *   anamorphic DVD/HDV sources come out with square pixels at their true shape.
 * - Colour: HLG, PQ (HDR10) and Dolby Vision 8.x sources are marked for conversion to BT.709 SDR.
 * - Interlaced streams are marked for deinterlacing; every rendition gets one constant frame rate.
 * - Audio: one track is muxed into every video rendition; several become alternate renditions;
 *   every one is stereo (a declared downmix for 5.1 and 7.1); a file without video is audio only.
 * - Fast start: whether the source's own video may be published as is (see whyNotPackaged),
 *   measured on the segments it would make before anything is packaged.
 */
import type { AudioTrackPlan, SourceAudio, SourceMedia, SourceVideo, TranscodePlan, VideoPlan } from '../schemas/transcode.ts';
import { SourceRejectedError } from './errors.ts';
import {
  AUDIO_CHANNELS,
  AUDIO_SAMPLE_RATE,
  frameRateValue,
  MAX_FRAME_RATE,
  MAX_TARGET_DURATION_SECONDS,
  outputFrameRate,
  packagedAverageBudget,
  packagedPeakVideoBudget,
  planRenditions,
  SEGMENT_SECONDS,
  stereoDownmix,
} from './ladder.ts';

/** MediaConvert's input limits per side of the coded picture. */
export const MIN_PICTURE_SIDE = 32;
export const MAX_PICTURE_SIDE = 8192;

/** At most this many audio tracks become renditions (the rest are left out, and the plan says so). */
export const MAX_AUDIO_TRACKS = 8;

/** Codecs of single pictures: a file whose only "video" is one of these is a still image. */
const IMAGE_CODECS = new Set(['png', 'bmp', 'tiff', 'webp', 'gif', 'jpeg2000_still']);

/** H.264 profiles every browser decodes. */
const PACKAGED_PROFILES = new Set(['baseline', 'constrained baseline', 'main', 'high']);

const megabits = (bits: number) => `${(bits / 1_000_000).toFixed(1)} Mbit/s`;

/** The picture as it is shown: coded size stretched by the pixel aspect, then rotated. */
export function displaySize(video: SourceVideo): { width: number; height: number } {
  const aspect = video.pixelAspect ? video.pixelAspect.numerator / video.pixelAspect.denominator : 1;
  // Anamorphic pixels widen (or narrow) the picture; the height stays the coded lines.
  const width = aspect > 0 && Number.isFinite(aspect) ? Math.round(video.codedWidth * aspect) : video.codedWidth;
  const height = video.codedHeight;
  const swap = video.rotation === 90 || video.rotation === 270;
  return swap ? { width: height, height: width } : { width, height };
}

/** What the source's colours are: HLG and PQ (HDR10) by their transfer, Dolby Vision by its base layer. */
export function colourOf(video: SourceVideo): VideoPlan['colour'] {
  if (video.transfer === 'ARIB_B67') return 'hlg';
  if (video.transfer === 'SMPTE_2084') return 'pq';
  const dv = video.dolbyVision;
  if (dv) {
    // Profile 8: a base layer in HDR10 (compatibility 1), SDR (2) or HLG (4). Profiles 5 and 7
    // have no compatible base layer; their closest rendering without Dolby Vision is PQ.
    if (dv.profile === 8 && dv.compatibility === 4) return 'hlg';
    if (dv.profile === 8 && dv.compatibility === 2) return 'sdr';
    return 'pq';
  }
  return 'sdr';
}

const isInterlaced = (video: SourceVideo) => /interlace|top|bottom|tff|bff|field/i.test(video.scanType ?? '');

const squarePixels = (video: SourceVideo) => !video.pixelAspect || video.pixelAspect.numerator === video.pixelAspect.denominator;

/**
 * Why the source's own video cannot be published as its top rendition without re-encoding;
 * undefined when it can. It must be what a browser plays as is (H.264 8-bit 4:2:0, progressive,
 * SDR, square pixels, upright, at most MAX_FRAME_RATE), exactly the size of the plan's top
 * rendition, and keep that rendition's promises, measured on the segments it would make (from its
 * container's sample table): none longer than the target duration every playlist of the video
 * declares, none whose video rate is above what an encoded rendition of its size may reach.
 */
export function whyNotPackaged(video: SourceVideo, plan: VideoPlan): string | undefined {
  if (video.codec !== 'avc') return `its video is ${video.codec.toUpperCase()}, not H.264`;
  if (!video.profile || !PACKAGED_PROFILES.has(video.profile.toLowerCase())) {
    return `its H.264 profile is ${video.profile ?? 'unknown'}`;
  }
  if (video.bitDepth !== 8) return `its bit depth is ${video.bitDepth ?? 'unknown'}, not 8`;
  if (video.chromaSubsampling !== '4:2:0') return `its chroma is ${video.chromaSubsampling ?? 'unknown'}, not 4:2:0`;
  if (plan.deinterlace) return 'it is interlaced';
  if (plan.colour !== 'sdr') return `it is HDR (${plan.colour.toUpperCase()})`;
  if (!squarePixels(video)) return `its pixels are not square (${video.pixelAspect!.numerator}:${video.pixelAspect!.denominator})`;
  if (video.rotation !== 0) return `it is stored rotated by ${video.rotation}°`;
  const rate = video.frameRate ?? video.averageFrameRate;
  if (rate && frameRateValue(rate) > MAX_FRAME_RATE + 0.5) return `its frame rate is above ${MAX_FRAME_RATE} fps`;
  const top = plan.renditions[0]!;
  if (plan.display.width !== top.width || plan.display.height !== top.height) {
    return `its picture (${plan.display.width}x${plan.display.height}) is not a rendition size (the top one is ${top.width}x${top.height})`;
  }
  const shortSide = Math.min(top.width, top.height);
  const budget = packagedAverageBudget(shortSide);
  if (video.bitRate !== undefined && video.bitRate > budget) {
    return `its video bitrate (${megabits(video.bitRate)}) is above the ${top.name} budget (${megabits(budget)})`;
  }
  const segments = video.segmentsAsPackaged;
  if (!segments) return 'its container has no sample table to measure its segments by';
  if (Math.round(segments.longestSeconds) > MAX_TARGET_DURATION_SECONDS) {
    return `its keyframes are too far apart (a segment of ${segments.longestSeconds.toFixed(1)} s; at most ${MAX_TARGET_DURATION_SECONDS} s)`;
  }
  const peak = packagedPeakVideoBudget(shortSide);
  if (segments.peakBitrate > peak) {
    return `its video peaks at ${megabits(segments.peakBitrate)} in a segment, above the ${megabits(peak)} a ${top.name} rendition may reach`;
  }
  return undefined;
}

/**
 * Peak and average bits per second of a rendition's segments (its BANDWIDTH and
 * AVERAGE-BANDWIDTH). A last segment much shorter than the rest (a few frames) carries a
 * keyframe's bits over a sliver of time; counting it would advertise a peak no viewer needs.
 */
export function measureBandwidth(segments: ReadonlyArray<{ duration: number; bytes: number }>): { peak: number; average: number } {
  const seconds = segments.reduce((sum, s) => sum + s.duration, 0);
  const bits = segments.reduce((sum, s) => sum + s.bytes * 8, 0);
  const last = segments.at(-1);
  const counted = segments.length > 1 && last && last.duration < SEGMENT_SECONDS / 2 ? segments.slice(0, -1) : segments;
  const peak = Math.max(0, ...counted.filter((s) => s.duration > 0).map((s) => (s.bytes * 8) / s.duration));
  return { peak: Math.ceil(peak), average: seconds > 0 ? Math.ceil(bits / seconds) : 0 };
}

// --- audio ------------------------------------------------------------------------------------

/** Built at the first use: loading ICU's language names is not free at a Lambda's cold start. */
let englishLanguageNames: Intl.DisplayNames | undefined;

/** RFC 5646 tag of a container's ISO 639-2/-3 code (`eng` -> `en`, `fre` -> `fr`); undefined when unknown. */
export function languageTag(code: string | undefined): string | undefined {
  if (!code || /^(und|mul|zxx|mis)$/i.test(code)) return undefined;
  try {
    const [tag] = Intl.getCanonicalLocales(code);
    return tag && /^[A-Za-z]{2,3}(-[A-Za-z0-9-]+)?$/.test(tag) ? tag : undefined;
  } catch {
    return undefined;
  }
}

/** Titles muxers write by default, which say nothing about the track. */
const GENERIC_TITLE = /^(|sound|audio|video|stereo|mono|surround|track\s*\d*|(sound|audio|video)\s*(media\s*)?handler|core media (audio|video)|[a-z]{2,3})$/i;

/** Letters, digits and spaces only (MediaConvert's StreamName), accents folded: `Commentaire (réal.)` -> `Commentaire real`. */
function plainName(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\w\s]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 64);
}

function trackName(audio: SourceAudio, language: string | undefined, position: number): string {
  const own = audio.name?.trim();
  if (own && !GENERIC_TITLE.test(own)) {
    const plain = plainName(own);
    if (plain) return plain;
  }
  if (language) {
    englishLanguageNames ??= new Intl.DisplayNames(['en'], { type: 'language' });
    const named = englishLanguageNames.of(language);
    if (named && named.toLowerCase() !== language.toLowerCase()) return plainName(named) || `Track ${position + 1}`;
  }
  return `Track ${position + 1}`;
}

/** The audio tracks that become renditions, first one the default, names unique. */
export function planAudioTracks(audio: readonly SourceAudio[]): AudioTrackPlan[] {
  const usable = audio
    .map((track, index) => ({ track, index }))
    .filter(({ track }) => track.channels > 0)
    .slice(0, MAX_AUDIO_TRACKS);
  const seen = new Map<string, number>();
  return usable.map(({ track, index }, position) => {
    const language = languageTag(track.language);
    let name = trackName(track, language, position);
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    if (count > 1) name = `${name} ${count}`;
    const downmix = stereoDownmix(track.channels);
    const passThrough = track.codec === 'aac' && track.channels === AUDIO_CHANNELS && track.sampleRate === AUDIO_SAMPLE_RATE;
    return {
      track: track.track,
      index,
      rendition: `audio-${position + 1}`,
      name,
      ...(language ? { language } : {}),
      default: position === 0,
      channels: track.channels,
      ...(downmix ? { downmix } : {}),
      ...(passThrough ? { passThrough } : {}),
    };
  });
}

// --- the plan ---------------------------------------------------------------------------------

/** Why a file with no usable track is not a video, in words for the person who uploaded it. */
function rejectTracklessFile(source: SourceMedia): never {
  const mime = source.mimeType ?? '';
  if (source.sizeBytes === 0) throw new SourceRejectedError('empty-file', 'The uploaded file is empty (0 bytes).');
  if (mime.startsWith('image/')) throw new SourceRejectedError('still-image', 'This is a still image, not a video.');
  if (mime.startsWith('text/')) throw new SourceRejectedError('text-file', 'This is a text file, not a video.');
  if (source.container) {
    throw new SourceRejectedError(
      'damaged-file',
      // "an MP4", "a MOV": the article goes by how the name is spoken.
      `The file looks like ${/^[aefhilmnorsx]/i.test(source.container) ? 'an' : 'a'} ${source.container.toUpperCase()} file, but nothing in it could be read: it may be truncated or damaged.`,
    );
  }
  throw new SourceRejectedError('unrecognised-file', 'This file is not a video or audio file we can read: its format was not recognised.');
}

function sourceDuration(source: SourceMedia): number {
  const duration = source.durationSeconds ?? source.video?.durationSeconds ?? 0;
  if (!(duration > 0) || !Number.isFinite(duration)) {
    throw new SourceRejectedError('unknown-duration', 'The file could not be read to its end (its duration is unknown): it may be truncated or damaged.');
  }
  return duration;
}

function planVideo(video: SourceVideo): VideoPlan {
  const { codedWidth: width, codedHeight: height } = video;
  if (width < MIN_PICTURE_SIDE || height < MIN_PICTURE_SIDE) {
    throw new SourceRejectedError(
      'picture-too-small',
      `The picture is too small (${width}x${height} pixels): a video needs at least ${MIN_PICTURE_SIDE} pixels on each side.`,
    );
  }
  if (width > MAX_PICTURE_SIDE || height > MAX_PICTURE_SIDE) {
    throw new SourceRejectedError(
      'picture-too-large',
      `The picture is too large (${width}x${height} pixels): at most ${MAX_PICTURE_SIDE} pixels on each side can be converted.`,
    );
  }
  const display = displaySize(video);
  return {
    display,
    rotation: video.rotation,
    frameRate: outputFrameRate({
      ...(video.frameRate ? { nominal: video.frameRate } : {}),
      ...(video.averageFrameRate ? { average: video.averageFrameRate } : {}),
    }),
    deinterlace: isInterlaced(video),
    colour: colourOf(video),
    renditions: planRenditions(display),
  };
}

/**
 * The plan for a probed source, or a SourceRejectedError saying in plain words why it cannot be
 * converted. Pure: the same source always gets the same plan, so a retried event plans alike.
 */
export function planTranscode(source: SourceMedia): TranscodePlan {
  const audio = planAudioTracks(source.audio);
  // A sound file's only picture is its cover art (Probe may list it as a one-frame video track).
  const coverArt = Boolean(source.video) && audio.length > 0 && (source.mimeType ?? '').startsWith('audio/');
  const video = coverArt ? undefined : source.video;
  if (!video && audio.length === 0) rejectTracklessFile(source);

  if (video) {
    const mime = source.mimeType ?? '';
    const image = IMAGE_CODECS.has(video.codec) || mime.startsWith('image/');
    const moving = (video.durationSeconds ?? source.durationSeconds ?? 0) > 0;
    if (image && mime === 'image/gif' && moving) {
      throw new SourceRejectedError('animated-image', 'This is an animated GIF, not a video: save it as a video (for example MP4) and upload that.');
    }
    if (image || (!moving && audio.length === 0)) {
      throw new SourceRejectedError('still-image', 'This is a still image, not a video.');
    }
  }

  const durationSeconds = sourceDuration(source);
  if (!video) {
    return {
      durationSeconds,
      audioLayout: 'audio-only',
      // One programme: the first track (a second language of a podcast has no picture to follow).
      audio: audio.slice(0, 1),
      packaging: { eligible: false, reason: 'it has no video' },
      source,
    };
  }

  const videoPlan = planVideo(video);
  const reason = whyNotPackaged(video, videoPlan);
  return {
    durationSeconds,
    video: videoPlan,
    audioLayout: audio.length === 0 ? 'none' : audio.length === 1 ? 'muxed' : 'alternate',
    audio,
    packaging: reason ? { eligible: false, reason } : { eligible: true },
    source,
  };
}

/** How fast start publishes a video's first rendition, or why it does not. */
export type FastStartPlan = { how: 'package' } | { how: 'encode' } | { how: 'none'; reason: string };

/** Time kept back from the function's limit: for the upload of the last segments and the catalog update. */
export const FAST_START_MARGIN_SECONDS = 20;

/**
 * Seconds of work per second of video, twice what was measured here (2 cores, ffmpeg 5.1):
 * remuxing reads the source at storage speed; encoding the smallest rung (360p) of a 1080p30
 * source ran at 4.6x real time (`npm run bench -- --only fast-start` times it). Encoding scales
 * with the source's pixels per second: its decode is most of the work.
 */
const PACKAGE_SECONDS_PER_SECOND = 0.1;
const ENCODE_SECONDS_PER_SECOND = 0.45;
const REFERENCE_PIXEL_RATE = 1920 * 1080 * 30;

/**
 * Fast start (the first rendition published within seconds, while the transcoder makes the
 * ladder): the source's own stream packaged when the plan allows it, else the smallest rung
 * (and the audio) encoded, as long as the work fits the `secondsLeft` a function has. Beyond
 * that, a video is playable when the transcoder completes.
 */
export function planFastStart(plan: TranscodePlan, secondsLeft: number): FastStartPlan {
  const budget = secondsLeft - FAST_START_MARGIN_SECONDS;
  if (plan.packaging.eligible) {
    if (plan.durationSeconds * PACKAGE_SECONDS_PER_SECOND <= budget) return { how: 'package' };
    return { how: 'none', reason: `packaging ${Math.round(plan.durationSeconds)} s of video may not finish in ${Math.round(budget)} s` };
  }
  // An audio-only source is a tenth of the reference's work, whatever its length.
  const scale = plan.video ? (plan.video.display.width * plan.video.display.height * frameRateValue(plan.video.frameRate)) / REFERENCE_PIXEL_RATE : 0.1;
  const work = plan.durationSeconds * ENCODE_SECONDS_PER_SECOND * Math.max(0.1, scale);
  if (work <= budget) return { how: 'encode' };
  return { how: 'none', reason: `encoding the first rendition of ${Math.round(plan.durationSeconds)} s of video may not finish in ${Math.round(budget)} s` };
}
