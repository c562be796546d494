/**
 * The adaptive-bitrate ladder: which renditions a source gets, at what bitrates, frame rate and
 * segment length, and what a rendition may cost a viewer. One set of numbers for every runtime:
 * the MediaConvert job settings, the local ffmpeg worker and the fast-start packager read them here.
 */

/** Segment length in seconds; keyframes are placed every SEGMENT_SECONDS so segments align. */
export const SEGMENT_SECONDS = 4;

/**
 * The longest target duration (EXT-X-TARGETDURATION) any playlist of a video may declare, and so
 * the longest segment (rounded to whole seconds, RFC 8216 4.3.3.1) a packaged rendition may have:
 * encoded renditions cut every SEGMENT_SECONDS; a packaged one cuts at the source's own keyframes,
 * the first at or after every SEGMENT_SECONDS, so a keyframe at most every 3 s is needed. Apple's
 * HLS authoring specification recommends a 6-second target duration.
 */
export const MAX_TARGET_DURATION_SECONDS = 6;

/**
 * The poster image beside the master playlist: the first frame, at the smallest rendition's size.
 * MediaConvert names frame captures `<name>.NNNNNNN.jpg` (a 7-digit sequence number), so a frame
 * capture output with destination `.../poster` and one capture writes exactly this name; the local
 * worker writes the same, so clients find it in one place (and it is signed like the stream).
 */
export const POSTER_FILE = 'poster.0000000.jpg';

/** AAC-LC audio, the same for every rendition: stereo, 48 kHz, 128 kbit/s. */
export const AUDIO_BITRATE = 128_000;
export const AUDIO_SAMPLE_RATE = 48_000;
export const AUDIO_CHANNELS = 2;

/**
 * MPEG-TS and PES headers on top of the elementary streams, as a share of their bitrate (ffmpeg's
 * own estimate for BANDWIDTH is the same 10%).
 */
export const TRANSPORT_OVERHEAD = 0.1;

/**
 * How far one segment's bitrate may rise above its rendition's nominal video bitrate. Encodes use
 * a VBV buffer of twice the bitrate (MediaConvert: HrdBufferSize; x264: bufsize), so a segment of
 * SEGMENT_SECONDS can carry at most (SEGMENT_SECONDS + 2) / SEGMENT_SECONDS of it: 1.5.
 */
export const PEAK_FACTOR = (SEGMENT_SECONDS + 2) / SEGMENT_SECONDS;

export interface LadderRung {
  name: string;
  /** Target length of the SHORT side in pixels, so portrait video gets the same rungs. */
  shortSide: number;
  /** Video bitrate in bits per second (also the maxrate; the buffer is twice that). */
  videoBitrate: number;
}

/**
 * Highest first. The steps between neighbours stay within about 2x in bitrate, as Apple's HLS
 * authoring specification advises, so a player switching quality never falls far.
 */
export const LADDER: readonly LadderRung[] = [
  { name: '1080p', shortSide: 1080, videoBitrate: 5_000_000 },
  { name: '720p', shortSide: 720, videoBitrate: 2_800_000 },
  { name: '540p', shortSide: 540, videoBitrate: 1_600_000 },
  { name: '360p', shortSide: 360, videoBitrate: 800_000 },
];

/**
 * A source whose short side lies more than this factor above the highest rung it fits (and below
 * the top rung) gets a rendition at its own size on top: a 480p DVD or a 900p screen recording keeps
 * its resolution class instead of being cut to the rung below it; a 576p source is within 10% of
 * 540p and gets that.
 */
const OWN_SIZE_FACTOR = 1.1;

/** The smallest bitrate a rendition of a tiny source gets. */
const MIN_VIDEO_BITRATE = 200_000;

export interface PlannedRendition {
  name: string;
  width: number;
  height: number;
  /** Bits per second. */
  videoBitrate: number;
  /** Bits per second; only used when the source has audio. */
  audioBitrate: number;
}

/** Rounds to the nearest even number of at least 2 (H.264 4:2:0 needs even dimensions). */
export function toEven(value: number): number {
  return Math.max(2, 2 * Math.round(value / 2));
}

/**
 * The video bitrate for a rendition whose short side is `shortSide`: a rung's own bitrate, or
 * between two rungs interpolated by picture area (the square of the short side), or below the
 * lowest rung scaled down by area (a 320x240 clip does not need 800 kbit/s), never below
 * MIN_VIDEO_BITRATE nor above the top rung.
 */
