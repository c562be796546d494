/**
 * The reconciler's Lambda entry point (events/reconcile.ts `handler`, which builds its services
 * from the environment as in AWS) invoked with the event an EventBridge schedule rule sends
 * (test/fixtures/events/scheduled), against the local stand-ins: one run moves on what the events
 * missed, logs each action, and writes its counts as one CloudWatch Embedded Metric Format record
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
 */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createAwsClients } from '../../src/app/aws-clients.ts';
import { createVideoCatalog } from '../../src/adapters/dynamodb/video-catalog.ts';
import { RECONCILE_ACTIONS, type ReconcileReport } from '../../src/domain/reconciler.ts';
import type { ScheduledEvent } from '../../src/schemas/events.ts';
import { startTestStack } from '../helpers/stack.ts';
import { loadEventFixture } from '../helpers/fixtures.ts';
import { makeClip } from '../helpers/media.ts';

// No grace period, so what this test leaves behind is overdue at once.
const stack = await startTestStack(t, { settings: { RECONCILE_GRACE_SECONDS: '0' } });
for (const [name, value] of Object.entries(stack.config)) {
  if (value !== undefined) process.env[name] = String(value);
}
// The template's default LogLevel (the test stack itself logs at warn): every action is a line.
process.env.LOG_LEVEL = 'info';
const { handler, METRICS_NAMESPACE } = await import('../../events/reconcile.ts');

const bucket = stack.config.BUCKET_NAME;
const clients = createAwsClients(stack.config);
const s3 = await clients.s3();
const catalog = createVideoCatalog({ dynamo: clients.dynamo, tableName: stack.config.TABLE_NAME });

/** Lines the handler writes to stdout while it runs (Lambda sends stdout to the function's log group). */
async function invoke(event: ScheduledEvent): Promise<{ report: ReconcileReport; lines: string[] }> {
  const lines: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = (chunk: string | Uint8Array) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  try {
    return { report: await handler(event), lines };
  } finally {
    process.stdout.write = write;
  }
}

/** CloudWatch's units for EMF metric definitions. */
const UNITS = new Set([
  'Seconds',
  'Microseconds',
  'Milliseconds',
  'Bytes',
  'Kilobytes',
  'Megabytes',
  'Gigabytes',
  'Terabytes',
  'Bits',
  'Kilobits',
  'Megabits',
  'Gigabits',
  'Terabits',
  'Percent',
  'Count',
  'Bytes/Second',
  'Kilobytes/Second',
  'Megabytes/Second',
  'Gigabytes/Second',
  'Terabytes/Second',
  'Bits/Second',
  'Kilobits/Second',
  'Megabits/Second',
  'Gigabits/Second',
  'Terabits/Second',
  'Count/Second',
  'None',
]);

/** What the EMF specification requires of a document; empty when `record` is a valid one. */
function emfProblems(record: any): string[] {
  const problems: string[] = [];
  const meta = record?._aws;
  if (!meta || typeof meta !== 'object') return ['no _aws metadata object'];
  if (!Number.isInteger(meta.Timestamp) || meta.Timestamp < 1e12) problems.push('_aws.Timestamp is not milliseconds since the epoch');
  if (!Array.isArray(meta.CloudWatchMetrics) || meta.CloudWatchMetrics.length === 0) return [...problems, 'no CloudWatchMetrics directive'];
  for (const directive of meta.CloudWatchMetrics) {
    if (typeof directive.Namespace !== 'string' || directive.Namespace.length < 1 || directive.Namespace.length > 1024) problems.push('Namespace');
    if (!Array.isArray(directive.Dimensions)) problems.push('Dimensions is not an array of dimension sets');
    for (const set of directive.Dimensions ?? []) {
      if (!Array.isArray(set) || set.length > 30) problems.push('a dimension set is not an array of at most 30 keys');
      for (const key of set ?? []) if (typeof record[key] !== 'string') problems.push(`dimension ${key} is not a string member of the root`);
    }
    if (!Array.isArray(directive.Metrics) || directive.Metrics.length > 100) problems.push('Metrics is not an array of at most 100 definitions');
    for (const metric of directive.Metrics ?? []) {
      if (typeof metric.Name !== 'string' || metric.Name.length < 1 || metric.Name.length > 1024) problems.push('a metric without a Name');
      if (metric.Unit !== undefined && !UNITS.has(metric.Unit)) problems.push(`${metric.Name}: unit ${metric.Unit}`);
      const value = record[metric.Name];
      const values = Array.isArray(value) ? value : [value];
      if (value === undefined || !values.every((item) => typeof item === 'number' && Number.isFinite(item))) {
        problems.push(`${metric.Name} has no numeric value on the root`);
      }
    }
  }
  return problems;
}

