import t from 'tap';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { createEventOutbox, type EventOutbox } from '../../../deploy/local/event-outbox.ts';
import { toAwsS3Event, encodeS3Key } from '../../../deploy/local/s3/s3-notifications.ts';
import { Value } from '@sinclair/typebox/value';
import { S3Event } from '../../../src/schemas/events.ts';
import { decodeS3Key } from '../../../events/s3-upload.ts';

const quietLogger = { info: () => undefined, error: () => undefined };

type Delivery = Pick<Parameters<typeof createEventOutbox<{ n: number }>>[0], 'deliver' | 'retry'>;
/** A quiet outbox of `{ n }` events in `dir`, delivered and retried as `delivery` says. */
const outboxIn = (dir: string, delivery: Delivery) => createEventOutbox<{ n: number }>({ name: 'test', dir, logger: quietLogger, ...delivery });

/** Starts the outbox, publishes one event and waits until its delivery succeeded or was given up. */
async function publishOne(outbox: EventOutbox<{ n: number }>): Promise<void> {
  await outbox.start();
  await outbox.publish({ n: 1 });
  await outbox.idle();
}

t.test('an event is retried until its handler succeeds, then removed from disk', async (t) => {
  const dir = t.testdir();
  let calls = 0;
  const outbox = outboxIn(dir, {
    retry: { retries: 3, minTimeoutMs: 10, factor: 1 },
    deliver: async () => {
      calls++;
      if (calls < 3) throw new Error('not yet');
    },
  });
  await publishOne(outbox);
  t.equal(calls, 3);
  t.same(await readdir(path.join(dir, 'pending')), []);
});

t.test('an event that keeps failing goes to the dead-letter folder', async (t) => {
  const dir = t.testdir();
  const outbox = outboxIn(dir, { retry: { retries: 1, minTimeoutMs: 5, factor: 1 }, deliver: () => Promise.reject(new Error('broken handler')) });
  await publishOne(outbox);
  t.equal((await readdir(path.join(dir, 'dead-letter'))).length, 1);
  t.same(await readdir(path.join(dir, 'pending')), []);
});

t.test('events left at a stop are redelivered by the next start', async (t) => {
  const dir = t.testdir();
  const first = outboxIn(dir, { retry: { retries: 1, minTimeoutMs: 60_000, factor: 1 }, deliver: () => Promise.reject(new Error('down')) });
  await first.start();
  await first.publish({ n: 7 });
  await new Promise((resolve) => setTimeout(resolve, 20));
  const stopping = Date.now();
  await first.stop();
  t.ok(Date.now() - stopping < 1000, 'stop does not wait out a retry delay');
  const delivered: number[] = [];
  const second = outboxIn(dir, { deliver: async (event) => void delivered.push(event.n) });
  await second.start();
  await second.idle();
  t.same(delivered, [7]);
});

t.test("s3rver's notifications become S3's own shape, filtered like the template", async (t) => {
  const s3rverEvent = {
    Records: [
      {
        eventVersion: '2.0',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: '2026-11-24T05:00:00.000Z',
        eventName: 'ObjectCreated:Put',
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'testConfigId',
          bucket: { name: 'vod-local', arn: 'arn:aws:s3: : :vod-local' },
          object: { key: 'uploads/a b=c/source', size: 10, eTag: 'abc', sequencer: '19AB' },
        },
      },
    ],
  };
  const event = toAwsS3Event(s3rverEvent, 'eu-west-1');
  t.ok(event && Value.Check(S3Event, event), 'valid against the S3 event schema');
  t.match(event?.Records[0], {
    eventVersion: '2.1',
    awsRegion: 'eu-west-1',
    s3: { bucket: { arn: 'arn:aws:s3:::vod-local' }, object: { key: 'uploads/a+b%3Dc/source', sequencer: '00000000000019AB' } },
  });
  t.equal(decodeS3Key(encodeS3Key('uploads/ünï cödé/source')), 'uploads/ünï cödé/source');
  const output = structuredClone(s3rverEvent);
  output.Records[0]!.s3.object.key = 'video-streams/x/master.m3u8';
  t.equal(toAwsS3Event(output, 'us-east-1'), undefined, 'stream output never notifies');
  const removal = structuredClone(s3rverEvent);
  removal.Records[0]!.eventName = 'ObjectRemoved:Delete';
  t.equal(toAwsS3Event(removal, 'us-east-1'), undefined);
});

t.test('a start removes the half-written event a crash left, and delivers the whole ones', async (t) => {
  const dir = t.testdir({
    pending: {
      '000001795950000000-000000-a.json': JSON.stringify({ n: 1 }),
      // SIGKILL between writeFile and rename: publish never returned, so nobody was told it was sent.
      '000001795950000001-000001-b.json.tmp': '{"n":',
    },
  });
  const delivered: unknown[] = [];
  const outbox = outboxIn(dir, { deliver: async (event) => void delivered.push(event) });
  await outbox.start();
  await outbox.idle();
  t.same(delivered, [{ n: 1 }]);
  t.same(await readdir(path.join(dir, 'pending')), [], 'nothing left, the leftover included');
});

t.test('an event older than its maximum age is dropped, not delivered, as Lambda drops it', async (t) => {
  const minutesAgo = (minutes: number) => String(Date.now() - minutes * 60_000).padStart(15, '0');
  const dir = t.testdir({
    pending: {
      // Left by a crash ten minutes ago, and one a minute ago: only the second is still wanted.
      [`${minutesAgo(10)}-000000-a.json`]: JSON.stringify({ n: 1 }),
      [`${minutesAgo(1)}-000001-b.json`]: JSON.stringify({ n: 2 }),
    },
  });
  const delivered: Array<{ n: number }> = [];
  const outbox = createEventOutbox<{ n: number }>({
    name: 'test',
    dir,
    logger: quietLogger,
    maxEventAgeSeconds: 300,
    deliver: async (event) => void delivered.push(event),
  });
  await outbox.start();
  await outbox.publish({ n: 3 });
  await outbox.idle();
  t.same(
    delivered.sort((a, b) => a.n - b.n),
    [{ n: 2 }, { n: 3 }],
    'the recent and the new are delivered',
  );
  t.same(await readdir(path.join(dir, 'pending')), [], 'the old one is gone');
  t.same(await readdir(path.join(dir, 'dead-letter')), [], 'dropped, not dead-lettered: Lambda keeps nothing of it without a destination');
});
