/**
 * A source clip and the bare ffmpeg baseline for the worker's memory measure (parts/memory.ts):
 * the ladder command for that source (deploy/local/mediaconvert/ffmpeg-ladder.ts buildEncodeArgs for
 * the plan the shared rules make of it), run directly on a local file with nothing around it.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { videoBitrateFor } from '../../../src/domain/ladder.ts';
import { buildEncodeArgs } from '../../../deploy/local/mediaconvert/ffmpeg-ladder.ts';
import { planForFile } from '../../helpers/plans.ts';
import { sampleTreeRss } from './processes.ts';

const run = promisify(execFile);

export interface SourceSpec {
  seconds: number;
  width: number;
  height: number;
}

/**
 * The x264 settings of a web-ready upload of this size: what the ladder's contract lets be packaged
 * (issue 9): a keyframe every 2 s, the average within the rendition's budget, peaks within its
 * peak budget (VBV at 90% of the nominal rate, a buffer of twice that).
 */
export function webReadyVideo(spec: { width: number; height: number }): string[] {
  const rate = Math.round(videoBitrateFor(Math.min(spec.width, spec.height)) * 0.9);
  return [
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    '60',
    '-keyint_min',
    '60',
    '-sc_threshold',
    '0',
    '-maxrate',
    String(rate),
    '-bufsize',
    String(2 * rate),
  ];
}

/** A standard upload: web-ready H.264 (see webReadyVideo) + stereo AAC in MP4, 30 fps. */
export async function makeSource(dir: string, spec: SourceSpec): Promise<string> {
  const file = path.join(dir, `source-${spec.width}x${spec.height}-${spec.seconds}s.mp4`);
  await run('ffmpeg', [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${spec.width}x${spec.height}:rate=30:duration=${spec.seconds}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=48000:duration=${spec.seconds}`,
    ...webReadyVideo(spec),
    '-c:a',
    'aac',
    '-ac',
    '2',
    '-shortest',
    file,
  ]);
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
