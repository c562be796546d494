/**
 * The throughput baseline: a bare Fastify app, with the API's logger level and nothing else, alone
 * in its process like the API it is compared with. Routes:
 *   /ping   a small JSON
 *   /page   the JSON object in the file given as the first argument (the API's own list page),
 *           serialized by Fastify's default serializer: the same bytes as the list route, without
 *           its authentication, validation, service or schema
 *   /playback  likewise, the file given as the second argument (a playback route answer)
 * Announces `{url}` when listening.
 */
import { readFile } from 'node:fs/promises';
import Fastify from 'fastify';
import { announce } from '../lib/processes.ts';

const [pageFile, playbackFile] = process.argv.slice(2);
const page: unknown = pageFile ? JSON.parse(await readFile(pageFile, 'utf8')) : { items: [] };
const playback: unknown = playbackFile ? JSON.parse(await readFile(playbackFile, 'utf8')) : {};
const fastify = Fastify({ logger: { level: 'warn' } });
fastify.get('/ping', async () => ({ status: 'ok', items: [] }));
fastify.get('/page', async () => page);
fastify.get('/playback', async () => playback);
const url = await fastify.listen({ host: '127.0.0.1', port: 0 });
announce({ url });
process.once('SIGTERM', () => void fastify.close().then(() => process.exit(0)));
