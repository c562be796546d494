/**
 * The service's own "Transcode Update" events (src/schemas/events.ts): updates already in the
 * domain's words, for what MediaConvert has no event for. The local ffmpeg worker sends its
 * fast-start publications this way (renditions watchable before the job completes). Checked where
 * they enter, like every event; idempotent, and throwing on failure so the bus retries.
 */
import { TranscodeUpdateEvent } from '../src/schemas/events.ts';
import { eventParser } from './parse-event.ts';
import type { EventOutcome, VideoService } from '../src/domain/video-service.ts';

const parseTranscodeUpdate = eventParser('Transcode Update event', TranscodeUpdateEvent);

export function createTranscodeUpdateHandler(videos: Pick<VideoService, 'applyTranscodeUpdate'>) {
  return async (event: TranscodeUpdateEvent): Promise<EventOutcome> => videos.applyTranscodeUpdate(parseTranscodeUpdate(event).detail);
}
