import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { anyRequestResponses, problemResponse } from '../../src/schemas/problem.ts';
import { CreateUploadRequest, CreateUploadResponse } from '../../src/schemas/upload.ts';

const uploadRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.post(
    '/uploads',
    {
      schema: {
        operationId: 'createUpload',
        tags: ['uploads'],
        summary: 'Register a video and get a pre-signed URL to PUT its bytes to',
        description:
          'PUT the file to `upload.url` with exactly `upload.headers` before `upload.expiresAt`. Conversion starts when the upload completes.',
        security: [{ bearerAuth: [] }],
        body: Type.Ref(CreateUploadRequest),
        response: {
          201: Type.Ref(CreateUploadResponse, { description: 'The video is registered; PUT the file to upload.url' }),
          400: problemResponse('The body is not a valid upload request (not JSON, a missing or unknown field, or a value of the wrong type)'),
          401: problemResponse('Missing, malformed, expired or foreign bearer token'),
          413: problemResponse('sizeBytes is over the upload limit, or the request body itself is over 1 MiB'),
          415: problemResponse('contentType is not a video or audio type (an image or a text file, say), or the request body is not application/json'),
          ...anyRequestResponses,
        },
      },
    },
    async (request, reply) => {
      const created = await fastify.services.videos.requestUpload(request.viewer, request.body as CreateUploadRequest);
      return reply.status(201).send(created);
    },
  );
};

export default uploadRoutes;
