/**
 * Servers under test run in child processes of their own (the load generator keeps the bench's
 * event loop), started with the same Node options as `npm start`. A server script calls
 * `announce(info)` when it is ready (its URLs and whatever the bench needs: one stdout line that
 * logs cannot be mistaken for) and stops on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface ServerProcess<T> {
  info: T;
  pid: number;
  child: ChildProcess;
  /** Peak resident memory so far (VmHWM), bytes. */
  peakRss(): Promise<number>;
  stop(): Promise<void>;
}

export const NODE_ARGS = ['--openssl-legacy-provider', '--import', 'tsx'];

const READY = 'BENCH-SERVER-READY ';

/** For server scripts: tells the bench this process is ready, and what it needs to know. */
export function announce(info: unknown): void {
  process.stdout.write(`${READY}${JSON.stringify(info)}\n`);
}

export async function startServer<T>(script: string, args: string[] = [], env: Record<string, string> = {}): Promise<ServerProcess<T>> {
  const child = spawn(process.execPath, [...NODE_ARGS, path.resolve(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (text) => {
      if (text.startsWith(READY)) resolve(text.slice(READY.length));
    });
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before it was ready:\n${stderr}`)));
  });
  return {
    info: JSON.parse(line) as T,
    pid: child.pid!,
    child,
    peakRss: () => peakRssOf(child.pid!),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A process's resident set now and its high-water mark, from /proc/<pid>/status; 0 once it is gone. */
export async function rssOf(pid: number): Promise<{ rss: number; peak: number }> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kib('VmRSS'), peak: kib('VmHWM') };
  } catch {
    return { rss: 0, peak: 0 };
  }
}

export const peakRssOf = async (pid: number) => (await rssOf(pid)).peak;

/** Every descendant of a process (children, grandchildren...), from /proc. */
export async function descendantsOf(pid: number): Promise<number[]> {
  const found: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    let children: string;
    try {
      children = await readFile(`/proc/${parent}/task/${parent}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of children.trim().split(/\s+/).filter(Boolean).map(Number)) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/**
 * Samples the resident memory of a process and its descendants every `intervalMs` until stopped.
 * `peak()` is the largest sum seen; for a process that exits before the end, its own VmHWM as
 * last read counts too (so a short peak between samples is not missed).
 */
export function sampleTreeRss(pid: number, intervalMs = 20) {
  let peak = 0;
  let first: number | undefined;
  const processPeaks = new Map<number, number>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const pids = [pid, ...(await descendantsOf(pid))];
      const readings = await Promise.all(pids.map(async (one) => [one, await rssOf(one)] as const));
      let total = 0;
      for (const [one, { rss, peak: processPeak }] of readings) {
        total += rss;
        if (processPeak > 0) processPeaks.set(one, Math.max(processPeaks.get(one) ?? 0, processPeak));
      }
      first ??= total;
      peak = Math.max(peak, total);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    /** `baseline` is the tree's first reading, when sampling began. */
    async stop(): Promise<{ peakTreeRss: number; peakProcessRss: Map<number, number>; baseline: number }> {
      running = false;
      await loop;
      return { peakTreeRss: peak, peakProcessRss: processPeaks, baseline: first ?? 0 };
    },
  };
}
