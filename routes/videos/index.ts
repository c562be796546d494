import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { anyRequestResponses, problemResponse } from '../../src/schemas/problem.ts';
import { notFound, security, unauthenticated } from '../responses.ts';
import { ListVideosQuery, Video, VideoPage, VideoParams } from '../../src/schemas/video.ts';
import { Playback } from '../../src/schemas/playback.ts';

const videoRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  // Any id is looked up, but one that cannot be an id is refused before the lookup.
  const invalidId = problemResponse('The video id is not valid: empty, over 64 characters, or not a valid URL path segment (a stray %)');
  const idTooLong = problemResponse(
    'URI too long: the video id is over the router’s limit of 100 characters, or the URI over what the server reads (16 KB with the headers)',
  );

  fastify.get(
    '/videos',
    {
      schema: {
        operationId: 'listVideos',
        tags: ['videos'],
        summary: 'List videos, newest first',
        description: '`ready` (default): every ready video. `processing`, `failed`: your own. `all`: every ready video and all of your own.',
        security,
        querystring: ListVideosQuery,
        response: {
          200: Type.Ref(VideoPage, { description: 'One page of videos' }),
          400: problemResponse('Invalid status, limit or cursor'),
          401: unauthenticated,
          ...anyRequestResponses,
        },
      },
    },
    async (request) => fastify.services.videos.listVideos(request.viewer, request.query),
  );

  fastify.get(
    '/videos/:videoId',
    {
      schema: {
        operationId: 'getVideo',
        tags: ['videos'],
        summary: 'One video: status, progress, renditions, or why it failed',
        security,
        params: VideoParams,
        response: {
          200: Type.Ref(Video, { description: 'The video' }),
          400: invalidId,
          401: unauthenticated,
          404: notFound,
          ...anyRequestResponses,
          414: idTooLong,
        },
      },
    },
    async (request) => fastify.services.videos.getVideo(request.viewer, request.params.videoId),
  );

  fastify.get(
    '/videos/:videoId/playback',
    {
      schema: {
        operationId: 'getPlayback',
        tags: ['videos'],
        summary: 'Watch a video: a signed CDN URL of its HLS master playlist',
        description:
          'For a ready video, or for your own video while it is processing once it is `playable` (its first rendition is published; the master playlist gains renditions as they finish, so players should reload it when `renditions` grows). ' +
          'The URL is signed once for every playlist and segment of the video; the CDN adds the same signature to each URI inside the playlists it serves. It stays valid until expiresAt, at least the video duration plus a margin.',
        security,
        params: VideoParams,
        response: {
          200: Type.Ref(Playback, { description: 'Where to play it, and until when' }),
          400: invalidId,
          401: unauthenticated,
          404: notFound,
          409: problemResponse('The video cannot be watched yet (awaiting upload, processing without a published rendition, or failed)'),
          ...anyRequestResponses,
          414: idTooLong,
        },
      },
    },
    async (request) => fastify.services.videos.getPlayback(request.viewer, request.params.videoId),
  );

  fastify.delete(
    '/videos/:videoId',
    {
      schema: {
        operationId: 'deleteVideo',
        tags: ['videos'],
        summary: 'Delete a video you own: its record, its upload and every stream object',
        security,
        params: VideoParams,
        response: {
          204: Type.Null({
            description:
              'Deleted: gone for everyone at once; a running transcode is canceled and every object removed (anything written later, or not removable at once, is removed by the reconciler)',
          }),
          400: invalidId,
          401: unauthenticated,
          403: problemResponse('The video belongs to someone else'),
          404: notFound,
          // A DELETE takes no body; one sent anyway is still read like any other.
          413: problemResponse('A request body over 1 MiB (this operation takes none)'),
          415: problemResponse('A request body that is not application/json (this operation takes none)'),
          ...anyRequestResponses,
          414: idTooLong,
        },
      },
    },
    async (request, reply) => {
      const { cleanupError } = await fastify.services.videos.deleteVideo(request.viewer, request.params.videoId);
      // The video is gone for everyone; what is left in storage the reconciler removes.
      if (cleanupError) request.log.error({ err: cleanupError, videoId: request.params.videoId }, 'deleted video not cleaned up yet; the reconciler retries');
      return reply.status(204).send(null);
    },
  );
};

export default videoRoutes;
