/**
 * Requests per client: each IP address may make RATE_LIMIT_MAX requests per
 * RATE_LIMIT_WINDOW_SECONDS (a fixed window, counted in this process), then gets 429 problem+json
 * with Retry-After until the window ends. The count runs in the first onRequest hook of the whole
 * app, so it covers every request, before token verification and for unknown routes too.
 *
 * In AWS, API Gateway throttles the whole API (template.yaml, ThrottlingRateLimit and
 * ThrottlingBurstLimit) and the template turns this limit off (RATE_LIMIT_MAX=0): a Lambda
 * container serves one request at a time and would count only its own share of a client's.
 */
import type { FastifyInstance } from 'fastify';
// Types only: the plugin is loaded when the limit is on (below), so a Lambda cold start with the
// limit off (template.yaml: API Gateway throttles) does not load it.
import type {} from '@fastify/rate-limit';
import type { Config } from './config.ts';
import { TooManyRequestsError } from '../domain/errors.ts';

export async function registerRateLimit(fastify: FastifyInstance, config: Pick<Config, 'RATE_LIMIT_MAX' | 'RATE_LIMIT_WINDOW_SECONDS'>): Promise<void> {
  if (config.RATE_LIMIT_MAX === 0) return;
  const { default: rateLimit } = await import('@fastify/rate-limit');
  await fastify.register(rateLimit, {
    // Not per route (route hooks run after the auth hook): one hook for the app, added below.
    global: false,
    max: config.RATE_LIMIT_MAX,
    timeWindow: config.RATE_LIMIT_WINDOW_SECONDS * 1000,
    // Only when refused: Retry-After and the limit. Counting headers on every answer would cost
    // every answer and say little (a count per API process, not per deployment).
    addHeadersOnExceeding: { 'x-ratelimit-limit': false, 'x-ratelimit-remaining': false, 'x-ratelimit-reset': false },
    errorResponseBuilder: (_request, context) =>
      // A domain error like any other: src/app/error-handler.ts maps it to 429 problem+json.
      new TooManyRequestsError(
        `Too many requests: at most ${context.max} per ${config.RATE_LIMIT_WINDOW_SECONDS} s from one client. Retry in ${context.after}.`,
      ),
  });
  fastify.addHook('onRequest', fastify.rateLimit());
}
