/**
 * The catalog's contract: one suite of behaviours run against the DynamoDB adapter on dynalite and
 * against the in-memory catalog the domain tests use (test/helpers/memory-catalog.ts), so the fake
 * cannot drift from the adapter. Every change is a conditional write: each is checked where it
 * applies and where it must be refused (a duplicate, late or out-of-order event).
 */
import t, { type Test } from 'tap';
import dynalite from 'dynalite';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../../../../src/app/aws-clients.ts';
import { createVideoCatalog, VIDEO_TABLE_KEYS } from '../../../../src/adapters/dynamodb/video-catalog.ts';
import { type NewVideo, type VideoCatalog, type VideoRecord } from '../../../../src/domain/ports/video-catalog.ts';
import type { Rendition } from '../../../../src/schemas/video.ts';
import { createMemoryCatalog, MAX_WARNINGS } from '../../../helpers/memory-catalog.ts';

const REGION = 'us-east-1';
// dynalite checks no signature, but the SDK will not send a request without credentials.
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** dynalite in memory (no path): a fresh table per test, so index queries see that test's videos only. */
async function startDynalite(t: Test): Promise<() => Promise<VideoCatalog>> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const admin = new DynamoDBClient({ region: REGION, endpoint, credentials });
  const dynamo = await createDynamoDbClient({ AWS_REGION: REGION, DYNAMODB_ENDPOINT: endpoint }, { credentials });
  t.teardown(async () => {
    admin.destroy();
    dynamo.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  let tables = 0;
  return async () => {
    const tableName = `videos-${++tables}`;
    await admin.send(new CreateTableCommand({ TableName: tableName, BillingMode: 'PAY_PER_REQUEST', ...VIDEO_TABLE_KEYS }));
    return createVideoCatalog({ dynamo, tableName });
  };
}

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
/** An ISO time `seconds` after T0. */
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
/** Ids shaped like the service's (UUIDs), ordered by their number. */
const idOf = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function newVideo(n: number, overrides: Partial<NewVideo> = {}): NewVideo {
  return {
    videoId: idOf(n),
    title: `video ${n}`,
    ownerId: 'alice',
    filename: `video-${n}.mp4`,
    contentType: 'video/mp4',
    sizeBytes: 1000 + n,
    createdAt: at(n),
    ...overrides,
  };
}

const r1080: Rendition = { name: '1080p', width: 1920, height: 1080, bandwidth: 5_000_000 };
const r720: Rendition = { name: '720p', width: 1280, height: 720, bandwidth: 2_500_000 };
const r360: Rendition = { name: '360p', width: 640, height: 360, bandwidth: 800_000 };

const ids = (records: VideoRecord[]) => records.map((record) => record.videoId);

/** The behaviours every VideoCatalog has; `newCatalog` gives an empty one. */
function catalogContract(t: Test, newCatalog: () => Promise<VideoCatalog>) {
  /** A fresh catalog holding one video, and helpers to move it along. */
  async function withVideo(overrides: Partial<NewVideo> = {}) {
    const catalog = await newCatalog();
    const video = await catalog.create(newVideo(1, overrides));
    /** Claimed at 10 s, and its job recorded at 11 s when given. */
    const processing = async (jobId?: string) => {
      if (!(await catalog.claimForProcessing(video, 'seq-1', at(10)))) throw new Error('the claim was refused');
      if (jobId && !(await catalog.recordJob(video, jobId, at(11)))) throw new Error('the job was refused');
    };
    return { catalog, video, key: { videoId: video.videoId, ownerId: video.ownerId }, processing, read: async () => (await catalog.get(video.videoId))! };
  }

  t.test('create stores an awaiting video with its index keys; the same id twice is refused', async (t) => {
    const catalog = await newCatalog();
    const created = await catalog.create(newVideo(1));
    t.same(await catalog.get(idOf(1)), {
      ...newVideo(1),
      status: 'awaiting_upload',
      updatedAt: at(1),
      sortKey: `${at(1)}#${idOf(1)}`,
      ownerStatus: 'alice#awaiting_upload',
    });
    t.match(created, { status: 'awaiting_upload', sortKey: `${at(1)}#${idOf(1)}` });
    await t.rejects(catalog.create(newVideo(1, { title: 'again' })), { name: 'ConditionalCheckFailedException' });
    t.equal((await catalog.get(idOf(1)))?.title, 'video 1', 'the first record is kept');
    t.equal(await catalog.get(idOf(2)), undefined);
  });

  t.test('undefined members are not stored; a multipart plan is', async (t) => {
    const catalog = await newCatalog();
    await catalog.create({ ...newVideo(1), multipart: undefined });
    t.notOk('multipart' in (await catalog.get(idOf(1)))!);
    const multipart = { uploadId: 'u-1', partSizeBytes: 5 * 1024 ** 2, partCount: 3, expiresAt: at(86_400) };
    await catalog.create(newVideo(2, { multipart }));
    t.same((await catalog.get(idOf(2)))?.multipart, multipart);
  });

  t.test('claimForProcessing: only from awaiting_upload, once', async (t) => {
    const { catalog, key, read } = await withVideo();
    t.equal(await catalog.claimForProcessing(key, 'seq-1', at(10)), true);
    t.match(await read(), { status: 'processing', ownerStatus: 'alice#processing', sourceSequencer: 'seq-1', updatedAt: at(10) });
    t.equal(await catalog.claimForProcessing(key, 'seq-2', at(20)), false, 'a duplicate notification does not claim again');
    t.match(await read(), { sourceSequencer: 'seq-1', updatedAt: at(10) });
    t.equal(await catalog.claimForProcessing({ videoId: idOf(9), ownerId: 'alice' }, 'seq', at(10)), false, 'an absent video');
    t.equal(await catalog.get(idOf(9)), undefined, 'a refused change creates nothing');
  });

  t.test('claimForProcessing refuses a failed or deleted video', async (t) => {
    const { catalog, key } = await withVideo();
    t.ok(await catalog.markFailed(key, undefined, { code: 'abandoned', message: 'gone' }, at(5)));
    t.equal(await catalog.claimForProcessing(key, 'seq', at(10)), false);
    const other = await withVideo();
    t.ok(await other.catalog.markDeleted(other.key, at(5)));
    t.equal(await other.catalog.claimForProcessing(other.key, 'seq', at(10)), false);
  });

  t.test('recordJobIntent: processing without a job; kept from the first try; bookkeeping only', async (t) => {
    const { catalog, key, read, processing } = await withVideo();
    t.equal(await catalog.recordJobIntent(key, at(5)), false, 'not while awaiting the upload');
    await processing();
    t.equal(await catalog.recordJobIntent(key, at(12)), true);
    t.equal(await catalog.recordJobIntent(key, at(30)), true, 'a retry may submit');
    t.match(await read(), { jobRequestedAt: at(12), updatedAt: at(10) });
    t.equal((await read()).audioOnly, undefined);
    t.equal(await catalog.recordJobIntent(key, at(31), { audioOnly: true }), true);
    t.equal((await read()).audioOnly, true, 'an audio-only source is known with the intent');
    const source = { container: 'mp4', durationSeconds: 60, audio: [{ track: 1, codec: 'aac', channels: 2 }] };
    t.equal(await catalog.recordJobIntent(key, at(32), { source }), true);
    t.same((await read()).source, source, 'and what its inspection found');
    t.ok(await catalog.recordJob(key, 'job-1', at(40)));
    t.equal(await catalog.recordJobIntent(key, at(50)), false, 'refused once a job is recorded');
  });

  t.test('recordJob: the first job, again the same job, never another one', async (t) => {
    const { catalog, key, read, processing } = await withVideo();
    t.equal(await catalog.recordJob(key, 'job-1', at(5)), false, 'not while awaiting the upload');
    await processing();
    t.ok(await catalog.recordReconcileAttempt({ ...key, status: 'processing' }, { attempts: 1, nextAt: at(100) }, at(12)));
    t.equal(await catalog.recordJob(key, 'job-1', at(20), { audioOnly: true }), true);
    t.match(await read(), { jobId: 'job-1', audioOnly: true, updatedAt: at(20), status: 'processing' });
    t.notOk((await read()).reconcile, 'the video moved on: the reconciler starts afresh');
    t.equal(await catalog.recordJob(key, 'job-1', at(21)), true, 'the same job again (a PROGRESSING event after the submitter recorded it)');
    t.equal(await catalog.recordJob(key, 'job-2', at(22)), false, 'never a second job');
    t.equal((await read()).jobId, 'job-1');
    t.equal((await read()).audioOnly, true, 'recording without details keeps audioOnly');
  });

  t.test('recordProgress: raises, never lowers, only for its job', async (t) => {
    const { catalog, key, read, processing } = await withVideo();
    t.equal(await catalog.recordProgress(key, 'job-1', 10, at(5)), false, 'not while awaiting the upload');
    await processing();
    t.equal(await catalog.recordProgress(key, 'job-1', 10, at(12)), true, 'before the job is recorded (events race the submitter)');
    await catalog.recordJob(key, 'job-1', at(13));
    t.equal(await catalog.recordProgress(key, 'job-1', 40, at(14)), true);
    t.equal(await catalog.recordProgress(key, 'job-1', 40, at(15)), false, 'the same value again');
    t.equal(await catalog.recordProgress(key, 'job-1', 20, at(16)), false, 'a late, lower value');
    t.equal(await catalog.recordProgress(key, 'job-0', 90, at(17)), false, 'another job of the video');
    t.match(await read(), { progressPercent: 40, updatedAt: at(14) });
    t.ok(await catalog.markReady(key, 'job-1', { renditions: [r720] }, at(20)));
    t.equal(await catalog.recordProgress(key, 'job-1', 99, at(21)), false, 'a ready video stays at 100');
    t.equal((await read()).progressPercent, 100);
  });

  t.test('recordRenditions: playable at the first publication; the list only grows', async (t) => {
    const { catalog, key, read, processing } = await withVideo();
    t.equal(await catalog.recordRenditions(key, 'job-1', { renditions: [r360] }, at(5)), false, 'not while awaiting the upload');
    await processing('job-1');
    t.equal(await catalog.recordRenditions(key, 'job-1', { renditions: [r360], audioTracks: [], durationSeconds: 12 }, at(12)), true);
    const first = await read();
    t.match(first, { playable: true, renditions: [r360], durationSeconds: 12, updatedAt: at(12) });
    t.notOk('audioTracks' in first, 'no empty audio track list is stored');
    t.equal(await catalog.recordRenditions(key, 'job-1', { renditions: [r720] }, at(13)), false, 'as many renditions as recorded');
    t.equal(await catalog.recordRenditions(key, 'job-2', { renditions: [r1080, r720, r360] }, at(14)), false, 'another job');
    const audioTracks = [{ name: 'English', language: 'en', default: true }];
    t.equal(await catalog.recordRenditions(key, 'job-1', { renditions: [r720, r360], audioTracks }, at(15)), true);
    t.match(await read(), { renditions: [r720, r360], audioTracks, durationSeconds: 12 });
    t.equal(await catalog.recordRenditions(key, 'job-1', { renditions: [r360] }, at(16)), false, 'a late, shorter list');
    t.same((await read()).renditions, [r720, r360]);
  });

  t.test('the timeline: uploaded at the claim, playable at the first publication (kept), ready, failed', async (t) => {
    const { catalog, key, read, processing } = await withVideo();
    t.notOk((await read()).uploadedAt, 'not before the upload is complete');
    await processing('job-1');
    t.match(await read(), { uploadedAt: at(10) });
    await catalog.recordRenditions(key, 'job-1', { renditions: [r360] }, at(12));
    await catalog.recordRenditions(key, 'job-1', { renditions: [r720, r360] }, at(15));
    t.match(await read(), { uploadedAt: at(10), playableAt: at(12) }, 'a later publication keeps the first playable time');
    await catalog.markReady(key, 'job-1', { renditions: [r720, r360] }, at(20));
    t.match(await read(), { uploadedAt: at(10), playableAt: at(12), readyAt: at(20) });

    const whole = await withVideo();
    await whole.processing('job-1');
    await whole.catalog.markReady(whole.key, 'job-1', { renditions: [r720] }, at(30));
    t.match(await whole.read(), { playableAt: at(30), readyAt: at(30) }, 'published whole at its end: playable when ready');

    const failed = await withVideo();
    await failed.processing('job-1');
    await failed.catalog.markFailed(failed.key, 'job-1', { code: '1040', message: 'Example error message' }, at(25));
    const record = await failed.read();
    t.match(record, { uploadedAt: at(10), failedAt: at(25) });
    t.notOk(record.playableAt ?? record.readyAt);
  });

  t.test('recordRenditions: an audio-only stream (no video renditions) is published once', async (t) => {
    const { catalog, key, read, processing } = await withVideo();
    await processing('job-1');
    t.equal(await catalog.recordRenditions(key, 'job-1', { renditions: [] }, at(12)), true);
    t.match(await read(), { playable: true, renditions: [] });
    t.equal(await catalog.recordRenditions(key, 'job-1', { renditions: [] }, at(13)), false);
  });

  t.test('markReady: only from processing, with the same job or none recorded', async (t) => {
    const { catalog, key, read, processing } = await withVideo();
    const streams = { renditions: [r1080, r720], durationSeconds: 180.041 };
    t.equal(await catalog.markReady(key, 'job-1', streams, at(5)), false, 'not while awaiting the upload');
    await processing();
    t.ok(await catalog.recordReconcileAttempt({ ...key, status: 'processing' }, { attempts: 2, nextAt: at(100), lastError: 'silent' }, at(12)));
    t.equal(await catalog.markReady(key, 'job-1', streams, at(20)), true, 'COMPLETE before the job was recorded');
    const ready = await read();
    t.match(ready, {
      status: 'ready',
      ownerStatus: 'alice#ready',
      jobId: 'job-1',
      playable: true,
      progressPercent: 100,
      renditions: streams.renditions,
      durationSeconds: 180.041,
      updatedAt: at(20),
    });
    t.notOk(ready.reconcile);
    t.equal(await catalog.markReady(key, 'job-1', streams, at(21)), false, 'a duplicate COMPLETE');
    t.equal((await read()).updatedAt, at(20));

    const other = await withVideo();
    await other.processing('job-1');
    t.equal(await other.catalog.markReady(other.key, 'job-0', streams, at(20)), false, 'another job');
    t.equal((await other.read()).status, 'processing');
  });

  t.test('markFailed: with a job only from processing by that job; without one also from awaiting_upload', async (t) => {
    const error = { code: '1040', message: 'Example error message' };
    const awaiting = await withVideo();
    t.equal(await awaiting.catalog.markFailed(awaiting.key, 'job-1', error, at(5)), false, 'a job event for a video awaiting its upload');
    t.equal(await awaiting.catalog.markFailed(awaiting.key, undefined, error, at(6)), true, 'a rejected or abandoned upload');
    t.match(await awaiting.read(), { status: 'failed', ownerStatus: 'alice#failed', error, updatedAt: at(6) });
    t.equal(await awaiting.catalog.markFailed(awaiting.key, undefined, { code: 'x', message: 'again' }, at(7)), false, 'failed once');
    t.same((await awaiting.read()).error, error);

    const processing = await withVideo();
    await processing.processing('job-1');
    t.equal(await processing.catalog.markFailed(processing.key, 'job-0', error, at(20)), false, 'another job');
    t.equal(await processing.catalog.markFailed(processing.key, 'job-1', error, at(21)), true);
    t.equal((await processing.read()).status, 'failed');

    const ready = await withVideo();
    await ready.processing('job-1');
    await ready.catalog.markReady(ready.key, 'job-1', { renditions: [r720] }, at(20));
    t.equal(await ready.catalog.markFailed(ready.key, 'job-1', error, at(21)), false, 'a late ERROR never moves a ready video back');
    t.equal(await ready.catalog.markFailed(ready.key, undefined, error, at(22)), false);
    t.equal((await ready.read()).status, 'ready');
  });

  t.test('recordWarning: processing or ready, for the recorded job or before any is recorded, at most MAX_WARNINGS', async (t) => {
    const { catalog, key, read, processing } = await withVideo();
    const warning = (n: number) => ({ code: String(n), message: `warning ${n}` });
    t.equal(await catalog.recordWarning(key, 'job-1', warning(0), at(5)), false, 'not while awaiting the upload');
    await processing();
    t.equal(await catalog.recordWarning(key, 'job-1', warning(1), at(12)), true, 'before the job is recorded (events come out of order)');
    await catalog.recordJob(key, 'job-1', at(13));
    t.ok(await catalog.recordReconcileAttempt({ ...key, status: 'processing' }, { attempts: 1, nextAt: at(100) }, at(13)));
    t.equal(await catalog.recordWarning(key, 'job-1', warning(2), at(14)), true);
    t.match(
      await read(),
      { warnings: [warning(1), warning(2)], updatedAt: at(14), reconcile: { attempts: 1 } },
      'a warning is no progress: the reconcile state stays',
    );
    t.equal(await catalog.recordWarning(key, 'job-2', warning(3), at(15)), false, 'another job');
    await catalog.markReady(key, 'job-1', { renditions: [r720] }, at(20));
    t.equal(await catalog.recordWarning(key, 'job-1', warning(3), at(21)), true, 'after the job completed');
    for (let n = 4; n <= MAX_WARNINGS; n++) t.ok(await catalog.recordWarning(key, 'job-1', warning(n), at(21 + n)));
    t.equal(await catalog.recordWarning(key, 'job-1', warning(99), at(40)), false, 'the list is capped');
    t.same(
      (await read()).warnings,
      Array.from({ length: MAX_WARNINGS }, (_, index) => warning(index + 1)),
      'in the order they came',
    );

    const failed = await withVideo();
    await failed.processing('job-1');
    await failed.catalog.markFailed(failed.key, 'job-1', { code: '1', message: 'no' }, at(20));
    t.equal(await failed.catalog.recordWarning(failed.key, 'job-1', warning(1), at(21)), false, 'not once failed');
  });

  t.test('markDeleted: any state becomes a tombstone, once; it leaves the public indexes', async (t) => {
    const catalog = await newCatalog();
    const awaiting = await catalog.create(newVideo(1));
    const processing = await catalog.create(newVideo(2));
    const ready = await catalog.create(newVideo(3));
    await catalog.claimForProcessing(processing, 's', at(10));
    await catalog.claimForProcessing(ready, 's', at(10));
    await catalog.markReady(ready, 'job-3', { renditions: [r720] }, at(11));
    for (const video of [awaiting, processing, ready]) {
      t.equal(await catalog.markDeleted(video, at(20)), true, `from ${video.videoId}`);
      t.match(await catalog.get(video.videoId), { status: 'deleted', ownerStatus: 'alice#deleted', deletedAt: at(20), updatedAt: at(20) });
      t.equal(await catalog.markDeleted(video, at(21)), false, 'twice');
    }
    t.equal(await catalog.markDeleted({ videoId: idOf(9), ownerId: 'alice' }, at(20)), false, 'an absent video');
    t.equal(await catalog.get(idOf(9)), undefined, 'a refused delete creates no tombstone');
    t.same(await catalog.queryByStatus('ready', 10), []);
    t.same(await catalog.queryByOwnerStatus('alice', 'processing', 10), []);
    t.same(ids(await catalog.queryDue('deleted', { createdBefore: at(100), now: at(100), limit: 10 })), [idOf(1), idOf(2), idOf(3)]);
    t.equal(await catalog.markReady(ready, 'job-3', { renditions: [r720] }, at(30)), false, 'no event revives a tombstone');
    t.equal(await catalog.recordWarning(ready, 'job-3', { code: '1', message: 'w' }, at(30)), false);
  });

  t.test('recordReconcileAttempt: only in the state the reconciler saw; bookkeeping only', async (t) => {
    const { catalog, key, read, processing } = await withVideo();
    const state = { attempts: 1, nextAt: at(300), lastError: 'no job yet' };
    t.equal(await catalog.recordReconcileAttempt({ ...key, status: 'processing' }, state, at(5)), false, 'the video is not in that state');
    t.equal(await catalog.recordReconcileAttempt({ ...key, status: 'awaiting_upload' }, state, at(5)), true);
    t.match(await read(), { reconcile: state, updatedAt: at(1) });
    t.equal(await catalog.recordReconcileAttempt({ ...key, status: 'awaiting_upload' }, { ...state, attempts: 2 }, at(6)), true, 'the next attempt');
    t.equal((await read()).reconcile?.attempts, 2);
    await processing();
    t.notOk((await read()).reconcile, 'a new state starts the count afresh');
    t.equal(await catalog.recordReconcileAttempt({ videoId: idOf(9), ownerId: 'alice', status: 'processing' }, state, at(5)), false, 'an absent video');
  });

  t.test('recordFastStartRemoved: a ready video only; bookkeeping only', async (t) => {
    const { catalog, key, read, processing } = await withVideo();
    t.equal(await catalog.recordFastStartRemoved(key, at(5)), false, 'not while awaiting its upload');
    await processing('job-1');
    t.equal(await catalog.recordFastStartRemoved(key, at(12)), false, 'not while processing: the rendition may still be watched');
    await catalog.markReady(key, 'job-1', { renditions: [r720] }, at(20));
    t.equal(await catalog.recordFastStartRemoved(key, at(30)), true);
    t.match(await read(), { status: 'ready', fastStartRemovedAt: at(30), updatedAt: at(20) }, 'updatedAt unchanged');
    t.equal(await catalog.recordFastStartRemoved({ videoId: idOf(9), ownerId: 'alice' }, at(30)), false, 'an absent video');
  });

  t.test('recordProgress and recordRenditions clear the reconcile state; recordJobIntent does not', async (t) => {
    const { catalog, key, read, processing } = await withVideo();
    await processing();
    const state = { attempts: 1, nextAt: at(300) };
    await catalog.recordReconcileAttempt({ ...key, status: 'processing' }, state, at(12));
    await catalog.recordJobIntent(key, at(13));
    t.same((await read()).reconcile, state);
    await catalog.recordProgress(key, 'job-1', 5, at(14));
    t.notOk((await read()).reconcile);
    await catalog.recordReconcileAttempt({ ...key, status: 'processing' }, state, at(15));
    await catalog.recordRenditions(key, 'job-1', { renditions: [r360] }, at(16));
    t.notOk((await read()).reconcile);
  });

  t.test('queryByStatus and queryByOwnerStatus: newest first, keyset pages, one partition each', async (t) => {
    const catalog = await newCatalog();
    // Two videos created in the same millisecond: the id orders them.
    const created = [
      newVideo(1),
      newVideo(2, { ownerId: 'bob' }),
      newVideo(3),
      newVideo(4, { createdAt: at(3) }),
      newVideo(5),
      newVideo(6, { ownerId: 'bob' }),
    ];
    for (const video of created) {
      const record = await catalog.create(video);
      await catalog.claimForProcessing(record, 's', at(50));
      await catalog.markReady(record, `job-${video.videoId}`, { renditions: [r720] }, at(60));
    }
    await catalog.create(newVideo(7));
    t.same(ids(await catalog.queryByStatus('ready', 10)), [idOf(6), idOf(5), idOf(4), idOf(3), idOf(2), idOf(1)]);
    const first = await catalog.queryByStatus('ready', 2);
    t.same(ids(first), [idOf(6), idOf(5)]);
    const second = await catalog.queryByStatus('ready', 2, first.at(-1)!.sortKey);
    t.same(ids(second), [idOf(4), idOf(3)], 'the next page starts after the last sortKey, ties in time included');
    const third = await catalog.queryByStatus('ready', 2, second.at(-1)!.sortKey);
    t.same(ids(third), [idOf(2), idOf(1)]);
    t.same(await catalog.queryByStatus('ready', 2, third.at(-1)!.sortKey), []);
    t.same(ids(await catalog.queryByOwnerStatus('alice', 'ready', 10)), [idOf(5), idOf(4), idOf(3), idOf(1)]);
    t.same(ids(await catalog.queryByOwnerStatus('bob', 'ready', 1, `${at(6)}#${idOf(6)}`)), [idOf(2)]);
    t.same(ids(await catalog.queryByOwnerStatus('alice', 'awaiting_upload', 10)), [idOf(7)]);
    t.same(await catalog.queryByOwnerStatus('bob', 'awaiting_upload', 10), []);
    t.same(await catalog.queryByStatus('failed', 10), []);
  });

  t.test('an index query refuses a limit under 1; queryDue reads nothing for it', async (t) => {
    const catalog = await newCatalog();
    await catalog.create(newVideo(1));
    await t.rejects(catalog.queryByOwnerStatus('alice', 'awaiting_upload', 0));
    t.same(await catalog.queryDue('awaiting_upload', { createdBefore: at(10), now: at(10), limit: 0 }), []);
  });

  t.test('queryDue: oldest first, created before the grace period, out of backoff, at most limit', async (t) => {
    const catalog = await newCatalog();
    for (let n = 1; n <= 6; n++) await catalog.create(newVideo(n));
    const key = (n: number) => ({ videoId: idOf(n), ownerId: 'alice', status: 'awaiting_upload' as const });
    await catalog.recordReconcileAttempt(key(2), { attempts: 1, nextAt: at(100) }, at(10)); // in backoff at 50
    await catalog.recordReconcileAttempt(key(3), { attempts: 1, nextAt: at(50) }, at(10)); // due exactly at 50
    const due = (options: { createdBefore: string; now: string; limit: number; maxPages?: number }) => catalog.queryDue('awaiting_upload', options).then(ids);
    t.same(await due({ createdBefore: at(5), now: at(50), limit: 10 }), [idOf(1), idOf(3), idOf(4)], 'video 5 is within the grace period');
    t.same(await due({ createdBefore: at(5), now: at(100), limit: 10 }), [idOf(1), idOf(2), idOf(3), idOf(4)]);
    t.same(await due({ createdBefore: at(100), now: at(50), limit: 2 }), [idOf(1), idOf(3)]);
    t.same(await due({ createdBefore: at(100), now: at(50), limit: 10 }), [idOf(1), idOf(3), idOf(4), idOf(5), idOf(6)]);
    t.same(await catalog.queryDue('processing', { createdBefore: at(100), now: at(50), limit: 10 }), []);
  });

  t.test('queryDue: the limit counts the items read, before videos in backoff are left out', async (t) => {
    const catalog = await newCatalog();
    for (let n = 1; n <= 5; n++) await catalog.create(newVideo(n));
    for (const n of [1, 2]) {
      await catalog.recordReconcileAttempt({ videoId: idOf(n), ownerId: 'alice', status: 'awaiting_upload' }, { attempts: 1, nextAt: at(1000) }, at(10));
    }
    const options = { createdBefore: at(100), now: at(50), limit: 2 };
    t.same(await catalog.queryDue('awaiting_upload', { ...options, maxPages: 1 }), [], 'one page of two, both in backoff');
    t.same(ids(await catalog.queryDue('awaiting_upload', { ...options, maxPages: 2 })), [idOf(3), idOf(4)], 'the next page has them');
    t.same(ids(await catalog.queryDue('awaiting_upload', { ...options, limit: 3, maxPages: 1 })), [idOf(3)]);
    t.same(ids(await catalog.queryDue('awaiting_upload', options)), [idOf(3), idOf(4)], 'ten pages by default');
  });

  t.test('delete removes the item for good', async (t) => {
    const { catalog, key } = await withVideo();
    await catalog.markDeleted(key, at(5));
    await catalog.delete(key.videoId);
    t.equal(await catalog.get(key.videoId), undefined);
    t.same(await catalog.queryDue('deleted', { createdBefore: at(100), now: at(100), limit: 10 }), []);
    await catalog.delete(key.videoId);
    t.pass('deleting an absent item is no error');
  });

  t.test('records read are copies: changing one changes nothing stored', async (t) => {
    const { catalog, key, read } = await withVideo();
    const copy = await read();
    copy.title = 'changed';
    (await catalog.queryByOwnerStatus('alice', 'awaiting_upload', 1))[0]!.status = 'ready';
    t.equal((await read()).title, 'video 1');
    t.equal(await catalog.claimForProcessing(key, 's', at(10)), true);
  });
}

const newDynamoCatalog = await startDynalite(t);
t.test('the DynamoDB adapter on dynalite', async (t) => catalogContract(t, newDynamoCatalog));
t.test('the in-memory catalog', async (t) => catalogContract(t, async () => createMemoryCatalog()));
