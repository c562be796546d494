import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { tooManyRequestsResponse } from '../../src/schemas/problem.ts';

const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/health',
    {
      schema: {
        operationId: 'getHealth',
        tags: ['health'],
        summary: 'Liveness check',
        response: { 200: Type.Object({ status: Type.Literal('ok') }, { description: 'The API is up' }), 429: tooManyRequestsResponse },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
};

export default healthRoutes;
