/**
 * The adaptive-bitrate ladder: which renditions a source gets and at what bitrates. Shared by the
 * local ffmpeg worker and the MediaConvert adapter so both produce the same HLS output.
 */

/** Segment length in seconds; keyframes are placed every SEGMENT_SECONDS so segments align. */
export const SEGMENT_SECONDS = 4;

/**
 * The poster image beside the master playlist: the first frame, at the smallest rendition's size.
 * MediaConvert names frame captures `<name>.NNNNNNN.jpg` (a 7-digit sequence number), so a frame
 * capture output with destination `.../poster` and one capture writes exactly this name; the local
 * worker writes the same, so clients find it in one place (and it is signed like the stream).
 */
export const POSTER_FILE = 'poster.0000000.jpg';

/** AAC-LC audio bitrate, the same for every rendition. */
export const AUDIO_BITRATE = 128_000;

export interface LadderRung {
  name: string;
  /** Target length of the SHORT side in pixels, so portrait video gets the same rungs. */
  shortSide: number;
  /** Video bitrate in bits per second (also the maxrate; the buffer is twice that). */
  videoBitrate: number;
}

/** Highest first. */
export const LADDER: readonly LadderRung[] = [
  { name: '1080p', shortSide: 1080, videoBitrate: 5_000_000 },
  { name: '720p', shortSide: 720, videoBitrate: 2_800_000 },
  { name: '360p', shortSide: 360, videoBitrate: 800_000 },
];

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
 * Plans the renditions for a source of the given DISPLAY size (after rotation is applied): every
 * rung whose short side fits within the source's short side, aspect ratio kept, never upscaled.
 * A source smaller than the lowest rung gets one rendition at its own size.
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

  const fitting = LADDER.filter((rung) => rung.shortSide <= sourceShort);
  if (fitting.length > 0) {
    return fitting.map((rung) => ({
      name: rung.name,
      ...sized(rung.shortSide),
      videoBitrate: rung.videoBitrate,
      audioBitrate: AUDIO_BITRATE,
    }));
  }

  // Smaller than the lowest rung: one rendition at the source size, with the lowest rung's
  // bitrate scaled by pixel count (a 320x240 clip does not need 800 kbit/s), floored so tiny
  // sources are not starved.
  const lowest = LADDER[LADDER.length - 1]!;
  const size = sized(sourceShort);
  const lowestPixels = lowest.shortSide * ((lowest.shortSide * 16) / 9);
  const videoBitrate = Math.max(
    200_000,
    Math.round((lowest.videoBitrate * (size.width * size.height)) / lowestPixels / 1000) * 1000,
  );
  return [
    {
      name: `${Math.min(size.width, size.height)}p`,
      ...size,
      videoBitrate: Math.min(videoBitrate, lowest.videoBitrate),
      audioBitrate: AUDIO_BITRATE,
    },
  ];
}

/**
 * Frames per GOP for a frame rate: one keyframe every SEGMENT_SECONDS, fixed (no scene-cut
 * keyframes), so every rendition cuts its segments at the same instants.
 */
export function gopFrames(framesPerSecond: number): number {
  if (!(framesPerSecond > 0) || !Number.isFinite(framesPerSecond)) {
    throw new RangeError(`Invalid frame rate ${framesPerSecond}`);
  }
  return Math.max(1, Math.round(SEGMENT_SECONDS * framesPerSecond));
}