export function videoBitrateFor(shortSide: number): number {
  const top = LADDER[0]!;
  const lowest = LADDER.at(-1)!;
  const area = (side: number) => side * side;
  if (shortSide >= top.shortSide) return top.videoBitrate;
  const below = LADDER.find((rung) => rung.shortSide <= shortSide);
  if (!below) {
    const scaled = (lowest.videoBitrate * area(shortSide)) / area(lowest.shortSide);
    return Math.max(MIN_VIDEO_BITRATE, Math.round(scaled / 1000) * 1000);
  }
  const above = LADDER[LADDER.indexOf(below) - 1]!;
  const share = (area(shortSide) - area(below.shortSide)) / (area(above.shortSide) - area(below.shortSide));
  const bitrate = below.videoBitrate + share * (above.videoBitrate - below.videoBitrate);
  return Math.round(bitrate / 1000) * 1000;
}

/**
 * The most a rendition of this short side may ask of a viewer's connection, in bits per second
 * over any one segment, transport included: what its playlist may declare as BANDWIDTH. An encoded
 * rendition stays within it by construction (maxrate and buffer); a packaged one is measured
 * against it before it is published.
 */
export function peakBandwidthBudget(shortSide: number, withAudio: boolean): number {
  const video = videoBitrateFor(shortSide) * PEAK_FACTOR;
  return Math.ceil((video + (withAudio ? AUDIO_BITRATE : 0)) * (1 + TRANSPORT_OVERHEAD));
}

/**
 * The average bitrate of a packaged source's video may not exceed its rendition's nominal rate,
 * nor any one of its segments the PEAK_FACTOR above it that an encoded rendition's buffer allows:
 * then its BANDWIDTH stays within peakBandwidthBudget like an encoded rendition's.
 */
export function packagedAverageBudget(shortSide: number): number {
  return videoBitrateFor(shortSide);
}

export function packagedPeakVideoBudget(shortSide: number): number {
  return Math.floor(videoBitrateFor(shortSide) * PEAK_FACTOR);
}

/**
 * Plans the renditions for a source of the given DISPLAY size (rotation and pixel aspect applied):
 * every rung whose short side fits within the source's, aspect ratio kept, never upscaled, plus one
 * at the source's own size when it falls well between rungs (OWN_SIZE_FACTOR). A source smaller than
 * the lowest rung gets one rendition at its own size.
 */
export function planRenditions(source: { width: number; height: number }): PlannedRendition[] {
  if (!(source.width > 0 && source.height > 0)) {
    throw new RangeError(`Invalid source size ${source.width}x${source.height}`);
  }
  const portrait = source.height > source.width;
  const sourceShort = Math.min(source.width, source.height);
  const sourceLong = Math.max(source.width, source.height);

  const sized = (shortSide: number): { width: number; height: number } => {
    const short = toEven(shortSide);
    const long = toEven((sourceLong * shortSide) / sourceShort);
    return portrait ? { width: short, height: long } : { width: long, height: short };
  };
  const rendition = (name: string, shortSide: number, videoBitrate: number): PlannedRendition => ({
    name,
    ...sized(shortSide),
    videoBitrate,
    audioBitrate: AUDIO_BITRATE,
  });

  const fitting = LADDER.filter((rung) => rung.shortSide <= sourceShort);
  const rungs = fitting.map((rung) => rendition(rung.name, rung.shortSide, rung.videoBitrate));
  const highest = fitting[0];
  const ownSize = !highest || (sourceShort < LADDER[0]!.shortSide && sourceShort > highest.shortSide * OWN_SIZE_FACTOR);
  if (!ownSize) return rungs;
  const own = sized(sourceShort);
  const ownShort = Math.min(own.width, own.height);
  return [rendition(`${ownShort}p`, sourceShort, videoBitrateFor(ownShort)), ...rungs];
}

/** A frame rate as MediaConvert and ffmpeg take it: numerator over denominator. */
export interface FrameRate {
  numerator: number;
  denominator: number;
}

/** Rates players and encoders know, in the order they are tried. */
const STANDARD_FRAME_RATES: readonly FrameRate[] = [
  { numerator: 24000, denominator: 1001 },
  { numerator: 24, denominator: 1 },
  { numerator: 25, denominator: 1 },
  { numerator: 30000, denominator: 1001 },
  { numerator: 30, denominator: 1 },
  { numerator: 48, denominator: 1 },
  { numerator: 50, denominator: 1 },
  { numerator: 60000, denominator: 1001 },
  { numerator: 60, denominator: 1 },
];

