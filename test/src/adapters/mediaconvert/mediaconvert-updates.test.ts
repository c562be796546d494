/**
 * MediaConvert's reports in the domain's words (src/adapters/mediaconvert/mediaconvert-updates.ts): every
 * AWS-documented job event, and GetJob's answers in the event's shape, as the reconciler sees them.
 */
import t from 'tap';
import { Value } from '@sinclair/typebox/value';
import type { MediaConvertJobDetail, MediaConvertJobStateChangeEvent } from '../../../../src/schemas/events.ts';
import { TranscodeUpdate } from '../../../../src/schemas/transcode-update.ts';
import { jobStatusOfDetail, updateOfJobDetail } from '../../../../src/adapters/mediaconvert/mediaconvert-updates.ts';
import { FIXTURE_VIDEO_ID, loadEventFixture } from '../../../helpers/fixtures.ts';

const JOB = '1671477617078-2886ye';
const job = { videoId: FIXTURE_VIDEO_ID, jobId: JOB };
const detailOf = async (name: string) => (await loadEventFixture<MediaConvertJobStateChangeEvent>(`eventbridge/mediaconvert-${name}`)).detail;

t.test('each documented event becomes one update, valid against the domain schema', async (t) => {
  const expected: Array<[string, TranscodeUpdate]> = [
    ['progressing', { type: 'started', ...job }],
    ['status-update', { type: 'progress', ...job, percent: 7 }],
    ['complete', { type: 'complete', ...job, durationSeconds: 180.041 }],
    ['new-warning', { type: 'warning', ...job, code: '000000', message: 'Example warning message' }],
    ['error', { type: 'failed', ...job, code: '1040', message: 'Example error message' }],
  ];
  for (const [name, update] of expected) {
    const actual = updateOfJobDetail(await detailOf(name));
    t.same(actual, update, name);
    t.ok(Value.Check(TranscodeUpdate, actual), `${name}: a valid update`);
  }
});

t.test('what the service keeps nothing of becomes no update', async (t) => {
  const progressing = await detailOf('progressing');
  for (const status of ['SUBMITTED', 'INPUT_INFORMATION', 'QUEUE_HOP'] as const) {
    t.equal(updateOfJobDetail({ ...progressing, status }), undefined, status);
  }
  t.equal(updateOfJobDetail({ ...progressing, userMetadata: {} }), undefined, 'a job this service did not submit (no videoId)');
  t.equal(updateOfJobDetail({ ...progressing, status: 'STATUS_UPDATE', jobProgress: undefined }), undefined, 'a STATUS_UPDATE without a percentage');
  const warning = await detailOf('new-warning');
  t.equal(updateOfJobDetail({ ...warning, warningCode: undefined }), undefined, 'a warning without a code');
});

t.test('missing words get readable defaults; percentages stay within 0-100', async (t) => {
  const error = await detailOf('error');
  t.same(updateOfJobDetail({ ...error, errorCode: undefined, errorMessage: undefined }), {
    type: 'failed',
    ...job,
    code: 'unknown',
    message: 'The video could not be converted',
  });
  const warning = await detailOf('new-warning');
  t.match(updateOfJobDetail({ ...warning, warningCode: 230005, warningMessage: undefined }), {
    code: '230005',
    message: 'The transcoder reported warning 230005',
  });
  t.same(updateOfJobDetail({ ...error, status: 'CANCELED' }), { type: 'canceled', ...job });
  const update = await detailOf('status-update');
  t.match(updateOfJobDetail({ ...update, jobProgress: { jobPercentComplete: 140 } }), { percent: 100 });
  const complete = await detailOf('complete');
  t.same(updateOfJobDetail({ ...complete, outputGroupDetails: undefined }), { type: 'complete', ...job }, 'no outputs, no duration');
});

t.test('a job as GetJob tells it: at work, or finished with the update it ended with', async (t) => {
  const at = (status: MediaConvertJobDetail['status']): MediaConvertJobDetail => ({
    timestamp: 0,
    accountId: '1',
    queue: 'q',
    jobId: JOB,
    status,
    userMetadata: { videoId: FIXTURE_VIDEO_ID },
  });
  for (const status of ['SUBMITTED', 'PROGRESSING', 'STATUS_UPDATE'] as const) t.same(jobStatusOfDetail(at(status)), { finished: false }, status);
  t.same(jobStatusOfDetail(at('COMPLETE')), { finished: true, update: { type: 'complete', ...job } });
  t.same(jobStatusOfDetail({ ...at('ERROR'), errorCode: 1010, errorMessage: 'unreadable' }), {
    finished: true,
    update: { type: 'failed', ...job, code: '1010', message: 'unreadable' },
  });
  t.same(jobStatusOfDetail(at('CANCELED')), { finished: true, update: { type: 'canceled', ...job } });
});
