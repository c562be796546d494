/**
 * What the service knows of an uploaded source (SourceMedia, from a probe) and what it decided to
 * make of it (TranscodePlan): runtime-neutral, so one planner (src/domain/transcode-plan.ts)
 * serves both transcoders. The MediaConvert adapter turns a plan into job settings; the local
 * ffmpeg worker receives it as its job and validates it with this same schema.
 */
import { Type, type Static } from '@sinclair/typebox';

export const Ratio = Type.Object({ numerator: Type.Integer({ minimum: 1 }), denominator: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });
export type Ratio = Static<typeof Ratio>;

export const SourceVideo = Type.Object(
  {
    /** The track's number in the container, from 1 (MediaConvert's Probe Track.Index). */
    track: Type.Optional(Type.Integer({ minimum: 1 })),
    /** Lower case, as MediaConvert's Probe names codecs: `avc`, `hevc`, `mpeg2`, `vp9`, `av1`, `prores`, `mjpeg`, `unknown`... */
    codec: Type.String(),
    codedWidth: Type.Integer({ minimum: 0 }),
    codedHeight: Type.Integer({ minimum: 0 }),
    /** Width of a pixel over its height; absent means square. */
    pixelAspect: Type.Optional(Ratio),
    /** Quarter turns of the display matrix: the picture is shown rotated by this. */
    rotation: Type.Union([Type.Literal(0), Type.Literal(90), Type.Literal(180), Type.Literal(270)]),
    /** The rate frames are timed at (a variable-frame-rate source's nominal rate). */
    frameRate: Type.Optional(Ratio),
    /** Frames over duration: lower than frameRate when frames are dropped or timed irregularly. */
    averageFrameRate: Type.Optional(Ratio),
    bitDepth: Type.Optional(Type.Integer({ minimum: 1 })),
    /** For example `4:2:0`. */
    chromaSubsampling: Type.Optional(Type.String()),
    /** For example `High`, `Main 10`. */
    profile: Type.Optional(Type.String()),
    /** For example `4.0`. */
    level: Type.Optional(Type.String()),
    /** `progressive` or `interlaced` (top or bottom field first), as the stream declares it. */
    scanType: Type.Optional(Type.String()),
    /** MediaConvert's TransferCharacteristics names: `ITU_709`, `ARIB_B67` (HLG), `SMPTE_2084` (PQ)... */
    transfer: Type.Optional(Type.String()),
    /** MediaConvert's ColorPrimaries names: `ITU_709`, `ITU_2020`... */
    primaries: Type.Optional(Type.String()),
    /** Bits per second of the video track, when the container says. */
    bitRate: Type.Optional(Type.Integer({ minimum: 0 })),
    durationSeconds: Type.Optional(Type.Number({ minimum: 0 })),
    /**
     * How the video would cut into segments if packaged as it is, from the container's sample
     * table (MP4/MOV): the number of segments, the longest, and the highest video bitrate of one.
     */
    segmentsAsPackaged: Type.Optional(
      Type.Object(
        { count: Type.Integer({ minimum: 1 }), longestSeconds: Type.Number({ minimum: 0 }), peakBitrate: Type.Integer({ minimum: 0 }) },
        { additionalProperties: false },
      ),
    ),
    /** A Dolby Vision configuration record: profile 8 carries an HDR10 (1), SDR (2) or HLG (4) base layer. */
    dolbyVision: Type.Optional(Type.Object({ profile: Type.Integer(), compatibility: Type.Integer() }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type SourceVideo = Static<typeof SourceVideo>;

export const SourceAudio = Type.Object(
  {
    /** The track's number in the container, from 1 (MediaConvert's Probe Track.Index, its audio selector's Tracks). */
    track: Type.Integer({ minimum: 1 }),
    codec: Type.String(),
    channels: Type.Integer({ minimum: 0 }),
    sampleRate: Type.Optional(Type.Integer({ minimum: 0 })),
    bitRate: Type.Optional(Type.Integer({ minimum: 0 })),
    /** ISO 639-2 or -3, as containers store it (`eng`, `fra`); absent or `und` when unknown. */
    language: Type.Optional(Type.String()),
    /** The track's own title, when the container has a meaningful one. */
    name: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type SourceAudio = Static<typeof SourceAudio>;

export const SourceMedia = Type.Object(
  {
    /** MediaConvert's container names: `mp4`, `quicktime`, `matroska`, `webm`, `mxf`, `wave`, `avi`, `mpegts`. */
    container: Type.Optional(Type.String()),
    /** The type the bytes look like (for files that are not media: `image/png`, `text/plain`). */
    mimeType: Type.Optional(Type.String()),
    sizeBytes: Type.Optional(Type.Integer({ minimum: 0 })),
    durationSeconds: Type.Optional(Type.Number({ minimum: 0 })),
    video: Type.Optional(SourceVideo),
    audio: Type.Array(SourceAudio),
  },
  { additionalProperties: false },
);
export type SourceMedia = Static<typeof SourceMedia>;

export const RenditionPlan = Type.Object(
  {
    name: Type.String({ minLength: 1, pattern: '^[0-9a-z-]+$' }),
    width: Type.Integer({ minimum: 2 }),
    height: Type.Integer({ minimum: 2 }),
    videoBitrate: Type.Integer({ minimum: 1 }),
    audioBitrate: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);
export type RenditionPlan = Static<typeof RenditionPlan>;

export const AudioTrackPlan = Type.Object(
  {
    /** The source track (SourceAudio.track). */
    track: Type.Integer({ minimum: 1 }),
    /** Its position among the source's audio tracks, from 0 (ffmpeg's `0:a:N`). */
    index: Type.Integer({ minimum: 0 }),
    /** Folder of its rendition when audio is not muxed into the video: `audio-1`, `audio-2`... */
    rendition: Type.String({ pattern: '^[0-9a-z-]+$' }),
    /** HLS NAME: letters, digits, spaces (MediaConvert's StreamName allows no more). */
    name: Type.String({ minLength: 1, pattern: '^[\\w\\s]+$' }),
    /** HLS LANGUAGE (RFC 5646, `en`, `fr`), when the source says. */
    language: Type.Optional(Type.String({ pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9-]+)?$' })),
    default: Type.Boolean(),
    channels: Type.Integer({ minimum: 1 }),
    /** Gains in dB (-60 = off) from each source channel into left and right; absent: already stereo. */
    downmix: Type.Optional(Type.Tuple([Type.Array(Type.Number()), Type.Array(Type.Number())])),
    /**
     * Already what every rendition carries (AAC, stereo, 48 kHz): a packaged rendition may carry
     * it as it is instead of encoding it again. Encoded renditions always encode.
     */
    passThrough: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type AudioTrackPlan = Static<typeof AudioTrackPlan>;

export const VideoPlan = Type.Object(
  {
    /** The picture as shown: rotation and pixel aspect applied. */
    display: Type.Object({ width: Type.Integer({ minimum: 1 }), height: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
    rotation: Type.Union([Type.Literal(0), Type.Literal(90), Type.Literal(180), Type.Literal(270)]),
    /** Every rendition's constant frame rate. */
    frameRate: Ratio,
    /** The stream says it is interlaced: deinterlace it. */
    deinterlace: Type.Boolean(),
    /** What the source's colours are, so every rendition comes out BT.709 SDR. */
    colour: Type.Union([Type.Literal('sdr'), Type.Literal('hlg'), Type.Literal('pq')]),
    /** Largest first. */
    renditions: Type.Array(RenditionPlan, { minItems: 1 }),
  },
  { additionalProperties: false },
);
export type VideoPlan = Static<typeof VideoPlan>;

export const PackagingPlan = Type.Union([
  Type.Object({ eligible: Type.Literal(true) }, { additionalProperties: false }),
  Type.Object({ eligible: Type.Literal(false), reason: Type.String() }, { additionalProperties: false }),
]);
export type PackagingPlan = Static<typeof PackagingPlan>;

export const AudioLayout = Type.Union([Type.Literal('none'), Type.Literal('muxed'), Type.Literal('alternate'), Type.Literal('audio-only')], {
  description:
    'none: video only. muxed: one track, in every video rendition. alternate: several tracks, each an HLS ' +
    'alternate audio rendition (EXT-X-MEDIA) beside video-only renditions. audio-only: no video at all.',
});
export type AudioLayout = Static<typeof AudioLayout>;

export const TranscodePlan = Type.Object(
  {
    durationSeconds: Type.Number({ minimum: 0 }),
    /** Absent for an audio-only source. */
    video: Type.Optional(VideoPlan),
    audioLayout: AudioLayout,
    /** The source tracks that become audio, first one the default. */
    audio: Type.Array(AudioTrackPlan),
    /**
     * Whether the source's own video may be published as its top rendition without re-encoding
     * (fast start), and if not, why. Eligible sources are still measured before publication.
     */
    packaging: PackagingPlan,
    source: SourceMedia,
  },
  { additionalProperties: false },
);
export type TranscodePlan = Static<typeof TranscodePlan>;
