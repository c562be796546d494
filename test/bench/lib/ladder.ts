/**
 * A source clip and the bare ffmpeg baseline for the worker's memory measure (parts/memory.ts):
 * the ladder command for that source (src/adapters/ffmpeg-hls/ffmpeg-ladder.ts buildEncodeArgs for
 * the plan the shared rules make of it), run directly on a local file with nothing around it.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { buildEncodeArgs } from '../../../src/adapters/ffmpeg-hls/ffmpeg-ladder.ts';
import { FFMPEG_QUIET, uploadArgs } from '../../helpers/media.ts';
import { planForFile } from '../../helpers/plans.ts';
import { sampleTreeRss } from './processes.ts';

const run = promisify(execFile);

export interface SourceSpec {
  seconds: number;
  width: number;
  height: number;
}

/**
 * An upload of this size and length (test/helpers/media.ts uploadArgs): a standard one, web-ready
 * H.264 and stereo AAC in MP4, or one with other `video` codec settings, its file named after `name`.
 */
export async function makeSource(dir: string, spec: SourceSpec, video?: { name: string; args: string[] }): Promise<string> {
  const file = path.join(dir, `${video?.name ?? 'source'}-${spec.width}x${spec.height}-${spec.seconds}s.mp4`);
  await run('ffmpeg', [...FFMPEG_QUIET, ...uploadArgs(spec, video?.args), file]);
  return file;
}

/** Runs the bare ladder once: its wall time and its peak resident memory. */
export async function bareLadder(source: string, workDir: string): Promise<{ seconds: number; peakRssBytes: number }> {
  const plan = await planForFile(source);
  const outDir = await mkdtemp(path.join(workDir, 'bare-ladder-'));
  try {
    const args = buildEncodeArgs({ input: source, plan, renditions: plan.video!.renditions, audio: 'muxed', outDir });
    const started = performance.now();
    const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const sampler = sampleTreeRss(child.pid!);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    const seconds = (performance.now() - started) / 1000;
    const { peakTreeRss, peakProcessRss } = await sampler.stop();
    if (code !== 0) throw new Error(`the bare ladder failed (${code}): ${stderr}`);
    return { seconds, peakRssBytes: Math.max(peakTreeRss, peakProcessRss.get(child.pid!) ?? 0) };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}
