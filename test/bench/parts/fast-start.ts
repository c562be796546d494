/**
 * Time to playable (p50 and p95 over five uploads of each file, and an AWS estimate of both), time
 * to ready and the ffmpeg CPU of fast start and the whole ladder, for 10 s, 1 min and 5 min 1080p
 * sources, standard (H.264/AAC) and non-standard (HEVC), each against the bare ffmpeg commands
 * (remux or smallest rung, ladder) on the same file in the same run: the fast-start work's own
 * measure, test/bench/fast-start.ts, run here with the suite's options (ready and CPU up to 1 min).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { measureFastStart } from '../fast-start.ts';
import type { BenchOptions, Measure } from '../lib/measure.ts';

export async function runFastStartPart(options: BenchOptions): Promise<Measure[]> {
  const workDir = path.join(options.workDir, 'fast-start');
  await mkdir(workDir, { recursive: true });
  return measureFastStart({
    ...(options.tiny
      ? { seconds: [2], width: 320, height: 180, nonStandard: 'yuv444p' as const }
      : { seconds: [10, 60, 300], width: 1920, height: 1080, nonStandard: 'hevc' as const }),
    runs: options.tiny ? 1 : 5,
    workDir,
    log: options.log,
  });
}
