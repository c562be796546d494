/** `npm run openapi`: writes openapi/openapi.json from the route schemas. */
import { writeFile } from 'node:fs/promises';
import { buildOpenApiDocument } from './document.ts';

const target = new URL('./openapi.json', import.meta.url);
await writeFile(target, await buildOpenApiDocument());
process.stdout.write(`wrote ${target.pathname}\n`);
