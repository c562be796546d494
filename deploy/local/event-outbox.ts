/**
 * At-least-once event delivery for the local stack, standing in for S3 notifications and
 * EventBridge: each event is written to disk before delivery and removed only after the handler
 * succeeded, so a crash or Ctrl-C never loses one; `start()` redelivers what was left.
 * Like AWS, delivery is concurrent and unordered, and a failing handler is retried with backoff
 * before the event goes to a dead-letter folder. An outbox may give its events a maximum age, as
 * Lambda's asynchronous invocation does (MaximumEventAgeInSeconds): one not delivered by then, such
 * as one a restart finds much later, is dropped.
 */
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import pRetry, { AbortError } from 'p-retry';
import writeFileAtomic from 'write-file-atomic';
import type { Logger } from '../../src/shared/logger.ts';

/**
 * Any failure of one delivery attempt. Lambda retries whatever the handler threw, while p-retry
 * gives up at once on a TypeError (it takes one for a bug) or on a thrown non-Error: wrapped, every
 * failure is retried alike.
 */
class DeliveryFailed extends Error {
  override name = 'DeliveryFailed';
  constructor(cause: unknown) {
    super('event delivery failed', { cause });
  }
}

/** An event past its outbox's maximum age: not delivered, as Lambda drops it. */
class EventExpired extends Error {
  override name = 'EventExpired';
  constructor(ageSeconds: number) {
    super(`event is ${Math.round(ageSeconds)} s old, past its maximum age`);
  }
}

/** When an event was published: its file's name begins with the time (see publish). */
const publishedAt = (file: string) => Number.parseInt(file.slice(0, file.indexOf('-')), 10);

/**
 * How a failing delivery is retried (p-retry's backoff): up to `retries` more tries, the first
 * after `minTimeoutMs`, each wait after that `factor` times longer.
 */
export interface RetryPolicy {
  retries: number;
  minTimeoutMs: number;
  factor: number;
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
  logger: Pick<Logger, 'info' | 'error'>;
  /** How a failing delivery is retried; by default 3 more tries, after 0.2, 1 and 5 s. */
  retry?: RetryPolicy;
  /** An event not delivered this long after it was published is dropped (none by default). */
  maxEventAgeSeconds?: number;
}): EventOutbox<E> {
  const pendingDir = join(options.dir, 'pending');
  const deadLetterDir = join(options.dir, 'dead-letter');
  const retry = options.retry ?? { retries: 3, minTimeoutMs: 200, factor: 5 };
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  // Aborted at stop(): a delivery waiting out its backoff gives up at once (it stays on disk).
  let stopSignal = new AbortController();
  let sequence = 0;

  async function deliverFile(file: string, event: E): Promise<void> {
    const { signal } = stopSignal;
    try {
      await pRetry(
        async () => {
          const ageSeconds = (Date.now() - publishedAt(file)) / 1000;
          if (options.maxEventAgeSeconds !== undefined && ageSeconds > options.maxEventAgeSeconds) throw new AbortError(new EventExpired(ageSeconds));
          try {
            await options.deliver(event);
            await rm(join(pendingDir, file), { force: true });
          } catch (error) {
            throw new DeliveryFailed(error);
          }
        },
        {
          retries: retry.retries,
          minTimeout: retry.minTimeoutMs,
          factor: retry.factor,
          // stop() ends a wait at once; the event stays on disk.
          signal,
          onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
            if (retriesLeft > 0)
              options.logger.info({ err: error.cause, outbox: options.name, file, attempt: attemptNumber - 1 }, 'event delivery failed; retrying');
          },
        },
      );
    } catch (error) {
      // Stopped (before an attempt or during a wait): the event stays on disk for the next start.
      if (signal.aborted) return;
      if (error instanceof EventExpired) {
        options.logger.info({ outbox: options.name, file, reason: error.message }, 'event dropped: past its maximum age');
        await rm(join(pendingDir, file), { force: true });
        return;
      }
      options.logger.error(
        { err: error instanceof DeliveryFailed ? error.cause : error, outbox: options.name, file },
        'event delivery failed for good; moved to dead-letter',
      );
      await rename(join(pendingDir, file), join(deadLetterDir, file)).catch(() => undefined);
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
        await writeFileAtomic(join(pendingDir, file), JSON.stringify(event));
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
      // Anything but a whole event is the temporary file of a write a crash interrupted (write-file-atomic's
      // `<event>.json.<hash>`, or an older `.tmp`): that event was never published (publish had not returned).
      await Promise.all(entries.filter((file) => !file.endsWith('.json')).map((file) => rm(join(pendingDir, file), { force: true })));
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
