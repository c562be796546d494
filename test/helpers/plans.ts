/**
 * The plan the app would make for a local file, made the way the app makes it: the Probe
 * stand-in's answer (ffprobe in MediaConvert's shape) and the MP4 header, merged, then the
 * shared rules. For tests and benchmarks that run the local worker's commands without the stack.
 */
import { readFile } from 'node:fs/promises';
import { probeAsMediaConvert } from '../../deploy/local/mediaconvert/probe.ts';
import type { SourceMedia, TranscodePlan } from '../../src/schemas/transcode.ts';
import { readIsoHeader } from '../../src/adapters/mediaconvert/iso-header.ts';
import { sourceMediaOfProbe } from '../../src/adapters/mediaconvert/source-inspector.ts';
import { planTranscode } from '../../src/domain/transcode-plan.ts';

export async function inspectFile(file: string): Promise<SourceMedia> {
  const bytes = await readFile(file);
  const [probe, header] = await Promise.all([
    probeAsMediaConvert({ input: file, head: bytes.subarray(0, 512), sizeBytes: bytes.length }),
    readIsoHeader(async (offset, length) => ({ bytes: bytes.subarray(offset, offset + length), objectSize: bytes.length })),
  ]);
  return sourceMediaOfProbe(probe, header);
}

export async function planForFile(file: string): Promise<TranscodePlan> {
  return planTranscode(await inspectFile(file));
}
