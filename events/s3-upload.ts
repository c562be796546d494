/**
 * S3 ObjectCreated notifications for `uploads/` (the template filters on that prefix, so stream
 * output never arrives here). Each record claims its video and submits one transcode job.
 * Throws on failure so Lambda retries; repeats are harmless (see VideoService.handleSourceUploaded).
 */
import { S3Event } from '../src/schemas/events.ts';
import { eventParser } from './parse-event.ts';
import type { EventOutcome, VideoService } from '../src/domain/video-service.ts';
import { servicesFromEnvironment } from '../src/app/runtime.ts';

/** S3 URL-encodes keys in notifications, with spaces as '+'. */
export const decodeS3Key = (key: string) => decodeURIComponent(key.replace(/\+/g, ' '));

const parseS3Event = eventParser('S3 event notification', S3Event);

/**
 * Each record of a checked S3 notification, one outcome each: `created` runs for an object that
 * was created (its key decoded), anything else is ignored. Both S3-fed handlers walk records so.
 */
export async function eachCreatedObject(
  event: unknown,
  created: (object: { key: string; record: S3Event['Records'][number] }) => Promise<EventOutcome>,
): Promise<EventOutcome[]> {
  const outcomes: EventOutcome[] = [];
  for (const record of parseS3Event(event).Records) {
    outcomes.push(record.eventName.startsWith('ObjectCreated:') ? await created({ key: decodeS3Key(record.s3.object.key), record }) : 'ignored');
  }
  return outcomes;
}

/**
 * `requestFastStart`, when fast start is on, hands the record on (as a notification of its own)
 * once the video's job is recorded: the fast-start function reports as that job. Handed on for a
 * repeat too, so a crash between the two is made good; the fast-start function ignores a video
 * that is playable or no longer processing.
 */
export function createS3UploadHandler(videos: Pick<VideoService, 'handleSourceUploaded'>, requestFastStart?: (event: S3Event) => Promise<void>) {
  return (event: S3Event): Promise<EventOutcome[]> =>
    eachCreatedObject(event, async ({ key, record }) => {
      const outcome = await videos.handleSourceUploaded({ key, sequencer: record.s3.object.sequencer });
      if (outcome !== 'ignored' && requestFastStart) await requestFastStart({ Records: [record] });
      return outcome;
    });
}

export const handler = (event: S3Event) => {
  const { services } = servicesFromEnvironment();
  return createS3UploadHandler(services.videos, services.requestFastStart)(event);
};
