/**
 * The cold-start baseline (`npm run measure:cold-init`, `npm run bench`): the bare framework the
 * API stands on (Fastify, @fastify/swagger, @fastify/swagger-ui, @fastify/aws-lambda) with one
 * route, built like the API bundle (deploy/build.ts) and timed the same way. Never deployed.
 */
import Fastify from 'fastify';
import awsLambdaFastify from '@fastify/aws-lambda';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';

const fastify = Fastify({ logger: { level: 'warn' } });
await fastify.register(swagger, { openapi: { info: { title: 'bare framework', version: '1.0.0' } } });
await fastify.register(swaggerUi, { routePrefix: '/docs' });
fastify.get('/health', async () => ({ status: 'ok' }));
await fastify.ready();

export const handler = awsLambdaFastify(fastify, { decorateRequest: false });
