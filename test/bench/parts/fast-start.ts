/**
 * Time to playable and time to ready through the whole local pipeline, and the ffmpeg CPU the
 * whole ladder costs, for 10 s and 60 s 1080p clips, standard (H.264/AAC) and non-standard (HEVC)
 * sources, each against the bare ffmpeg commands (remux, ladder) on the same clip in the same run:
 * the fast-start work's own measure, test/bench/fast-start.ts, run here with the suite's options.
 * One run per clip (a 60 s 1080p ladder takes about 30 s bare and as long again through the
 * pipeline); `--runs` applies to the other parts' one-shot measures.
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
      : { seconds: [10, 60], width: 1920, height: 1080, nonStandard: 'hevc' as const }),
    runs: 1,
    workDir,
    log: options.log,
  });
}
