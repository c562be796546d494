/**
 * API Gateway entry point: the Fastify app behind @fastify/aws-lambda, built once per container
 * (at module load, so the cold start pays for it once and every invocation reuses it).
 */
import Fastify from 'fastify';
import awsLambdaFastify from '@fastify/aws-lambda';
import app, { buildServerOptions } from './app.ts';
import { servicesFromEnvironment } from './runtime.ts';

const { config, services } = servicesFromEnvironment();
const fastify = Fastify(buildServerOptions(config));
await fastify.register(app, { services });
await fastify.ready();

export const handler = awsLambdaFastify(fastify, { decorateRequest: false });
