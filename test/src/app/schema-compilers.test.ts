/**
 * Lazy schema compilation (src/app/schema-compilers.ts): nothing compiled at ready, every schema of the
 * app compiles, and a route answers exactly as with Fastify's own eager compilers.
 */
import t from 'tap';
import Fastify, { type FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import app, { buildServerOptions } from '../../../src/app/app.ts';
import { loadConfig } from '../../../src/app/config.ts';
import { createServices } from '../../../src/app/services.ts';
import { createLazySchemaCompilers } from '../../../src/app/schema-compilers.ts';
import { MINIMAL_ENV } from '../../helpers/config.ts';

t.test('the app compiles no schema at ready, and every one of them compiles', async (t) => {
  const config = loadConfig({ ...MINIMAL_ENV, LOG_LEVEL: 'silent' });
  const compilers = createLazySchemaCompilers();
  const fastify = Fastify(buildServerOptions(config, compilers));
  t.teardown(() => fastify.close());
  await fastify.register(app, { config, services: createServices(config) });
  await fastify.ready();
  // Validators and serializers of every route (and of its HEAD twin), plus the compilers themselves.
  const compiled = compilers.compileAll();
  t.ok(compiled > 20, `${compiled} schemas and compilers were waiting, and all compiled`);
  t.equal(compilers.compileAll(), 0, 'each once');
});

/** One route with each kind of schema, as the API's routes have them. */
async function exampleApp(lazy: boolean): Promise<FastifyInstance> {
  const options = buildServerOptions({ LOG_LEVEL: 'silent' });
  if (!lazy) delete options.schemaController;
  const fastify = Fastify(options);
  fastify.addSchema(Type.Object({ id: Type.String(), count: Type.Integer() }, { $id: 'Thing' }));
  fastify.post(
    '/things/:id',
    {
      schema: {
        params: Type.Object({ id: Type.String({ pattern: '^[a-z]+$' }) }),
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, default: 5 })),
          tags: Type.Optional(Type.Array(Type.String())),
        }),
        body: Type.Object({ count: Type.Integer() }, { additionalProperties: false }),
        response: { 200: Type.Ref('Thing'), 400: Type.Object({ message: Type.String() }) },
      },
    },
    async (request) => {
      const query = request.query as { limit: number; tags?: string[] };
      return { id: (request.params as { id: string }).id, count: (request.body as { count: number }).count * query.limit, dropped: 'not in the schema' };
    },
  );
  await fastify.ready();
  return fastify;
}

t.test('a route answers the same, byte for byte, with lazy and with eager compilers (bodies that need no coercion)', async (t) => {
  const lazy = await exampleApp(true);
  const eager = await exampleApp(false);
  t.teardown(() => Promise.all([lazy.close(), eager.close()]));
  const requests = [
    { method: 'POST', url: '/things/abc?limit=3', payload: { count: 2 } },
    { method: 'POST', url: '/things/abc', payload: { count: 2 } },
    { method: 'POST', url: '/things/abc?tags=a&tags=b', payload: { count: 1 } },
    { method: 'POST', url: '/things/abc?tags=a', payload: { count: 1 } },
    { method: 'POST', url: '/things/ABC', payload: { count: 2 } },
    { method: 'POST', url: '/things/abc?limit=11', payload: { count: 2 } },
    { method: 'POST', url: '/things/abc?limit=x', payload: { count: 2 } },
    { method: 'POST', url: '/things/abc', payload: { count: 2, extra: true } },
    { method: 'POST', url: '/things/abc', payload: { count: 'two' } },
  ] as const;
  for (const request of requests) {
    const [a, b] = await Promise.all([lazy.inject(request), eager.inject(request)]);
    t.equal(a.statusCode, b.statusCode, `${request.url} ${JSON.stringify(request.payload)}: status ${b.statusCode}`);
    t.equal(a.body, b.body, 'same body');
  }
  t.same((await lazy.inject(requests[0])).json(), { id: 'abc', count: 6 }, 'coerced, defaulted and filtered by the schemas');
});

t.test('a JSON body is never coerced; the query string and path still are', async (t) => {
  const fastify = await exampleApp(true);
  t.teardown(() => fastify.close());
  const post = (url: string, payload: unknown) => fastify.inject({ method: 'POST', url, payload: payload as object });
  for (const count of ['2', [2], true, null]) {
    const answer = await post('/things/abc', { count });
    t.equal(answer.statusCode, 400, `count ${JSON.stringify(count)} in a body: 400`);
  }
  const coerced = await post('/things/abc?limit=3&tags=x', { count: 2 });
  t.equal(coerced.statusCode, 200, 'limit=3 is text, read as the integer 3; tags=x as the array ["x"]');
  t.same(coerced.json(), { id: 'abc', count: 6 });
});
