/**
 * The one Fastify app: every HTTP route, the OpenAPI document and Swagger UI. Entry points
 * (src/app/lambda.ts in AWS, src/app/server.ts and the local stack, tests) build it the same way:
 * `Fastify(buildServerOptions(config))` then `register(app, { config, services })`.
 */
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Config } from './config.ts';
import type { Services } from './services.ts';
import type { Viewer } from '../domain/video-service.ts';
import { answerClientError, answerFrameworkError, registerErrorHandling } from './error-handler.ts';
import { createLazySchemaCompilers, type LazySchemaCompilers } from './schema-compilers.ts';
import { API_SECURITY_HEADERS, DOCS_CONTENT_SECURITY_POLICY } from './security-headers.ts';
import { registerCors } from './cors.ts';
import { registerRateLimit } from './rate-limit.ts';
import { Problem } from '../schemas/problem.ts';
import { AudioTrack, Rendition, Video, VideoError, VideoPage, VideoStatus, VideoWarning } from '../schemas/video.ts';
import {
  CompleteUploadRequest,
  CreateUploadRequest,
  CreateUploadResponse,
  MultipartUpload,
  PartUploadUrl,
  PresignedUpload,
  SignedParts,
  SignPartsRequest,
  StoredPart,
  UploadProgress,
} from '../schemas/upload.ts';
import { Playback } from '../schemas/playback.ts';
import healthRoutes from '../../routes/health/index.ts';
import uploadRoutes from '../../routes/uploads/index.ts';
import videoRoutes from '../../routes/videos/index.ts';
import webRoutes from '../../routes/web/index.ts';
import { redactingDestination, type LogDestination } from '../shared/redact.ts';

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
  interface FastifyRequest {
    /** The signed-in user; set by the authentication hook on every protected route. */
    viewer: Viewer;
  }
}

export interface AppOptions {
  config: Config;
  services: Services;
}

export const API_VERSION = '0.1.0';

export function buildServerOptions(
  config: Pick<Config, 'LOG_LEVEL'>,
  schemaCompilers: LazySchemaCompilers = createLazySchemaCompilers(),
  logDestination: LogDestination = process.stdout,
): FastifyServerOptions {
  return {
    // Every line redacted as written: no signature, token or key reaches a log (src/shared/redact.ts).
    logger: { level: config.LOG_LEVEL, stream: redactingDestination(logDestination) },
    ajv: {
      // Unknown properties are an error the client should hear about, not silently dropped.
      // Coercion is for the parts that arrive as text (query, path, headers); JSON bodies are
      // validated without it (src/app/schema-compilers.ts, BODY_AJV_OPTIONS).
      customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false },
    },
    // API Gateway may forward paths with a trailing slash. A longer path parameter is answered
    // 414 before any route runs (Fastify's default limit, stated because the API documents it).
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 100 },
    // What is refused before a route runs is answered as problem+json too (src/app/error-handler.ts):
    // a URL that does not decode or an overlong path parameter (routing), and whatever Node's HTTP
    // parser refuses (headers too large, a broken Content-Length) on the local server.
    frameworkErrors: answerFrameworkError,
    clientErrorHandler: answerClientError,
    genReqId: (request) => (request.headers['x-amzn-trace-id'] as string | undefined) ?? crypto.randomUUID(),
    // Each route's validators and serializers are compiled at its first request, not at ready:
    // a cold start used to compile all of them (src/app/schema-compilers.ts).
    schemaController: { compilersFactory: schemaCompilers.compilersFactory },
  };
}

async function app(fastify: FastifyInstance, options: AppOptions): Promise<void> {
  fastify.decorate('services', options.services);
  registerErrorHandling(fastify);
  // Security headers on every response, errors and 404s included (src/app/security-headers.ts).
  fastify.addHook('onRequest', async (_request, reply) => {
    reply.headers(API_SECURITY_HEADERS);
  });
  // CORS for the configured origins only (src/app/cors.ts), before the rate limit so that a 429 is
  // readable by a page that may call the API; then the rate limit, before anything else runs.
  await registerCors(fastify, options.config);
  await registerRateLimit(fastify, options.config);

  for (const schema of [
    VideoStatus,
    Rendition,
    AudioTrack,
    VideoWarning,
    VideoError,
    Video,
    VideoPage,
    PresignedUpload,
    PartUploadUrl,
    MultipartUpload,
    CreateUploadRequest,
    CreateUploadResponse,
    SignPartsRequest,
    SignedParts,
    StoredPart,
    UploadProgress,
    CompleteUploadRequest,
    Playback,
    Problem,
  ]) {
    fastify.addSchema(schema);
  }

  await fastify.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Video on demand API',
        version: API_VERSION,
        description:
          'Upload videos with pre-signed URLs, follow their conversion to an HLS adaptive-bitrate ladder, and list, watch and delete them. ' +
          'Errors are application/problem+json. Any request may get 414 or 431 (a URI or headers over what the server reads) and 429 (too many requests: from one client, wait Retry-After seconds; behind API Gateway, its throttling of the whole API answers with its own JSON message and no Retry-After). ' +
          'Browsers may call the API from the origins its operator configured (CORS, no credentials: send the token in Authorization).',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        },
      },
      tags: [
        { name: 'uploads', description: 'Start an upload' },
        { name: 'videos', description: 'The catalog' },
        { name: 'health', description: 'Liveness' },
      ],
    },
    // Named components in the document for each $id schema, so generated clients get named types.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, index) => String(json.$id ?? `def-${index}`) },
  });
  // Its onSend hook replaces the API's Content-Security-Policy on Swagger UI's own routes.
  await fastify.register(swaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CONTENT_SECURITY_POLICY });
  fastify.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger());

  await fastify.register(healthRoutes);
  await fastify.register(webRoutes, { settings: options.config });

  // Everything below needs a signed-in user: one hook for the whole subtree.
  await fastify.register(async (protectedRoutes) => {
    protectedRoutes.decorateRequest('viewer', null as unknown as Viewer);
    protectedRoutes.addHook('onRequest', async (request) => {
      request.viewer = await fastify.services.tokens.verify(request.headers.authorization);
    });
    await protectedRoutes.register(uploadRoutes);
    await protectedRoutes.register(videoRoutes);
  });
}

export default fp(app, { name: 'vod-app', fastify: '5.x' });
