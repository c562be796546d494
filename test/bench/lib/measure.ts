/**
 * What every part of the bench reports: one number next to its baseline, measured in the same
 * run on the same machine, and their ratio. Ratios, not absolute figures, are what compare
 * across machines and runs.
 */
export interface Measure {
  /** Stable id, e.g. `api.list.rps.stack`. */
  id: string;
  /** The part of the bench that made it (`pipeline`, `api`, `manifest`, `upload`, `cold-init`, `memory`). */
  part: string;
  /** What was measured, for the table. */
  label: string;
  unit: string;
  value: number;
  baseline: { label: string; value: number };
  /** value / baseline.value. */
  ratio: number;
  /** Which way is good: `higher` (throughput) or `lower` (time, memory, latency). */
  better: 'higher' | 'lower';
  /** Raw samples or context (settings, sizes). */
  detail?: Record<string, unknown>;
}

export function measure(input: Omit<Measure, 'ratio'>): Measure {
  return { ...input, ratio: input.value / input.baseline.value };
}

export interface BenchOptions {
  /** Small inputs and short runs: proves every part runs (npm test), measures nothing. */
  tiny: boolean;
  /** Seconds per load-generator run (API and manifest throughput). */
  loadSeconds: number;
  /** Repetitions of timed one-shot measures (medians are reported). */
  runs: number;
  /** Where scratch files go. */
  workDir: string;
  log: (line: string) => void;
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The q-quantile (0..1) of samples, nearest rank. */
export function quantile(samples: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(samples).sort();
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
