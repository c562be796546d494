/**
 * The API bundle's cold init, as `npm run measure:cold-init` times it: the bundle built as
 * `npm run build` builds it, imported by fresh Node processes with a deployed function's
 * environment, alternating with the bare framework (deploy/bare-framework.ts) built the same way.
 * Also init plus a first GET /health through the handler, which pays back work moved off init.
 */
import path from 'node:path';
import { BUNDLES, buildBundle } from '../../../deploy/build.ts';
import { buildBareFramework, compareWithBareFramework } from '../../../deploy/measure-cold-init.ts';
import { measure, type BenchOptions, type Measure } from '../lib/measure.ts';

export async function runColdInit(options: BenchOptions): Promise<Measure[]> {
  const outDir = path.join(options.workDir, 'bundles');
  const api = await buildBundle(
    BUNDLES.find((spec) => spec.name === 'api')!,
    { outDir },
  );
  const bare = await buildBareFramework(outDir);
  const runs = options.tiny ? 1 : Math.max(9, options.runs * 3);
  const result = await compareWithBareFramework(api.outfile, bare.outfile, runs);
  options.log(
    `cold init: API ${result.api.importReadyMs.toFixed(0)} ms (first request ${result.api.firstRequestMs!.toFixed(0)} ms), ` +
      `bare framework ${result.bare.importReadyMs.toFixed(0)} ms (${result.bare.firstRequestMs!.toFixed(0)} ms), median of ${runs}`,
  );
  const detail = { runs, api: result.api, bare: result.bare, apiBytesAtStart: api.initialBytes, bareBytesAtStart: bare.initialBytes };
  return [
    measure({
      id: 'cold-init.import-ready.ms',
      part: 'cold-init',
      label: 'API bundle cold init (import + ready): ms',
      unit: 'ms',
      value: result.api.importReadyMs,
      baseline: { label: 'bare Fastify + swagger + swagger-ui + aws-lambda bundle', value: result.bare.importReadyMs },
      better: 'lower',
      detail,
    }),
    measure({
      id: 'cold-init.first-request.ms',
      part: 'cold-init',
      label: 'API bundle cold init + first GET /health: ms',
      unit: 'ms',
      value: result.api.firstRequestMs!,
      baseline: { label: 'the bare bundle, init + first GET /health', value: result.bare.firstRequestMs! },
      better: 'lower',
      detail,
    }),
  ];
}
