/**
 * Shapes of the AWS events the handlers in `events/` receive, as TypeBox schemas so the same
 * declaration gives the TypeScript type and a runtime check. Only the fields the service reads
 * are required; AWS adds fields over time, so every object stays open (additionalProperties).
 *
 * S3: https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 * MediaConvert: https://docs.aws.amazon.com/mediaconvert/latest/ug/ev_status_change.html
 * Schedule: https://docs.aws.amazon.com/lambda/latest/dg/with-scheduled-events.html
 */
import { Type, type Static } from '@sinclair/typebox';

export const S3EventRecord = Type.Object({
  eventVersion: Type.String(),
  eventSource: Type.Literal('aws:s3'),
  awsRegion: Type.String(),
  eventTime: Type.String(),
  eventName: Type.String({ description: 'For example ObjectCreated:Put' }),
  s3: Type.Object({
    s3SchemaVersion: Type.String(),
    configurationId: Type.Optional(Type.String()),
    bucket: Type.Object({ name: Type.String(), arn: Type.String() }),
    object: Type.Object({
      key: Type.String({ description: 'URL-encoded, spaces as +' }),
      size: Type.Optional(Type.Number()),
      eTag: Type.Optional(Type.String()),
      versionId: Type.Optional(Type.String()),
      sequencer: Type.String(),
    }),
  }),
});
export type S3EventRecord = Static<typeof S3EventRecord>;

export const S3Event = Type.Object({ Records: Type.Array(S3EventRecord) });
export type S3Event = Static<typeof S3Event>;

export const MediaConvertJobStatus = Type.Union([
  Type.Literal('SUBMITTED'),
  Type.Literal('PROGRESSING'),
  Type.Literal('INPUT_INFORMATION'),
  Type.Literal('STATUS_UPDATE'),
  Type.Literal('COMPLETE'),
  Type.Literal('CANCELED'),
  Type.Literal('ERROR'),
  Type.Literal('NEW_WARNING'),
  Type.Literal('QUEUE_HOP'),
]);
export type MediaConvertJobStatus = Static<typeof MediaConvertJobStatus>;

/** The statuses a job ends in: nothing is written for it after one of these. */
export const FINAL_JOB_STATUSES: ReadonlySet<MediaConvertJobStatus> = new Set(['COMPLETE', 'ERROR', 'CANCELED']);

export const MediaConvertOutputDetail = Type.Object({
  outputFilePaths: Type.Optional(Type.Array(Type.String())),
  durationInMs: Type.Optional(Type.Number()),
  videoDetails: Type.Optional(Type.Object({ widthInPx: Type.Number(), heightInPx: Type.Number() })),
});

export const MediaConvertOutputGroupDetail = Type.Object({
  outputDetails: Type.Array(MediaConvertOutputDetail),
  playlistFilePaths: Type.Optional(Type.Array(Type.String())),
  type: Type.String({ description: 'For example HLS_GROUP' }),
});

export const MediaConvertJobDetail = Type.Object({
  timestamp: Type.Number(),
  accountId: Type.String(),
  queue: Type.String(),
  jobId: Type.String(),
  status: MediaConvertJobStatus,
  userMetadata: Type.Record(Type.String(), Type.String()),
  framesDecoded: Type.Optional(Type.Number()),
  jobProgress: Type.Optional(
    Type.Object({
      phaseProgress: Type.Optional(Type.Unknown()),
      jobPercentComplete: Type.Optional(Type.Number()),
      currentPhase: Type.Optional(Type.String()),
      retryCount: Type.Optional(Type.Number()),
    }),
  ),
  outputGroupDetails: Type.Optional(Type.Array(MediaConvertOutputGroupDetail)),
  errorCode: Type.Optional(Type.Number()),
  errorMessage: Type.Optional(Type.String()),
  /** NEW_WARNING: the most recent warning (the documentation's sample has a string code). */
  warningCode: Type.Optional(Type.Union([Type.String(), Type.Number()])),
  warningMessage: Type.Optional(Type.String()),
  /** COMPLETE: every warning the job met, by code. */
  warnings: Type.Optional(Type.Array(Type.Object({ code: Type.Union([Type.String(), Type.Number()]), count: Type.Optional(Type.Number()) }))),
});
export type MediaConvertJobDetail = Static<typeof MediaConvertJobDetail>;

export const MediaConvertJobStateChangeEvent = Type.Object({
  version: Type.String(),
  id: Type.String(),
  'detail-type': Type.Literal('MediaConvert Job State Change'),
  source: Type.Literal('aws.mediaconvert'),
  account: Type.String(),
  time: Type.String(),
  region: Type.String(),
  resources: Type.Array(Type.String()),
  detail: MediaConvertJobDetail,
});
export type MediaConvertJobStateChangeEvent = Static<typeof MediaConvertJobStateChangeEvent>;

/**
 * What an EventBridge schedule rule sends its target (template.yaml: ReconcileFunction's
 * schedule). The reconciler reads nothing from it: each run looks at the catalog as it is.
 */
export const ScheduledEvent = Type.Object({
  version: Type.Optional(Type.String()),
  id: Type.String(),
  'detail-type': Type.Literal('Scheduled Event'),
  source: Type.Literal('aws.events'),
  account: Type.String(),
  time: Type.String(),
  region: Type.String(),
  resources: Type.Array(Type.String()),
  detail: Type.Object({}),
});
export type ScheduledEvent = Static<typeof ScheduledEvent>;
