/**
 * Peak resident memory (the kernel's high-water mark, VmHWM, or sampled every 20 ms for process
 * trees), each next to its baseline:
 *   - the API alone in its process (test/bench/servers/api-alone.ts, one server, DynamoDB answered
 *     through the SDK) after load on the list and playback routes, against the bare Fastify process
 *     after the same load on its route; both run under tsx, as `npm start` does;
 *   - what one transcode adds to the local stack's process tree (the worker and the ffmpeg it runs,
 *     plus the S3 stand-in receiving the output: they share the process), from the upload's end to
 *     ready, against the bare ffmpeg ladder on the same clip.
 */
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { sampleTreeRss, startServer, type ServerProcess } from '../lib/processes.ts';
import { load } from '../lib/load.ts';
import { bareLadder, makeSource } from '../lib/ladder.ts';
import { uploadAndWait } from '../lib/pipeline-client.ts';
import { measure, type BenchOptions, type Measure } from '../lib/measure.ts';

const MiB = 1024 * 1024;

async function apiMemory(options: BenchOptions): Promise<Measure> {
  const servers: Array<ServerProcess<unknown>> = [];
  try {
    const bare = await startServer<{ url: string }>('test/bench/servers/bare-fastify.ts');
    servers.push(bare);
    const alone = await startServer<{ sdkUrl: string; token: string; videoIds: string[] }>('test/bench/servers/api-alone.ts', [
      path.join(options.workDir, 'memory-api'),
      String(options.tiny ? 3 : 20),
      'sdk',
    ]);
    servers.push(alone);
    // Half a load run per API route, a whole one for the bare route (tiny: 200 requests each).
    const seconds = options.loadSeconds >= 2 ? Math.round(options.loadSeconds / 2) : options.loadSeconds;
    await load({ url: `${bare.info.url}/ping` }, options.loadSeconds);
    const auth = { authorization: `Bearer ${alone.info.token}` };
    await load({ url: `${alone.info.sdkUrl}/videos`, headers: auth }, seconds);
    await load({ url: alone.info.sdkUrl, headers: auth, paths: alone.info.videoIds.map((id) => `/videos/${id}/playback`) }, seconds);
    const [apiPeak, barePeak] = await Promise.all([alone.peakRss(), bare.peakRss()]);
    options.log(`memory: API ${(apiPeak / MiB).toFixed(0)} MiB peak, bare Fastify ${(barePeak / MiB).toFixed(0)} MiB`);
    return measure({
      id: 'memory.api.peak-rss',
      part: 'memory',
      label: 'API process peak RSS after list and playback load: MiB',
      unit: 'MiB',
      value: apiPeak / MiB,
      baseline: { label: 'bare Fastify process after the same load', value: barePeak / MiB },
      better: 'lower',
      detail: { loadSeconds: seconds },
    });
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
  }
}

async function workerMemory(options: BenchOptions): Promise<Measure> {
  const dir = path.join(options.workDir, 'memory-worker');
  await mkdir(dir, { recursive: true });
  // Peak memory depends on the picture size, not the length: 4 s of 1080p is enough.
  const spec = options.tiny ? { seconds: 2, width: 320, height: 180 } : { seconds: 4, width: 1920, height: 1080 };
  const source = await makeSource(dir, spec);
  const bare = await bareLadder(source, dir);
  const stack = await startServer<{ apiUrl: string; token: string }>('test/bench/servers/stack.ts', [path.join(dir, 'stack'), '0']);
  try {
    let sampler: ReturnType<typeof sampleTreeRss> | undefined;
    await uploadAndWait(stack.info.apiUrl, stack.info.token, source, {
      // From the upload's end: what the transcode adds, not what receiving the upload took.
      onUploaded: () => {
        sampler = sampleTreeRss(stack.pid);
      },
    });
    const { peakTreeRss, baseline: before } = await sampler!.stop();
    const added = Math.max(0, peakTreeRss - before);
    options.log(`memory: a transcode adds ${(added / MiB).toFixed(0)} MiB to the stack, the bare ladder peaks at ${(bare.peakRssBytes / MiB).toFixed(0)} MiB`);
    return measure({
      id: 'memory.worker.peak-rss',
      part: 'memory',
      label: `transcode of a ${spec.seconds} s ${spec.height}p clip: peak RSS it adds to the local stack (worker + ffmpeg + S3 stand-in): MiB`,
      unit: 'MiB',
      value: added / MiB,
      baseline: { label: 'the bare ffmpeg ladder on the same clip', value: bare.peakRssBytes / MiB },
      better: 'lower',
      detail: { clip: spec, stackRssBeforeMiB: before / MiB, stackTreePeakMiB: peakTreeRss / MiB },
    });
  } finally {
    await stack.stop();
  }
}

export async function runMemory(options: BenchOptions): Promise<Measure[]> {
  return [await apiMemory(options), await workerMemory(options)];
}
