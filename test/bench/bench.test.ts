/**
 * `npm run bench` runs: every part, on tiny inputs with 200-request loads, and writes a JSON report
 * in which every measure has a positive value, baseline and ratio. Not a timed test: the numbers of
 * a tiny run on a machine busy with other tests mean nothing.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { NODE_ARGS } from './lib/processes.ts';
import type { BenchReport } from './index.ts';

const run = promisify(execFile);

t.test('the bench runs every part in tiny mode and reports every measure against its baseline', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'vod-bench-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const out = path.join(dir, 'bench.json');
  const { stdout } = await run(process.execPath, [...NODE_ARGS, 'test/bench/index.ts', '--tiny', '--out', out], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    maxBuffer: 16 * 1024 * 1024,
    timeout: 280_000,
  });
  const report = JSON.parse(await readFile(out, 'utf8')) as BenchReport;
  t.equal(report.tiny, true);
  t.same(report.parts, ['cold-init', 'api', 'api-busy', 'manifest', 'upload', 'memory', 'fast-start']);
  const ids = report.measures.map((measure) => measure.id);
  for (const expected of [
    'cold-init.import-ready.ms',
    'cold-init.first-request.ms',
    ...['list', 'playback'].flatMap((route) =>
      ['stack', 'sdk', 'uncached', 'direct'].flatMap((setting) => [`api.${route}.${setting}.rps.vs-small`, `api.${route}.${setting}.p99.vs-small`]),
    ),
    'api.list.direct.rps.vs-same-bytes',
    'api.playback.direct.rps.vs-same-bytes',
    'api-busy.playback.p99.vs-idle',
    'api-busy.playback.rps.vs-idle',
    'manifest.signed.rps.vs-plain',
    'manifest.signed.rps.vs-cookies',
    'upload.presigned-put.mbps',
    'memory.api.peak-rss',
    'memory.worker.peak-rss',
  ]) {
    t.ok(ids.includes(expected), expected);
  }
  const fastStart = report.measures.filter((measure) => measure.part === 'fast-start');
  t.ok(
    ['.playable.p50', '.playable.p95', '.playable.aws-estimate.p50', '.playable.aws-estimate.p95'].every((suffix) =>
      fastStart.some((measure) => measure.id.endsWith(suffix)),
    ),
    'time to playable: p50, p95, and the AWS estimate of both',
  );
  t.ok(
    fastStart.some((measure) => measure.id.endsWith('.ready')),
    'time to ready',
  );
  for (const measure of report.measures) {
    const positive = (value: number) => Number.isFinite(value) && value > 0;
    t.ok(positive(measure.value) && positive(measure.baseline.value) && positive(measure.ratio), `${measure.id}: ${measure.value} / ${measure.baseline.value}`);
    t.equal(measure.ratio, measure.value / measure.baseline.value);
    t.match(measure, { label: String, unit: String, better: /^(higher|lower)$/, baseline: { label: String } });
  }
  t.match(stdout, /\| measure \| value \| baseline \| ratio \|/, 'the table');
});
