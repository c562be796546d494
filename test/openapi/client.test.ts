import t from 'tap';
import { readFile } from 'node:fs/promises';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';

const spec = new URL('../../openapi/openapi.json', import.meta.url);
const client = new URL('../../routes/web/page/api/openapi.ts', import.meta.url);

t.test('the web page’s generated client matches openapi/openapi.json (run `npm run client` if not)', async (t) => {
  // Exactly what `openapi-typescript openapi/openapi.json -o …` (npm run client) writes.
  const expected = `${COMMENT_HEADER}${astToString(await openapiTS(spec, { silent: true }))}`;
  t.equal(await readFile(client, 'utf8'), expected, 'routes/web/page/api/openapi.ts is stale: run npm run client');
});
