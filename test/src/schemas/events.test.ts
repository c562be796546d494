import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { MediaConvertJobStateChangeEvent, S3Event, ScheduledEvent } from '../../../src/schemas/events.ts';

const fixturesDir = fileURLToPath(new URL('../../fixtures/events/', import.meta.url));

function loadFixtures(source: string): Array<{ file: string; event: unknown }> {
  const dir = `${fixturesDir}${source}/`;
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, event: JSON.parse(readFileSync(`${dir}${file}`, 'utf8')) as unknown }));
}

/** Names each failing path so a schema/fixture mismatch says where it is. */
function errorsOf(schema: TSchema, value: unknown): string[] {
  return [...Value.Errors(schema, value)].map((error) => `${error.path}: ${error.message}`);
}

const s3Fixtures = loadFixtures('s3');
const mediaConvertFixtures = loadFixtures('eventbridge');

t.test('every S3 notification fixture matches the S3Event schema', async (t) => {
  t.equal(s3Fixtures.length, 3);
  for (const { file, event } of s3Fixtures) {
    t.same(errorsOf(S3Event, event), [], file);
  }
});

t.test('every MediaConvert fixture matches the MediaConvertJobStateChangeEvent schema', async (t) => {
  t.equal(mediaConvertFixtures.length, 5);
  for (const { file, event } of mediaConvertFixtures) {
    t.same(errorsOf(MediaConvertJobStateChangeEvent, event), [], file);
  }
});

t.test('the schedule fixture matches the ScheduledEvent schema', async (t) => {
  const fixtures = loadFixtures('scheduled');
  t.equal(fixtures.length, 1);
  for (const { file, event } of fixtures) t.same(errorsOf(ScheduledEvent, event), [], file);
  t.notSame(errorsOf(ScheduledEvent, mediaConvertFixtures[0]!.event), [], 'a MediaConvert event is not one');
});

t.test('the S3 fixtures carry URL-encoded keys that decode to the uploaded key', async (t) => {
  // S3 encodes keys like application/x-www-form-urlencoded: spaces become '+'.
  const decode = (key: string) => decodeURIComponent(key.replace(/\+/g, ' '));
  const keys = Object.fromEntries(
    s3Fixtures.map(({ file, event }) => {
      const parsed = Value.Parse(S3Event, event);
      return [file, parsed.Records.map((record) => decode(record.s3.object.key))];
    }),
  );
  t.same(keys, {
    'object-created-encoded-key.json': ['uploads/some id=x/source'],
    'object-created-multipart.json': ['uploads/01J9Z8Q4V6X7Y8Z9A0B1C2D3E4/source'],
    'object-created-put.json': ['uploads/01J9Z8Q4V6X7Y8Z9A0B1C2D3E4/source'],
  });
});

t.test('the MediaConvert fixtures describe one job for one video, each with its own event id', async (t) => {
  const events = mediaConvertFixtures.map(({ event }) => Value.Parse(MediaConvertJobStateChangeEvent, event));
  t.same(new Set(events.map((event) => event.detail.jobId)).size, 1);
  t.same(
    events.map((event) => event.detail.userMetadata.videoId),
    events.map(() => '01J9Z8Q4V6X7Y8Z9A0B1C2D3E4'),
  );
  // Handlers deduplicate on the EventBridge id, so distinct events must not share one.
  t.equal(new Set(events.map((event) => event.id)).size, events.length);
  t.same(events.map((event) => event.detail.status).sort(), ['COMPLETE', 'ERROR', 'NEW_WARNING', 'PROGRESSING', 'STATUS_UPDATE']);
});

t.test('the COMPLETE fixture lists the master playlist and one rendition per rung', async (t) => {
  const complete = mediaConvertFixtures.find(({ file }) => file === 'mediaconvert-complete.json');
  const event = Value.Parse(MediaConvertJobStateChangeEvent, complete?.event);
  const [group] = event.detail.outputGroupDetails ?? [];
  t.equal(group?.type, 'HLS_GROUP');
  t.same(group?.playlistFilePaths, ['s3://vod-bucket/video-streams/01J9Z8Q4V6X7Y8Z9A0B1C2D3E4/master.m3u8']);
  t.same(
    group?.outputDetails.map((detail) => [detail.outputFilePaths, detail.videoDetails?.widthInPx, detail.videoDetails?.heightInPx]),
    [
      [['s3://vod-bucket/video-streams/01J9Z8Q4V6X7Y8Z9A0B1C2D3E4/1080p/index.m3u8'], 1920, 1080],
      [['s3://vod-bucket/video-streams/01J9Z8Q4V6X7Y8Z9A0B1C2D3E4/720p/index.m3u8'], 1280, 720],
      [['s3://vod-bucket/video-streams/01J9Z8Q4V6X7Y8Z9A0B1C2D3E4/360p/index.m3u8'], 640, 360],
    ],
  );
});

t.test('the schemas reject an event that lacks what the handlers read', async (t) => {
  const put = s3Fixtures.find(({ file }) => file === 'object-created-put.json')!.event as {
    Records: Array<{ s3: { object: Record<string, unknown> } }>;
  };
  const withoutKey = structuredClone(put);
  delete withoutKey.Records[0]!.s3.object.key;
  t.notOk(Value.Check(S3Event, withoutKey));

  const error = mediaConvertFixtures.find(({ file }) => file === 'mediaconvert-error.json')!.event as { detail: Record<string, unknown> };
  const unknownStatus = structuredClone(error);
  unknownStatus.detail.status = 'EXPLODED';
  t.notOk(Value.Check(MediaConvertJobStateChangeEvent, unknownStatus));
});