t.test('one scheduled run converts a lost upload, removes objects of no video, logs every action and writes one EMF record', async (t) => {
  // A source stored before its record exists: the local stack's own notification finds no video,
  // so it is exactly the lost notification the reconciler is for.
  const videoId = randomUUID();
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: `uploads/${videoId}/source`,
      Body: await readFile(await makeClip({ seconds: 1, width: 320, height: 240, audio: true })),
      ContentType: 'video/mp4',
    }),
  );
  await stack.idle();
  await catalog.create({
    videoId,
    title: 'Lost notification',
    ownerId: 'reconcile-owner',
    filename: 'clip.mp4',
    contentType: 'video/mp4',
    sizeBytes: 1,
    createdAt: new Date().toISOString(),
  });
  // Stream output of a video that has no record at all.
  const orphan = `video-streams/${randomUUID()}/master.m3u8`;
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: orphan, Body: '#EXTM3U\n' }));

  const started = Date.now();
  const { report, lines } = await invoke(await loadEventFixture<ScheduledEvent>('scheduled/scheduled-event'));
  t.ok(report.actions['upload-found'] >= 1, 'the stored source was found');
  t.ok(report.actions['orphans-deleted'] >= 1, 'the objects of no video were removed');
  t.ok(report.objectsDeleted >= 1);
  t.ok(report.checked >= 2, `${report.checked} videos and folders looked at`);

  const video = await catalog.get(videoId);
  t.match(video, { status: 'processing', jobId: String }, 'the upload was claimed and its job submitted');
  const gone = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: orphan })).then(
    () => false,
    (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode === 404,
  );
  t.ok(gone, `${orphan} is gone`);

  // Every line is JSON (CloudWatch Logs Insights reads them as fields); exactly one is the EMF record.
  const parsed = lines.map((line) => JSON.parse(line) as Record<string, any>);
  const records = parsed.filter((line) => '_aws' in line);
  t.equal(records.length, 1, 'one EMF record per run');
  const [record] = records;
  t.same(emfProblems(record), [], 'a valid embedded metric format document');
  t.equal(record!._aws.CloudWatchMetrics[0].Namespace, METRICS_NAMESPACE);
  t.ok(record!._aws.Timestamp >= started && record!._aws.Timestamp <= Date.now(), 'stamped with the run');
  const names = record!._aws.CloudWatchMetrics[0].Metrics.map((metric: { Name: string }) => metric.Name).sort();
  t.same(names, ['Checked', 'ObjectsDeleted', ...RECONCILE_ACTIONS].sort(), 'a metric per action, whether it happened or not');
  t.equal(record!['upload-found'], report.actions['upload-found']);
  t.equal(record!.ObjectsDeleted, report.objectsDeleted);
  t.equal(record!.Checked, report.checked);
  const logged = parsed.filter((line) => line.fn === 'reconcile' && typeof line.reconcile === 'string');
  t.ok(
    logged.some((line) => line.reconcile === 'upload-found' && line.videoId === videoId),
    'the found upload is a log line',
  );
  t.ok(
    logged.some((line) => line.reconcile === 'orphans-deleted'),
    'so is the removal',
  );
  t.ok(
    logged.some((line) => line.reconcile === 'run' && line.checked === report.checked),
    'and the run with its counts',
  );

  // The job it submitted runs to the end like any other.
  await stack.idle();
  t.match(await catalog.get(videoId), { status: 'ready' });
});

t.test('the function logs at the LOG_LEVEL it is configured with', async (t) => {
  const { createReconcileHandler } = await import('../../events/reconcile.ts');
  const metrics: string[] = [];
  const quiet = createReconcileHandler(
    { reconcile: async (logger) => (logger.info({ reconcile: 'run' }, 'a run'), { checked: 0, actions: {} as never, objectsDeleted: 0, durationMs: 0 }) },
    (line) => metrics.push(line),
    'warn',
  );
  const written: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk: string) => (written.push(String(chunk)), true);
  try {
    await quiet();
  } finally {
    process.stdout.write = write;
  }
  t.notOk(
    written.some((line) => line.includes('"a run"')),
    'info lines are left out at warn',
  );
  t.equal(metrics.length, 1, 'the metrics record is written all the same');
});
