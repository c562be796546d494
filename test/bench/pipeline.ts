/**
 * Time from "upload complete" to "ready" through the whole local pipeline, next to the bare ffmpeg
 * command that makes the same ladder from the same clip on the same machine in the same run.
 * Ratios, not absolute times: machines are noisy. Usage: `npm run bench [-- --seconds 10 --runs 3]`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile, stat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { performance } from 'node:perf_hooks';
import { planRenditions } from '../../src/ladder.ts';
import { buildLadderArgs } from '../../deploy/local/transcoder/ffmpeg-ladder.ts';
import { probeSource } from '../../deploy/local/transcoder/probe.ts';
import { startLocalStack } from '../../deploy/local/stack.ts';
import type { CreateUploadResponse } from '../../src/schemas/upload.ts';
import type { Video } from '../../src/schemas/video.ts';

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    width: { type: 'string', default: '1920' },
    height: { type: 'string', default: '1080' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string', default: 'test-artifacts/bench.json' },
  },
});
const seconds = Number(values.seconds);
const runs = Number(values.runs);
const work = await mkdtemp(path.join(tmpdir(), 'vod-bench-'));

const median = (samples: number[]) => [...samples].sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;

async function makeSource(): Promise<string> {
  const file = path.join(work, `source-${values.width}x${values.height}-${seconds}s.mp4`);
  await run('ffmpeg', [
    '-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${values.width}x${values.height}:rate=30:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', file,
  ]);
  return file;
}

/** The baseline: the same ladder command the worker runs, on a local file, nothing else. */
async function bareLadderSeconds(source: string): Promise<number> {
  const info = await probeSource(source);
  const outDir = await mkdtemp(path.join(work, 'bare-'));
  const args = buildLadderArgs({ input: source, source: info, renditions: planRenditions(info), outDir });
  const started = performance.now();
  await run('ffmpeg', args, { maxBuffer: 64 * 1024 * 1024 });
  const elapsed = (performance.now() - started) / 1000;
  await rm(outDir, { recursive: true, force: true });
  return elapsed;
}

async function pipelineSeconds(stack: Awaited<ReturnType<typeof startLocalStack>>, source: string): Promise<number> {
  const token = await stack.token('bench');
  const { size } = await stat(source);
  const created = (await (
    await fetch(`${stack.apiUrl}/uploads`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'bench', filename: 'bench.mp4', contentType: 'video/mp4', sizeBytes: size }),
    })
  ).json()) as CreateUploadResponse;
  const put = await fetch(created.upload.url, { method: 'PUT', headers: created.upload.headers, body: await readFile(source) });
  if (put.status !== 200) throw new Error(`upload failed: ${put.status}`);
  const uploaded = performance.now();
  for (;;) {
    const video = (await (
      await fetch(`${stack.apiUrl}/videos/${created.videoId}`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as Video;
    if (video.status === 'ready') return (performance.now() - uploaded) / 1000;
    if (video.status === 'failed') throw new Error(`transcode failed: ${video.error?.message}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

try {
  const source = await makeSource();
  const stack = await startLocalStack({
    dataDir: path.join(work, 'data'),
    ports: { api: 0, issuer: 0, s3: 0, dynamodb: 0, transcoder: 0 },
    logLevel: 'warn',
  });
  const bare: number[] = [];
  const pipeline: number[] = [];
  try {
    // Interleaved so that drift in machine load hits both alike.
    for (let index = 0; index < runs; index++) {
      bare.push(await bareLadderSeconds(source));
      pipeline.push(await pipelineSeconds(stack, source));
    }
  } finally {
    await stack.stop();
  }
  const result = {
    clip: `${values.width}x${values.height}, ${seconds} s, H.264/AAC`,
    runs,
    bareLadderSeconds: median(bare),
    uploadToReadySeconds: median(pipeline),
    ratio: median(pipeline) / median(bare),
    samples: { bare, pipeline },
  };
  process.stdout.write(
    [
      `clip: ${result.clip}; median of ${runs} interleaved runs`,
      '| measure | seconds | ratio to bare ffmpeg ladder |',
      '|---|---|---|',
      `| bare ffmpeg ladder (baseline) | ${result.bareLadderSeconds.toFixed(2)} | 1.00 |`,
      `| upload complete → ready (API reports it) | ${result.uploadToReadySeconds.toFixed(2)} | ${result.ratio.toFixed(2)} |`,
      '',
    ].join('\n'),
  );
  await writeFile(values.out!, `${JSON.stringify(result, null, 2)}\n`).catch(async () => {
    await (await import('node:fs/promises')).mkdir(path.dirname(values.out!), { recursive: true });
    await writeFile(values.out!, `${JSON.stringify(result, null, 2)}\n`);
  });
} finally {
  await rm(work, { recursive: true, force: true });
}
