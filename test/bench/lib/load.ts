/**
 * HTTP load with autocannon, from the bench's own process (servers run in others): a fixed number
 * of connections for a fixed time after a warm-up. Latencies are kept per response (autocannon's
 * own histogram rounds to whole milliseconds, which makes a fast route's p99 zero).
 */
import autocannon from 'autocannon';
import { quantile } from './measure.ts';

export interface LoadTarget {
  /** The server (and, without `paths`, the path requested). */
  url: string;
  headers?: Record<string, string>;
  /** Paths each connection requests in turn, over and over. */
  paths?: string[];
}

export interface LoadResult {
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Responses that were not 2xx, and socket errors: a valid run has none. */
  failures: number;
}

export const CONNECTIONS = 10;

/** Requests of a run shorter than a second (tiny mode): autocannon rounds durations up to seconds. */
const SHORT_RUN_REQUESTS = 200;

async function once(target: LoadTarget, seconds: number): Promise<LoadResult> {
  const latencies: number[] = [];
  const started = performance.now();
  const instance = autocannon({
    url: target.url,
    headers: target.headers ?? {},
    connections: CONNECTIONS,
    ...(seconds >= 1 ? { duration: seconds } : { amount: SHORT_RUN_REQUESTS }),
    ...(target.paths ? { requests: target.paths.map((path) => ({ method: 'GET', path })) } : {}),
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
  const result = await instance;
  const elapsed = (performance.now() - started) / 1000;
  const ok = latencies.length;
  return {
    // Over the time the run really took (autocannon rounds short runs up to whole seconds).
    requestsPerSecond: ok / elapsed,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    requests: ok,
    failures: result.non2xx + result.errors + result.timeouts,
  };
}

/** Warms the target up for 1 s (not before runs under 2 s), then measures it for `seconds` (under 1: 200 requests). */
export async function load(target: LoadTarget, seconds: number): Promise<LoadResult> {
  if (seconds >= 2) await once(target, 1);
  const result = await once(target, seconds);
  if (result.failures > 0 || result.requests === 0) {
    throw new Error(`${target.url}: ${result.failures} failed responses and ${result.requests} good ones under load`);
  }
  return result;
}
