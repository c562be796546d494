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
await fastify.register(app, { config, services });
await fastify.ready();

/**
 * API Gateway passes bodies as text unless the function marks them base64; binary responses
 * (Swagger UI's favicons, any image or font the web page serves) must be marked, or the client
 * gets mangled bytes.
 */
export const BINARY_MIME_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/x-icon',
  'image/vnd.microsoft.icon',
  'font/woff',
  'font/woff2',
  'application/octet-stream',
];

export const handler = awsLambdaFastify(fastify, { decorateRequest: false, binaryMimeTypes: BINARY_MIME_TYPES });
