import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { anyRequestResponses } from '../../src/schemas/problem.ts';

const healthRoutes: FastifyPluginAsyncTypebox = async (fastify) => {
  fastify.get(
    '/health',
    {
      schema: {
        operationId: 'getHealth',
        tags: ['health'],
        summary: 'Liveness check',
        response: { 200: Type.Object({ status: Type.Literal('ok') }, { description: 'The API is up' }), ...anyRequestResponses },
      },
    },
    async () => ({ status: 'ok' as const }),
  );
};

export default healthRoutes;
