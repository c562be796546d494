/**
 * Events are checked where they enter the handlers (events/parse-event.ts): the AWS-documented
 * samples reach the domain (S3's unchanged, MediaConvert's in the domain's words); anything else is refused, naming what is wrong
 * and where, before the domain sees it.
 */
import t from 'tap';
import { createS3UploadHandler } from '../../events/s3-upload.ts';
import { createJobStateChangeHandler } from '../../events/job-state-change.ts';
import { handler as reconcileHandler } from '../../events/reconcile.ts';
import { MalformedEventError } from '../../events/parse-event.ts';
import type { MediaConvertJobStateChangeEvent, S3Event, ScheduledEvent } from '../../src/schemas/events.ts';
import type { VideoService } from '../../src/domain/video-service.ts';
import { loadEventFixture } from '../helpers/fixtures.ts';

/** A domain that records what reached it. */
function recordingVideos() {
  const reached: unknown[] = [];
  const videos = {
    handleSourceUploaded: async (object: unknown) => (reached.push(object), 'applied' as const),
    applyTranscodeUpdate: async (update: unknown) => (reached.push(update), 'applied' as const),
  } as unknown as VideoService;
  return { videos, reached };
}

t.test('the documented S3 notifications reach the domain; a malformed one does not', async (t) => {
  const { videos, reached } = recordingVideos();
  const onUpload = createS3UploadHandler(videos);
  for (const name of ['object-created-put', 'object-created-multipart', 'object-created-encoded-key']) {
    t.same(await onUpload(await loadEventFixture<S3Event>(`s3/${name}`)), ['applied'], name);
  }
  t.equal(reached.length, 3);
  const sample = await loadEventFixture<S3Event>('s3/object-created-put');
  const withoutKey = structuredClone(sample) as unknown as { Records: Array<{ s3: { object: Record<string, unknown> } }> };
  delete withoutKey.Records[0]!.s3.object.key;
  await t.rejects(onUpload(withoutKey as unknown as S3Event), {
    name: 'MalformedEventError',
    message: /Not a S3 event notification: \/Records\/0\/s3\/object\/key/,
  });
  await t.rejects(onUpload({} as S3Event), MalformedEventError, 'no Records at all');
  const notS3 = structuredClone(sample);
  (notS3.Records[0] as { eventSource: string }).eventSource = 'aws:sqs';
  await t.rejects(onUpload(notS3), { message: /\/Records\/0\/eventSource/ }, "another service's record");
  t.equal(reached.length, 3, 'nothing malformed reached the domain');
});

t.test('the documented MediaConvert events reach the domain; a malformed one does not', async (t) => {
  const { videos, reached } = recordingVideos();
  const onJobEvent = createJobStateChangeHandler(videos);
  const complete = await loadEventFixture<MediaConvertJobStateChangeEvent>('eventbridge/mediaconvert-complete');
  t.equal(await onJobEvent(complete), 'applied');
  t.same(
    reached,
    [{ type: 'complete', videoId: complete.detail.userMetadata.videoId, jobId: complete.detail.jobId, durationSeconds: 180.041 }],
    "in the domain's words",
  );
  const unknownStatus = structuredClone(complete);
  (unknownStatus.detail as { status: string }).status = 'FINISHED';
  await t.rejects(onJobEvent(unknownStatus), { name: 'MalformedEventError', message: /\/detail\/status/ });
  const noMetadata = structuredClone(complete) as unknown as { detail: Record<string, unknown> };
  delete noMetadata.detail.userMetadata;
  await t.rejects(onJobEvent(noMetadata as unknown as MediaConvertJobStateChangeEvent), { message: /\/detail\/userMetadata/ });
  t.equal(reached.length, 1);
});

t.test("only the schedule's own event starts a reconciler run", async (t) => {
  const notScheduled = {
    ...(await loadEventFixture<ScheduledEvent>('scheduled/scheduled-event')),
    'detail-type': 'Object Created',
  } as unknown as ScheduledEvent;
  // Refused before anything is built: no configuration is read, no AWS client made.
  t.throws(() => reconcileHandler(notScheduled), { name: 'MalformedEventError', message: /\/detail-type/ });
});
