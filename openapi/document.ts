/**
 * Builds the OpenAPI document from the route schemas: the app is registered with placeholder
 * settings (nothing is called), made ready, and asked for its spec.
 */
import Fastify from 'fastify';
import app, { buildServerOptions } from '../src/app/app.ts';
import { loadConfig } from '../src/app/config.ts';
import { createServices } from '../src/app/services.ts';

export async function buildOpenApiDocument(): Promise<string> {
  const config = loadConfig({
    BUCKET_NAME: 'placeholder-bucket',
    TABLE_NAME: 'placeholder-table',
    MEDIACONVERT_ROLE_ARN: 'arn:aws:iam::000000000000:role/placeholder',
    JWT_ISSUER: 'https://issuer.invalid',
    JWT_AUDIENCE: 'placeholder',
    JWT_JWKS_URL: 'https://issuer.invalid/.well-known/jwks.json',
    CDN_BASE_URL: 'https://cdn.invalid',
    CLOUDFRONT_KEY_PAIR_ID: 'KPLACEHOLDER',
    // Read only when a playback is signed, which never happens here.
    CLOUDFRONT_PRIVATE_KEY_PARAMETER: '/placeholder/cloudfront-private-key',
    LOG_LEVEL: 'silent',
  });
  const fastify = Fastify(buildServerOptions(config));
  await fastify.register(app, { config, services: createServices(config) });
  await fastify.ready();
  const document = `${JSON.stringify(fastify.swagger(), null, 2)}\n`;
  await fastify.close();
  return document;
}
