/**
 * `npm run bench`: every measure next to a baseline taken in the same run on the same machine,
 * printed as a table (Markdown) and written as JSON (default test-artifacts/bench.json). Ratios,
 * not absolute figures, are what compare across machines and runs. See test/bench/README.md.
 *
 *   npm run bench                          everything (a few minutes on 2 cores)
 *   npm run bench -- --only api,cold-init  some parts: cold-init, api, api-busy, manifest, upload, memory, fast-start
 *   npm run bench -- --tiny                tiny inputs, 200-request loads, one run: proves it runs (npm test)
 *   options: --seconds <load seconds, 5>  --runs <repetitions of one-shot measures, 3>  --out <file>
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchOptions, Measure } from './lib/measure.ts';
import { CONNECTIONS } from './lib/load.ts';
import { runColdInit } from './parts/cold-init.ts';
import { runApi } from './parts/api.ts';
import { runApiBusy } from './parts/api-busy.ts';
import { runManifest } from './parts/manifest.ts';
import { runUpload } from './parts/upload.ts';
import { runMemory } from './parts/memory.ts';
import { runFastStartPart } from './parts/fast-start.ts';

export const PARTS: Readonly<Record<string, (options: BenchOptions) => Promise<Measure[]>>> = {
  'cold-init': runColdInit,
  api: runApi,
  'api-busy': runApiBusy,
  manifest: runManifest,
  upload: runUpload,
  memory: runMemory,
  'fast-start': runFastStartPart,
};

export interface BenchReport {
  createdAt: string;
  node: string;
  cpus: number;
  cpuModel: string;
  tiny: boolean;
  loadSeconds: number;
  runs: number;
  parts: string[];
  /** Wall time of each part, and of the whole run. */
  partSeconds: Record<string, number>;
  seconds: number;
  measures: Measure[];
}

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    tiny: { type: 'boolean', default: false },
    seconds: { type: 'string' },
    runs: { type: 'string' },
    out: { type: 'string', default: 'test-artifacts/bench.json' },
  },
});
const tiny = values.tiny;
const parts = values.only ? values.only.split(',').map((part) => part.trim()) : Object.keys(PARTS);
for (const part of parts) if (!PARTS[part]) throw new Error(`No part ${part}; the parts are ${Object.keys(PARTS).join(', ')}`);

const workDir = await mkdtemp(path.join(tmpdir(), 'vod-bench-'));
const options: BenchOptions = {
  tiny,
  loadSeconds: Number(values.seconds ?? (tiny ? 0 : 5)),
  runs: Number(values.runs ?? (tiny ? 1 : 3)),
  workDir,
  log: (line) => process.stderr.write(`  ${line}\n`),
};

const format = (value: number) => (value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2));

const started = performance.now();
const measures: Measure[] = [];
const partSeconds: Record<string, number> = {};
try {
  for (const part of parts) {
    process.stderr.write(`${part}...\n`);
    const partStarted = performance.now();
    measures.push(...(await PARTS[part]!(options)));
    partSeconds[part] = (performance.now() - partStarted) / 1000;
    process.stderr.write(`  (${partSeconds[part].toFixed(0)} s)\n`);
  }
} finally {
  await rm(workDir, { recursive: true, force: true });
}

const report: BenchReport = {
  createdAt: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  tiny,
  loadSeconds: options.loadSeconds,
  runs: options.runs,
  parts,
  partSeconds,
  seconds: (performance.now() - started) / 1000,
  measures,
};
await mkdir(path.dirname(path.resolve(values.out)), { recursive: true });
await writeFile(values.out, `${JSON.stringify(report, null, 2)}\n`);

process.stdout.write(
  [
    `${report.cpus} × ${report.cpuModel}, node ${report.node}${tiny ? ', TINY (proves it runs; measures nothing)' : ''}; ` +
      `loads ${options.loadSeconds >= 1 ? `${options.loadSeconds} s after a warm-up` : '200 requests'} with ${CONNECTIONS} connections, one-shot measures median of ${options.runs}; ${report.seconds.toFixed(0)} s in all`,
    '',
    '| measure | value | baseline | ratio |',
    '|---|---:|---|---:|',
    ...measures.map(
      (one) =>
        `| ${one.label} | ${format(one.value)} ${one.unit} | ${one.baseline.label}: ${format(one.baseline.value)} ${one.unit} | ${one.ratio.toFixed(2)} (${one.better} is better) |`,
    ),
    '',
    `JSON: ${values.out}`,
    '',
  ].join('\n'),
);
