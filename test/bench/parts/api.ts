/**
 * API throughput and p99 latency for the list and playback routes, each next to a bare Fastify
 * route (test/bench/servers/bare-fastify.ts) loaded the same way just before it: one answering a
 * small JSON, and one answering the same bytes as the route (~9 KB for a list page of 20 videos,
 * ~0.7 KB for a signed playback URL), so the comparison is not only about payload size: on
 * loopback a 9 KB answer alone costs a bare route two thirds of its throughput. Four settings:
 *
 *   stack     the local stack as `npm start` runs it: reads go to dynalite, which runs in the API's
 *             own process and event loop, through the viewers' read cache (CATALOG_CACHE_MS,
 *             src/domain/catalog-read-cache.ts), as they would go to DynamoDB in AWS
 *   sdk       the API alone, DynamoDB answering in-process through the real SDK client, behind
 *             the read cache: the API's cost per request in AWS for videos and pages in demand
 *   uncached  the same with CATALOG_CACHE_MS=0: the SDK's client-side work in every request
 *   direct    the API alone, the document client answering directly: the API's own work only
 *
 * The playback runs rotate over 20 ready videos, so the signed-URL cache (src/adapters/cloudfront/playback-signer.ts)
 * signs each video once per second, as it would for 20 videos watched at once.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startServer, type ServerProcess } from '../lib/processes.ts';
import { CONNECTIONS, load, type LoadResult } from '../lib/load.ts';
import { measure, type BenchOptions, type Measure } from '../lib/measure.ts';

interface StackInfo {
  apiUrl: string;
  token: string;
  videoIds: string[];
}
interface AloneInfo {
  sdkUrl: string;
  uncachedUrl: string;
  directUrl: string;
  token: string;
  videoIds: string[];
}

const SETTINGS = {
  stack: 'local stack (dynalite in-process)',
  sdk: 'API alone, DynamoDB answered in-process via the SDK, read cache on',
  uncached: 'API alone, DynamoDB answered in-process via the SDK, every request reading it',
  direct: "API alone, DynamoDB answered directly, no read cache (API's own work)",
} as const;

export async function runApi(options: BenchOptions): Promise<Measure[]> {
  const videos = options.tiny ? 3 : 20;
  const servers: Array<ServerProcess<unknown>> = [];
  try {
    const stack = await startServer<StackInfo>('test/bench/servers/stack.ts', [path.join(options.workDir, 'api-stack'), String(videos)]);
    servers.push(stack);
    const alone = await startServer<AloneInfo>('test/bench/servers/api-alone.ts', [path.join(options.workDir, 'api-alone'), String(videos)]);
    servers.push(alone);
    // The list and playback routes' answers, for the bare routes that serve the same bytes.
    const answer = async (route: string) =>
      (await fetch(`${alone.info.directUrl}${route}`, { headers: { authorization: `Bearer ${alone.info.token}` } })).text();
    const pageText = await answer('/videos');
    const playbackText = await answer(`/videos/${alone.info.videoIds[0]}/playback`);
    const pageFile = path.join(options.workDir, 'page.json');
    const playbackFile = path.join(options.workDir, 'playback.json');
    await writeFile(pageFile, pageText);
    await writeFile(playbackFile, playbackText);
    const bare = await startServer<{ url: string }>('test/bench/servers/bare-fastify.ts', [pageFile, playbackFile]);
    servers.push(bare);

    const subjects: Array<{ setting: keyof typeof SETTINGS; route: 'list' | 'playback'; base: string; token: string; videoIds: string[] }> = [];
    for (const route of ['list', 'playback'] as const) {
      subjects.push({ setting: 'stack', route, base: stack.info.apiUrl, token: stack.info.token, videoIds: stack.info.videoIds });
      subjects.push({ setting: 'sdk', route, base: alone.info.sdkUrl, token: alone.info.token, videoIds: alone.info.videoIds });
      subjects.push({ setting: 'uncached', route, base: alone.info.uncachedUrl, token: alone.info.token, videoIds: alone.info.videoIds });
      subjects.push({ setting: 'direct', route, base: alone.info.directUrl, token: alone.info.token, videoIds: alone.info.videoIds });
    }

    const measures: Measure[] = [];
    for (const subject of subjects) {
      // The baselines right before each subject, so drift in machine load hits both alike.
      const small = await load({ url: `${bare.info.url}/ping` }, options.loadSeconds);
      const sameBytes = await load({ url: `${bare.info.url}/${subject.route === 'list' ? 'page' : 'playback'}` }, options.loadSeconds);
      const auth = { authorization: `Bearer ${subject.token}` };
      const result: LoadResult =
        subject.route === 'list'
          ? await load({ url: `${subject.base}/videos`, headers: auth }, options.loadSeconds)
          : await load({ url: subject.base, headers: auth, paths: subject.videoIds.map((videoId) => `/videos/${videoId}/playback`) }, options.loadSeconds);
      const routeLabel =
        subject.route === 'list'
          ? `GET /videos (a page of ${videos}, ${Buffer.byteLength(pageText)} B)`
          : `GET /videos/{id}/playback (${Buffer.byteLength(playbackText)} B)`;
      const id = `api.${subject.route}.${subject.setting}`;
      const detail = { setting: SETTINGS[subject.setting], api: result, bareSmall: small, bareSameBytes: sameBytes, seconds: options.loadSeconds };
      options.log(
        `${id}: ${result.requestsPerSecond.toFixed(0)} req/s (p99 ${result.p99Ms.toFixed(2)} ms); bare small JSON ${small.requestsPerSecond.toFixed(0)} req/s (p99 ${small.p99Ms.toFixed(2)} ms)` +
          `; bare same bytes ${sameBytes.requestsPerSecond.toFixed(0)} req/s (p99 ${sameBytes.p99Ms.toFixed(2)} ms)`,
      );
      const baselines = [
        { key: 'small', label: 'bare Fastify route, small JSON', result: small },
        { key: 'same-bytes', label: 'bare Fastify route answering the same bytes', result: sameBytes },
      ];
      for (const baseline of baselines) {
        measures.push(
          measure({
            id: `${id}.rps.vs-${baseline.key}`,
            part: 'api',
            label: `${routeLabel}, ${SETTINGS[subject.setting]}: requests/s`,
            unit: 'req/s',
            value: result.requestsPerSecond,
            baseline: { label: baseline.label, value: baseline.result.requestsPerSecond },
            better: 'higher',
            detail,
          }),
        );
      }
      measures.push(
        measure({
          id: `${id}.p99.vs-small`,
          part: 'api',
          label: `${routeLabel}, ${SETTINGS[subject.setting]}: p99 latency (${CONNECTIONS} connections)`,
          unit: 'ms',
          value: result.p99Ms,
          baseline: { label: 'bare Fastify route, small JSON', value: small.p99Ms },
          better: 'lower',
          detail,
        }),
      );
    }
    return measures;
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}
