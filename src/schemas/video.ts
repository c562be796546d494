/** The public shape of a video and of the list/get/delete requests, shared by routes and OpenAPI. */
import { Type, type Static } from '@sinclair/typebox';

export const VideoStatus = Type.Union([Type.Literal('awaiting_upload'), Type.Literal('processing'), Type.Literal('ready'), Type.Literal('failed')], {
  $id: 'VideoStatus',
  description: 'awaiting_upload → processing → ready | failed',
});
export type VideoStatus = Static<typeof VideoStatus>;

export const VideoId = Type.String({ pattern: '^[0-9a-f-]{36}$', description: 'UUID of the video' });

export const Rendition = Type.Object(
  {
    name: Type.String({ description: 'For example 720p' }),
    width: Type.Integer({ minimum: 1 }),
    height: Type.Integer({ minimum: 1 }),
    bandwidth: Type.Integer({ minimum: 1, description: 'Peak bits per second (HLS BANDWIDTH)' }),
  },
  { $id: 'Rendition', additionalProperties: false },
);
export type Rendition = Static<typeof Rendition>;

export const AudioTrack = Type.Object(
  {
    name: Type.String({ description: 'As the player offers it, e.g. English, Commentary' }),
    language: Type.Optional(Type.String({ description: 'RFC 5646 language tag, e.g. en, fr' })),
    default: Type.Boolean({ description: 'The track players start with' }),
  },
  { $id: 'AudioTrack', additionalProperties: false },
);
export type AudioTrack = Static<typeof AudioTrack>;

export const VideoWarning = Type.Object(
  {
    code: Type.String(),
    message: Type.String({ description: 'What the viewer may notice, in words a person can read' }),
  },
  { $id: 'VideoWarning', additionalProperties: false },
);
export type VideoWarning = Static<typeof VideoWarning>;

export const VideoError = Type.Object(
  {
    code: Type.String(),
    message: Type.String({ description: 'A reason a person can read' }),
  },
  { $id: 'VideoError', additionalProperties: false },
);
export type VideoError = Static<typeof VideoError>;

export const Video = Type.Object(
  {
    videoId: VideoId,
    title: Type.String(),
    ownerId: Type.String(),
    status: Type.Ref(VideoStatus),
    createdAt: Type.String({ format: 'date-time' }),
    updatedAt: Type.String({ format: 'date-time' }),
    // The video's timeline, one instant each, the same whichever transcoder (MediaConvert or the
    // local worker) converted it: how long a viewer waited for what.
    uploadedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When the upload was complete and its conversion began' })),
    playableAt: Type.Optional(
      Type.String({ format: 'date-time', description: 'When a first rendition could be watched (fast start), at the latest when the video was ready' }),
    ),
    readyAt: Type.Optional(Type.String({ format: 'date-time', description: 'When every rendition was published' })),
    failedAt: Type.Optional(Type.String({ format: 'date-time', description: 'When the video failed (see `error`)' })),
    progressPercent: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    playable: Type.Optional(
      Type.Boolean({
        description:
          'True once a first rendition can be watched: always when ready, and while processing as soon as the first ' +
          'rendition is published (its owner may then get a playback URL). `renditions` lists what exists so far ' +
          'and grows until the video is ready. Absent until then.',
      }),
    ),
    durationSeconds: Type.Optional(Type.Number({ minimum: 0 })),
    renditions: Type.Optional(Type.Array(Type.Ref(Rendition), { description: 'Largest first; while processing, the renditions published so far' })),
    audioOnly: Type.Optional(
      Type.Boolean({ description: 'True for an upload without pictures (music, a podcast): its stream is audio only, with no video renditions and no poster' }),
    ),
    audioTracks: Type.Optional(
      Type.Array(Type.Ref(AudioTrack), {
        description: 'The audio tracks a player can switch between (HLS alternate audio), when the upload had more than one; the first is the default',
      }),
    ),
    warnings: Type.Optional(
      Type.Array(Type.Ref(VideoWarning), { description: 'Problems met while converting that did not stop it, e.g. a damaged part of the source' }),
    ),
    error: Type.Optional(Type.Ref(VideoError)),
  },
  { $id: 'Video', additionalProperties: false },
);
export type Video = Static<typeof Video>;

export const ListStatusFilter = Type.Union([Type.Literal('ready'), Type.Literal('processing'), Type.Literal('failed'), Type.Literal('all')], {
  default: 'ready',
});
export type ListStatusFilter = Static<typeof ListStatusFilter>;

export const ListVideosQuery = Type.Object(
  {
    status: Type.Optional(ListStatusFilter),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
    cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'nextCursor of the previous page' })),
  },
  { additionalProperties: false },
);
export type ListVideosQuery = Static<typeof ListVideosQuery>;

export const VideoPage = Type.Object(
  {
    items: Type.Array(Type.Ref(Video)),
    nextCursor: Type.Optional(Type.String()),
  },
  { $id: 'VideoPage', additionalProperties: false },
);
export type VideoPage = Static<typeof VideoPage>;

// Any string is looked up (an unknown id is a 404, not a 400), bounded to keep keys small.
export const VideoParams = Type.Object({ videoId: Type.String({ minLength: 1, maxLength: 64 }) });
