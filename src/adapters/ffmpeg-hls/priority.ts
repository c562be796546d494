/**
 * ffmpeg runs below the priority of the process that starts it. Where transcodes share a machine
 * with the service (the local stack, where the worker, the API and the stand-ins are one Node
 * process; any host that answers requests while it transcodes), the API is served first and the
 * transcode takes the CPU the API leaves, instead of the API's requests queueing behind
 * ffmpeg's threads. Alone on a machine (a Lambda function), it changes nothing: nice only orders
 * processes that compete.
 */
import { getPriority, setPriority } from 'node:os';

/** How many nice steps below its parent ffmpeg runs (Linux: 10 steps make it about a tenth as weighty to the scheduler). */
export const TRANSCODE_NICENESS = 10;

/** The most a nice value can be (the lowest priority). */
const LOWEST = 19;

/**
 * Lowers a child process's priority, called as soon as it is spawned: ffmpeg starts its encoding
 * and filter threads only after it has opened its input and read its headers, and threads take
 * the nice value of the thread that creates them. A process already gone is left alone.
 */
export function lowerPriority(pid: number | undefined, niceness = TRANSCODE_NICENESS): void {
  if (pid === undefined) return;
  try {
    setPriority(pid, Math.min(LOWEST, getPriority() + niceness));
  } catch {
    // It exited before it could be lowered (ESRCH): nothing left to order.
  }
}
