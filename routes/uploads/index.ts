import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { anyRequestResponses, problemResponse } from '../../src/schemas/problem.ts';
import { notFound, security, unauthenticated } from '../responses.ts';
import { CompleteUploadRequest, CreateUploadRequest, CreateUploadResponse, SignedParts, SignPartsRequest, UploadProgress } from '../../src/schemas/upload.ts';
import { Video, VideoParams } from '../../src/schemas/video.ts';

const uploadRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  const notOwner = problemResponse("The video is someone else's: only its owner uploads it");
  // Fastify reads a body on any method: one too large or not JSON is refused before the route.
  const bodyTooLarge = problemResponse('The request body is over 1 MiB');
  const notJson = problemResponse('The request body is not application/json');
  const notMultipart = problemResponse(
    'The upload is not a multipart upload in progress: the video was uploaded already, or was registered for one PUT, or its upload was abandoned',
  );

  fastify.post(
    '/uploads',
    {
      schema: {
        operationId: 'createUpload',
        tags: ['uploads'],
        summary: 'Register a video and get pre-signed URLs to upload its bytes to',
        description:
          'Small files: `upload.method` is `PUT`; PUT the file to `upload.url` with exactly `upload.headers` before `upload.expiresAt`. ' +
          "Large files (above the service's threshold, or `multipart: true`): `upload.method` is `multipart`; PUT each part to its URL " +
          '(exactly `sizeBytes` long; in parallel, in any order; sign more with POST /uploads/{videoId}/parts), keep the ETag header of each answer, ' +
          'then POST /uploads/{videoId}/complete. After a crash or a reload, GET /uploads/{videoId}/parts says which parts are stored. ' +
          'Conversion starts when the upload completes.',
        security,
        body: Type.Ref(CreateUploadRequest),
        response: {
          201: Type.Ref(CreateUploadResponse, { description: 'The video is registered; upload the file as `upload.method` says' }),
          400: problemResponse('The body is not a valid upload request (not JSON, a missing or unknown field, or a value of the wrong type)'),
          401: unauthenticated,
          413: problemResponse('sizeBytes is over the upload limit (or over 5 GiB with multipart: false), or the request body itself is over 1 MiB'),
          415: problemResponse('contentType is not a video or audio type (an image or a text file, say), or the request body is not application/json'),
          ...anyRequestResponses,
        },
      },
    },
    async (request, reply) => {
      const created = await fastify.services.videos.requestUpload(request.viewer, request.body);
      return reply.status(201).send(created);
    },
  );

  fastify.get(
    '/uploads/:videoId/parts',
    {
      schema: {
        operationId: 'listUploadedParts',
        tags: ['uploads'],
        summary: 'The parts of a multipart upload stored so far: resume with the others',
        security,
        params: VideoParams,
        response: {
          200: Type.Ref(UploadProgress, { description: 'The upload and its stored parts' }),
          400: problemResponse('The video id is not valid'),
          401: unauthenticated,
          403: notOwner,
          404: notFound,
          409: notMultipart,
          ...anyRequestResponses,
        },
      },
    },
    async (request) => fastify.services.videos.listUploadedParts(request.viewer, request.params.videoId),
  );

  fastify.post(
    '/uploads/:videoId/parts',
    {
      schema: {
        operationId: 'signUploadParts',
        tags: ['uploads'],
        summary: 'Pre-signed URLs for more parts of a multipart upload (or new ones for parts whose URLs expired)',
        security,
        params: VideoParams,
        body: Type.Ref(SignPartsRequest),
        response: {
          200: Type.Ref(SignedParts, { description: 'One URL per part asked for, in the order asked' }),
          400: problemResponse("Not a valid request: a part number twice, or over the upload's part count"),
          401: unauthenticated,
          403: notOwner,
          404: notFound,
          409: notMultipart,
          413: bodyTooLarge,
          415: notJson,
          ...anyRequestResponses,
        },
      },
    },
    async (request) => fastify.services.videos.signUploadParts(request.viewer, request.params.videoId, request.body.parts),
  );

  fastify.post(
    '/uploads/:videoId/complete',
    {
      schema: {
        operationId: 'completeUpload',
        tags: ['uploads'],
        summary: "Finish a multipart upload: its parts become the video's file and conversion starts",
        description:
          'List every part with the ETag its PUT answered. Refused with the reason when a part is missing, was stored with another ETag, ' +
          'or the parts do not add up to the declared size. Repeating a completion that succeeded answers the video again.',
        security,
        params: VideoParams,
        body: Type.Ref(CompleteUploadRequest),
        response: {
          202: Type.Ref(Video, { description: 'The file is stored; conversion starts' }),
          400: problemResponse('Not a valid request: a part listed twice, or a part number over the part count'),
          401: unauthenticated,
          403: notOwner,
          404: notFound,
          409: problemResponse(
            'The parts do not make the declared file: a part missing, stored with another ETag or another size (the detail names them); or the upload is not in progress',
          ),
          413: bodyTooLarge,
          415: notJson,
          ...anyRequestResponses,
        },
      },
    },
    async (request, reply) => {
      const video = await fastify.services.videos.completeUpload(request.viewer, request.params.videoId, request.body.parts);
      return reply.status(202).send(video);
    },
  );

  fastify.delete(
    '/uploads/:videoId',
    {
      schema: {
        operationId: 'abortUpload',
        tags: ['uploads'],
        summary: 'Cancel an upload that has not completed: its stored parts and the video are removed',
        security,
        params: VideoParams,
        response: {
          204: Type.Null({ description: 'Cancelled: nothing of it stays stored' }),
          400: problemResponse('The video id is not valid'),
          401: unauthenticated,
          403: notOwner,
          404: notFound,
          409: problemResponse('The upload has completed already: delete the video instead'),
          // A DELETE takes no body; one sent anyway is still read like any other.
          413: problemResponse('A request body over 1 MiB (this operation takes none)'),
          415: problemResponse('A request body that is not application/json (this operation takes none)'),
          ...anyRequestResponses,
        },
      },
    },
    async (request, reply) => {
      const { cleanupError } = await fastify.services.videos.abortUpload(request.viewer, request.params.videoId);
      if (cleanupError) request.log.error({ err: cleanupError, videoId: request.params.videoId }, 'upload aborted; storage cleanup left to the reconciler');
      return reply.status(204).send(null);
    },
  );
};

export default uploadRoutes;
