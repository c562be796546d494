/**
 * Cross-origin access to the API, one policy for both runtimes: locally this app answers CORS
 * itself (@fastify/cors); in AWS the HTTP API's CorsConfiguration in template.yaml says the same
 * thing (API Gateway then answers preflights and replaces the app's CORS headers), and a test
 * holds the two equal (test/deploy/template.test.ts).
 *
 * Only the origins configured in CORS_ALLOWED_ORIGINS get an `Access-Control-Allow-Origin`, their
 * own, never `*` and never a reflection of whatever Origin was sent. Credentials are never
 * allowed: the API is called with a bearer token, so a browser has no cookie worth sending, and
 * refusing credentials keeps another site from making a signed-in user's browser call it.
 */
import type { FastifyInstance } from 'fastify';
import type { FastifyCorsOptions } from '@fastify/cors';
import type { Config } from './config.ts';

export const API_CORS = {
  allowMethods: ['GET', 'POST', 'DELETE'],
  allowHeaders: ['authorization', 'content-type'],
  /** Beyond the CORS-safelisted ones: a 429's Retry-After and the rate limit's own headers. */
  exposeHeaders: ['retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset'],
  maxAgeSeconds: 600,
  allowCredentials: false,
} as const;

export function allowedOriginsOf(config: Pick<Config, 'CORS_ALLOWED_ORIGINS'>): string[] {
  return config.CORS_ALLOWED_ORIGINS.split(',').filter((origin) => origin !== '');
}

/**
 * Registers the policy when origins are configured. With none, there is nothing to answer (the
 * page is served from the API's own origin) and the plugin is not even loaded: in AWS, API
 * Gateway answers CORS for the configured origins itself.
 */
export async function registerCors(fastify: FastifyInstance, config: Pick<Config, 'CORS_ALLOWED_ORIGINS'>): Promise<void> {
  if (allowedOriginsOf(config).length === 0) return;
  const { default: cors } = await import('@fastify/cors');
  await fastify.register(cors, apiCorsOptions(config));
}

export function apiCorsOptions(config: Pick<Config, 'CORS_ALLOWED_ORIGINS'>): FastifyCorsOptions {
  return {
    // An exact list: an Origin not in it gets no CORS header at all.
    origin: allowedOriginsOf(config),
    credentials: API_CORS.allowCredentials,
    methods: [...API_CORS.allowMethods],
    allowedHeaders: [...API_CORS.allowHeaders],
    exposedHeaders: [...API_CORS.exposeHeaders],
    maxAge: API_CORS.maxAgeSeconds,
    // An OPTIONS without Origin or Access-Control-Request-Method is not a preflight: @fastify/cors
    // would answer it 400 in text/plain; it gets the same 204 as any other OPTIONS instead.
    strictPreflight: false,
  };
}
