/**
 * The API's p99 latency while transcodes queue, next to its idle p99 on the same stack in the
 * same run: on the local stack the worker's ffmpeg shares the machine with the API, and must not
 * starve it (ffmpeg runs 10 nice steps below the stack: src/adapters/ffmpeg-hls/priority.ts).
 *
 *   idle   the playback route of the local stack (as the api part's `stack` setting) under load
 *   busy   the same load, once UPLOADS uploads of a 720p clip are queued and the first is encoding
 *
 * The uploads go through the API and the pre-signed PUT, as viewers' would; the worker runs one
 * transcode at a time (`npm start`'s default), so the queue outlasts the load run.
 */
import path from 'node:path';
import { startServer } from '../lib/processes.ts';
import { CONNECTIONS, load, type LoadResult } from '../lib/load.ts';
import { measure, type BenchOptions, type Measure } from '../lib/measure.ts';
import { makeClip } from '../../helpers/media.ts';
import { uploadThroughApi } from '../lib/pipeline-client.ts';
import type { Video } from '../../../src/schemas/video.ts';

interface StackInfo {
  apiUrl: string;
  token: string;
  videoIds: string[];
}

/** How many transcodes are queued: the measure is 20. */
const UPLOADS = 20;

export async function runApiBusy(options: BenchOptions): Promise<Measure[]> {
  const stack = await startServer<StackInfo>('test/bench/servers/stack.ts', [path.join(options.workDir, 'api-busy-stack'), String(options.tiny ? 3 : 20)]);
  try {
    const { apiUrl, token, videoIds } = stack.info;
    const headers = { authorization: `Bearer ${token}` };
    const target = { url: apiUrl, headers, paths: videoIds.map((videoId) => `/videos/${videoId}/playback`) };
    const idle = await load(target, options.loadSeconds);

    const uploads = options.tiny ? 2 : UPLOADS;
    const clip = await makeClip(options.tiny ? { seconds: 2, width: 320, height: 240, audio: true } : { seconds: 30, width: 1280, height: 720, audio: true });
    const queued: string[] = [];
    for (let index = 0; index < uploads; index++) queued.push(await uploadThroughApi(apiUrl, token, clip, `Busy ${index + 1}`));
    // Loaded once ffmpeg is at work on the first of them.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const video = (await (await fetch(`${apiUrl}/videos/${queued[0]}`, { headers })).json()) as Video;
      if ((video.progressPercent ?? 0) > 0 || video.status !== 'processing' || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const busy = await load(target, options.loadSeconds);
    const stillQueued = (
      await Promise.all(queued.map(async (videoId) => ((await (await fetch(`${apiUrl}/videos/${videoId}`, { headers })).json()) as Video).status))
    ).filter((status) => status === 'processing').length;
    options.log(
      `api-busy: playback p99 ${busy.p99Ms.toFixed(2)} ms (${busy.requestsPerSecond.toFixed(0)} req/s) with ${uploads} transcodes queued` +
        ` (${stillQueued} still processing after the run); idle p99 ${idle.p99Ms.toFixed(2)} ms (${idle.requestsPerSecond.toFixed(0)} req/s)`,
    );
    const detail = { idle, busy, uploads, stillProcessingAfter: stillQueued, seconds: options.loadSeconds };
    const metrics = [
      { key: 'p99', what: `p99 latency (${CONNECTIONS} connections)`, unit: 'ms', value: (run: LoadResult) => run.p99Ms, better: 'lower' },
      { key: 'rps', what: 'requests/s', unit: 'req/s', value: (run: LoadResult) => run.requestsPerSecond, better: 'higher' },
    ] as const;
    return metrics.map((metric) =>
      measure({
        id: `api-busy.playback.${metric.key}.vs-idle`,
        part: 'api-busy',
        label: `GET /videos/{id}/playback on the local stack while ${uploads} transcodes queue: ${metric.what}`,
        unit: metric.unit,
        value: metric.value(busy),
        baseline: { label: 'the same route of the same stack, idle', value: metric.value(idle) },
        better: metric.better,
        detail,
      }),
    );
  } finally {
    await stack.stop();
  }
}
