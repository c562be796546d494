/**
 * At-least-once event delivery for the local stack, standing in for S3 notifications and
 * EventBridge: each event is written to disk before delivery and removed only after the handler
 * succeeded, so a crash or Ctrl-C never loses one; `start()` redelivers what was left.
 * Like AWS, delivery is concurrent and unordered, and a failing handler is retried with backoff
 * before the event goes to a dead-letter folder.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';

export interface OutboxLogger {
  info(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface EventOutbox<E> {
  publish(event: E): Promise<void>;
  /** Redelivers the events a previous run left undelivered. */
  start(): Promise<void>;
  /** Stops retrying; undelivered events stay on disk for the next start. */
  stop(): Promise<void>;
  /** Resolves when nothing is waiting for delivery (tests). */
  idle(): Promise<void>;
}

export function createEventOutbox<E>(options: {
  name: string;
  dir: string;
  deliver: (event: E) => Promise<unknown>;
  logger: OutboxLogger;
  /** Delays between attempts; Lambda's asynchronous invocation retries twice. */
  retryDelaysMs?: number[];
}): EventOutbox<E> {
  const pendingDir = join(options.dir, 'pending');
  const deadLetterDir = join(options.dir, 'dead-letter');
  const retryDelaysMs = options.retryDelaysMs ?? [200, 1000, 5000];
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  // Aborted at stop(): a delivery waiting out its backoff gives up at once (it stays on disk).
  let stopSignal = new AbortController();
  let sequence = 0;

  async function deliverFile(file: string, event: E): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (stopped) return;
      try {
        await options.deliver(event);
        await rm(join(pendingDir, file), { force: true });
        return;
      } catch (error) {
        const delay = retryDelaysMs[attempt];
        if (delay === undefined) {
          options.logger.error({ err: error, outbox: options.name, file }, 'event delivery failed for good; moved to dead-letter');
          await rename(join(pendingDir, file), join(deadLetterDir, file)).catch(() => undefined);
          return;
        }
        options.logger.info({ err: error, outbox: options.name, file, attempt }, 'event delivery failed; retrying');
        const waited = await sleep(delay, true, { signal: stopSignal.signal }).catch(() => false);
        if (!waited) return;
      }
    }
  }

  function track(file: string, event: E) {
    const delivery = deliverFile(file, event).finally(() => inFlight.delete(delivery));
    inFlight.add(delivery);
  }

  return {
    publish(event) {
      // Tracked from the first moment, so idle() also waits for an event still being written.
      const publishing = (async () => {
        await mkdir(pendingDir, { recursive: true });
        // Time-ordered names so a restart redelivers oldest first.
        const file = `${Date.now().toString().padStart(15, '0')}-${String(sequence++).padStart(6, '0')}-${randomUUID()}.json`;
        await writeFile(join(pendingDir, `${file}.tmp`), JSON.stringify(event));
        await rename(join(pendingDir, `${file}.tmp`), join(pendingDir, file));
        if (!stopped) track(file, event);
      })();
      const settled = publishing.catch(() => undefined).finally(() => inFlight.delete(settled));
      inFlight.add(settled);
      return publishing;
    },

    async start() {
      stopped = false;
      stopSignal = new AbortController();
      await mkdir(pendingDir, { recursive: true });
      await mkdir(deadLetterDir, { recursive: true });
      const entries = await readdir(pendingDir);
      // An event whose write a crash interrupted was never published (publish had not returned).
      await Promise.all(entries.filter((file) => file.endsWith('.tmp')).map((file) => rm(join(pendingDir, file), { force: true })));
      const files = entries.filter((file) => file.endsWith('.json')).sort();
      for (const file of files) {
        const event = JSON.parse(await readFile(join(pendingDir, file), 'utf8')) as E;
        options.logger.info({ outbox: options.name, file }, 'redelivering an event left from the last run');
        track(file, event);
      }
    },

    async stop() {
      stopped = true;
      stopSignal.abort();
      await Promise.allSettled([...inFlight]);
    },

    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}
