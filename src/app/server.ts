/**
 * Listens on a local port with the same app the Lambda serves: for `sam local`-like loops against
 * an existing stack. The full local system (stand-ins included) is `npm start` (deploy/local).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import app, { buildServerOptions } from './app.ts';
import type { Config } from './config.ts';
import type { Services } from './services.ts';
import type { LogDestination } from '../shared/redact.ts';

export async function startApiServer(options: {
  config: Config;
  services: Services;
  host: string;
  port: number;
  /** Where the API's (redacted) log lines go; stdout by default. */
  logDestination?: LogDestination;
}): Promise<{ fastify: FastifyInstance; url: string }> {
  const fastify = Fastify(buildServerOptions(options.config, undefined, options.logDestination));
  await fastify.register(app, { config: options.config, services: options.services });
  const address = await fastify.listen({ host: options.host, port: options.port });
  return { fastify, url: address };
}
