/**
 * EventBridge "MediaConvert Job State Change" events (the template's rule matches this stack's
 * jobs only; locally the ffmpeg worker sends the same). The MediaConvert adapter turns each into
 * the domain's TranscodeUpdate, which moves the video on: progress, ready with renditions, or
 * failed with a reason. Late or repeated events are no-ops; failures throw so EventBridge/Lambda retry.
 */
import { MediaConvertJobStateChangeEvent } from '../src/schemas/events.ts';
import { updateOfJobDetail } from '../src/adapters/mediaconvert/mediaconvert-updates.ts';
import { eventParser } from './parse-event.ts';
import type { EventOutcome, VideoService } from '../src/domain/video-service.ts';
import { servicesFromEnvironment } from '../src/app/runtime.ts';

const parseJobStateChange = eventParser('MediaConvert Job State Change event', MediaConvertJobStateChangeEvent);

export function createJobStateChangeHandler(videos: Pick<VideoService, 'applyTranscodeUpdate'>) {
  return async (event: MediaConvertJobStateChangeEvent): Promise<EventOutcome> => {
    const update = updateOfJobDetail(parseJobStateChange(event).detail);
    return update ? videos.applyTranscodeUpdate(update) : 'ignored';
  };
}

export const handler = (event: MediaConvertJobStateChangeEvent) => createJobStateChangeHandler(servicesFromEnvironment().services.videos)(event);