/** The highest frame rate a rendition gets; faster sources are halved (or more) to fit. */
export const MAX_FRAME_RATE = 60;

export const frameRateValue = (rate: FrameRate) => rate.numerator / rate.denominator;

/**
 * The constant frame rate every rendition of a video is encoded at. A variable-frame-rate source
 * (phones, screen recordings, dropped frames) has a nominal rate (the timebase its frames sit on)
 * and a lower average; the renditions take the nominal one, so motion keeps its timing and gaps are
 * filled by repeating frames, and every rendition lasts exactly as long as the source. Rates above
 * MAX_FRAME_RATE are divided down (120 -> 60, 100 -> 50), and the result snaps to a standard rate
 * within 0.5%.
 */
export function outputFrameRate(source: { nominal?: FrameRate; average?: FrameRate }): FrameRate {
  const valid = (rate: FrameRate | undefined): rate is FrameRate =>
    rate !== undefined && rate.numerator > 0 && rate.denominator > 0 && Number.isFinite(frameRateValue(rate));
  const nominal = valid(source.nominal) ? source.nominal : undefined;
  const average = valid(source.average) ? source.average : undefined;
  // A nominal rate far above the average is a timebase, not a frame rate (some files say 90000).
  const chosen =
    nominal && (!average || frameRateValue(nominal) <= Math.max(4 * frameRateValue(average), 2 * MAX_FRAME_RATE))
      ? nominal
      : (average ?? nominal ?? { numerator: 30, denominator: 1 });
  let value = frameRateValue(chosen);
  let divisor = 1;
  while (value / divisor > MAX_FRAME_RATE + 0.5) divisor += 1;
  value /= divisor;
  const error = (rate: FrameRate) => Math.abs(frameRateValue(rate) - value) / value;
  const standard = STANDARD_FRAME_RATES.reduce((best, rate) => (error(rate) < error(best) ? rate : best));
  if (error(standard) < 0.005) return { ...standard };
  if (divisor === 1 && Number.isInteger(chosen.numerator) && Number.isInteger(chosen.denominator) && chosen.denominator <= 1001) {
    return { numerator: chosen.numerator, denominator: chosen.denominator };
  }
  return { numerator: Math.round(value * 1000), denominator: 1000 };
}

/** Frames per GOP at a frame rate: one keyframe every SEGMENT_SECONDS, fixed, no scene cuts. */
export function gopFrames(framesPerSecond: number): number {
  if (!(framesPerSecond > 0) || !Number.isFinite(framesPerSecond)) {
    throw new RangeError(`Invalid frame rate ${framesPerSecond}`);
  }
  return Math.max(1, Math.round(SEGMENT_SECONDS * framesPerSecond));
}

/**
 * How a source's channels become the renditions' stereo pair: for each output channel (left,
 * right), the gain in dB of every input channel, -60 meaning off (MediaConvert's remix takes
 * exactly this; the local worker renders it as an ffmpeg `pan` filter). Undefined: the source is
 * already stereo. Channel orders are the ones MPEG-4 and ffmpeg use: 5.1 is L R C LFE Ls Rs, 7.1
 * is L R C LFE Lb Rb Ls Rs. Centre and surrounds are mixed in at -3 dB (ITU-R BS.775), the LFE is
 * dropped; layouts without a standard downmix keep their first two channels.
 */
export function stereoDownmix(channels: number): [number[], number[]] | undefined {
  const OFF = -60;
  if (channels === 2) return undefined;
  if (channels === 1) return [[0], [0]];
  if (channels === 6) {
    return [
      [0, OFF, -3, OFF, -3, OFF],
      [OFF, 0, -3, OFF, OFF, -3],
    ];
  }
  if (channels === 8) {
    return [
      [0, OFF, -3, OFF, -3, OFF, -3, OFF],
      [OFF, 0, -3, OFF, OFF, -3, OFF, -3],
    ];
  }
  const left = Array.from({ length: channels }, (_, i) => (i === 0 ? 0 : OFF));
  const right = Array.from({ length: channels }, (_, i) => (i === 1 ? 0 : OFF));
  return [left, right];
}
