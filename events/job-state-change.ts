/**
 * EventBridge "MediaConvert Job State Change" events (the template's rule matches this stack's
 * jobs only). Moves the video on: progress, ready with renditions, or failed with a reason.
 * Late or repeated events are no-ops; failures throw so EventBridge/Lambda retry.
 */
import { MediaConvertJobStateChangeEvent } from '../src/schemas/events.ts';
import { eventParser } from './parse-event.ts';
import type { EventOutcome, VideoService } from '../src/video-service.ts';
import { servicesFromEnvironment } from '../src/runtime.ts';

const parseJobStateChange = eventParser('MediaConvert Job State Change event', MediaConvertJobStateChangeEvent);

export function createJobStateChangeHandler(videos: VideoService) {
  return async (event: MediaConvertJobStateChangeEvent): Promise<EventOutcome> => videos.handleJobStateChange(parseJobStateChange(event).detail);
}

export const handler = (event: MediaConvertJobStateChangeEvent) => createJobStateChangeHandler(servicesFromEnvironment().services.videos)(event);
