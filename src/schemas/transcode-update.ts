/**
 * The domain's own language for what a transcode job did: the video service receives these and
 * nothing else (video-service.ts, applyTranscodeUpdate). Each transcoder's adapter turns its own
 * reports into them: MediaConvert's EventBridge events and GetJob answers
 * (src/adapters/mediaconvert/mediaconvert-updates.ts, which the local ffmpeg worker's MediaConvert-shaped
 * events go through as well). Fast start, which MediaConvert has no word for, is the fast-start
 * function's (events/fast-start.ts): it reports what it published as the job's renditions-published.
 *
 * A TypeBox schema, so one declaration is the type and the check where an update enters.
 */
import { Type, type Static } from '@sinclair/typebox';

const job = {
  videoId: Type.String({ minLength: 1 }),
  /** The transcoder's id of the job: an update of any other job of the video is stale. */
  jobId: Type.String({ minLength: 1 }),
};

/** A reason people can read, with a code for programs (the transcoder's, or the service's own). */
const reason = { code: Type.String({ minLength: 1 }), message: Type.String() };

export const JobStarted = Type.Object({ type: Type.Literal('started'), ...job });
export const JobProgressed = Type.Object({ type: Type.Literal('progress'), ...job, percent: Type.Number({ minimum: 0, maximum: 100 }) });
/**
 * Renditions can be watched before the job ends (fast start): the master playlist lists them now.
 * `videoRenditions` says how many video renditions it lists, so a late or repeated report is known
 * without reading the playlist again; `durationSeconds` when a published rendition is complete.
 */
export const RenditionsPublished = Type.Object({
  type: Type.Literal('renditions-published'),
  ...job,
  videoRenditions: Type.Integer({ minimum: 0 }),
  durationSeconds: Type.Optional(Type.Number({ minimum: 0 })),
});
export const JobWarned = Type.Object({ type: Type.Literal('warning'), ...job, ...reason });
/** The job wrote every rendition and the master playlist that lists them; the duration when the transcoder reports one. */
export const JobCompleted = Type.Object({ type: Type.Literal('complete'), ...job, durationSeconds: Type.Optional(Type.Number({ minimum: 0 })) });
export const JobFailed = Type.Object({ type: Type.Literal('failed'), ...job, ...reason });
export const JobCanceled = Type.Object({ type: Type.Literal('canceled'), ...job });

export const TranscodeUpdate = Type.Union([JobStarted, JobProgressed, RenditionsPublished, JobWarned, JobCompleted, JobFailed, JobCanceled]);
export type TranscodeUpdate = Static<typeof TranscodeUpdate>;

/** The updates a job ends with: nothing is written for it after one of these. */
export type FinalTranscodeUpdate = Extract<TranscodeUpdate, { type: 'complete' | 'failed' | 'canceled' }>;
export const isFinalUpdate = (update: TranscodeUpdate): update is FinalTranscodeUpdate =>
  update.type === 'complete' || update.type === 'failed' || update.type === 'canceled';

/** What a transcoder says of a job when asked (the reconciler asks): still at work, or how it ended. */
export type TranscodeJobStatus = { finished: false } | { finished: true; update: FinalTranscodeUpdate };
