import t from 'tap';
import { readFile } from 'node:fs/promises';
import { buildOpenApiDocument } from '../../openapi/document.ts';

t.test('openapi/openapi.json is what the route schemas generate (run `npm run openapi` if not)', async (t) => {
  const committed = await readFile(new URL('../../openapi/openapi.json', import.meta.url), 'utf8');
  t.equal(committed, await buildOpenApiDocument(), 'openapi/openapi.json is stale: run npm run openapi');
});

t.test('every operation has a stable operationId, a summary, tags and documented errors', async (t) => {
  const document = JSON.parse(await buildOpenApiDocument()) as {
    paths: Record<
      string,
      Record<
        string,
        { operationId?: string; summary?: string; tags?: string[]; responses: Record<string, { content?: Record<string, unknown> }>; security?: unknown[] }
      >
    >;
  };
  const operationIds = new Set<string>();
  for (const [route, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const label = `${method.toUpperCase()} ${route}`;
      t.ok(operation.operationId, `${label} has an operationId`);
      t.notOk(operationIds.has(operation.operationId!), `${label} operationId is unique`);
      operationIds.add(operation.operationId!);
      t.ok(operation.summary, `${label} has a summary`);
      t.ok(operation.tags?.length, `${label} has tags`);
      if (route !== '/health') {
        t.ok(operation.security?.length, `${label} declares bearer auth`);
        t.ok(operation.responses['401']?.content?.['application/problem+json'], `${label} documents 401 as problem+json`);
      }
    }
  }
  t.ok(operationIds.has('createUpload') && operationIds.has('listVideos') && operationIds.has('getVideo') && operationIds.has('deleteVideo'));
});
