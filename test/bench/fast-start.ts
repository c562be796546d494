/**
 * Fast start (issues 6 and 13): how soon an upload plays and how soon its whole ladder is ready,
 * through the real local pipeline (the upload handler hands the S3 notification to the fast-start
 * handler as Lambda's asynchronous invocation does), each next to the bare ffmpeg commands that do
 * the same work on the same file in the same run:
 *
 * - time to playable (upload complete → the API says `playable`), p50 and p95 over `--runs`
 *   uploads of each file, as Mux reports it, by source duration (`--seconds`, 10 s, 1 min and
 *   5 min by default), standard and non-standard sources; against the bare command fast start
 *   runs to completion (the remux of a standard source; the smallest rung of any other);
 * - an AWS estimate of the same p50 and p95, built from what was measured here (the upload
 *   handler's and the fast-start handler's work, from the catalog's own stamps) and what AWS
 *   documents for the parts this machine has no stand-in timing for (S3 notification delivery,
 *   two cold starts, the asynchronous invocation's queue): an estimate, labelled so;
 * - for the first upload of each file up to a minute long: time to ready against the bare ladder
 *   command (one ffmpeg, every rung encoded), and the ffmpeg CPU the pipeline spent against the
 *   bare commands that make the same outputs. CPU time of this process's children
 *   (/proc/self/stat cutime + cstime: every ffmpeg and ffprobe) is steady where wall time is not.
 *   Every later upload of a file is deleted once playable: its job is canceled, so each run
 *   starts on a quiet machine.
 *
 * Standard source: a web-ready H.264 upload within the ladder's contract (test/helpers/media.ts
 * webReadyVideo: a keyframe every 2 s, within the budget of its size) + AAC-LC, so it is packaged.
 * Non-standard: HEVC (as phones record), or `--nonstandard yuv444p` (H.264 4:4:4, cheaper to
 * generate). Sources longer than 10 s are a 10 s clip looped without re-encoding.
 *
 * Usage: node --import tsx --openssl-legacy-provider test/bench/fast-start.ts
 *          [--seconds 10,60,300] [--runs 5] [--width 1920 --height 1080] [--nonstandard hevc|yuv444p]
 *          [--out test-artifacts/fast-start.json]
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { startLocalStack, type LocalStack } from '../../deploy/local/stack.ts';
import { SINGLE_PUT_LIMIT_BYTES } from '../../src/schemas/upload.ts';
import { buildEncodeArgs, buildPackageArgs, videoStartSeconds } from '../../src/adapters/ffmpeg-hls/ffmpeg-ladder.ts';
import { webReadyVideo } from '../helpers/media.ts';
import { planForFile } from '../helpers/plans.ts';
import { makeSource } from './lib/ladder.ts';
import { measure, median, quantile, type Measure } from './lib/measure.ts';
import { uploadAndWait } from './lib/pipeline-client.ts';

const run = promisify(execFile);

export interface FastStartBenchOptions {
  /** Clip lengths in seconds. */
  seconds: number[];
  runs: number;
  width: number;
  height: number;
  nonStandard: 'hevc' | 'yuv444p';
  workDir: string;
  log: (line: string) => void;
}

/** CPU seconds of this process's children that have exited (ffmpeg, ffprobe). */
function childCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command name: state is field 3 of stat(5), so cutime (16) and cstime (17) are 13, 14 here.
  return (Number(fields[13]) + Number(fields[14])) / 100; // CLK_TCK is 100 on Linux
}

async function timed(fn: () => Promise<void>): Promise<{ seconds: number; cpu: number }> {
  const cpu = childCpuSeconds();
  const started = performance.now();
  await fn();
  return { seconds: (performance.now() - started) / 1000, cpu: childCpuSeconds() - cpu };
}

/** The video of the non-standard sources: HEVC as phones record it, or H.264 4:4:4 (cheaper to generate). */
const NON_STANDARD_VIDEO = {
  hevc: ['-c:v', 'libx265', '-preset', 'ultrafast', '-tag:v', 'hvc1', '-pix_fmt', 'yuv420p', '-x265-params', 'log-level=error'],
  yuv444p: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv444p'],
};

const ffmpeg = (args: string[]) => run('ffmpeg', args, { maxBuffer: 64 * 1024 * 1024 }).then(() => undefined);

/** The bare commands on a local file: the ladder, the remux, and the rungs below the remux. */
async function bareCommands(source: string, dir: string) {
  const plan = await planForFile(source);
  const renditions = plan.video!.renditions;
  const ladderDir = await mkdtemp(path.join(dir, 'ladder-'));
  const ladder = await timed(() => ffmpeg(buildEncodeArgs({ input: source, plan, renditions, audio: 'muxed', outDir: ladderDir })));
  await rm(ladderDir, { recursive: true, force: true });
  if (!plan.packaging.eligible) return { ladder };
  const [top, ...lowerRungs] = renditions;
  const remuxDir = await mkdtemp(path.join(dir, 'remux-'));
  const remux = await timed(() => ffmpeg(buildPackageArgs({ input: source, plan, name: top!.name, audio: 'muxed', outDir: remuxDir })));
  // The pipeline forces the rungs' keyframes where the packaged segments start: so does this.
  const playlist = await readFile(path.join(remuxDir, top!.name, 'index.m3u8'), 'utf8');
  const times: number[] = [];
  let at = await videoStartSeconds(source);
  for (const match of playlist.matchAll(/#EXTINF:([\d.]+),/g)) {
    times.push(at);
    at += Number(match[1]);
  }
  const lower = lowerRungs.length
    ? await timed(() => ffmpeg(buildEncodeArgs({ input: source, plan, renditions: lowerRungs, audio: 'muxed', outDir: remuxDir, keyframeTimes: times })))
    : { seconds: 0, cpu: 0 };
  await rm(remuxDir, { recursive: true, force: true });
  return { ladder, remux, lower };
}

/**
 * What AWS documents for the parts of the path this machine has no timing for, used by the AWS
 * estimate (assumptions, not measurements):
 * - S3 notifications "are delivered in seconds but can sometimes take a minute or longer"
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/EventNotifications.html): 1 s typical;
 * - a cold start "varies from under 100 ms to over 1 second" and happens in under 1% of
 *   invocations (https://docs.aws.amazon.com/lambda/latest/operatorguide/execution-environments.html):
 *   none at p50, 1 s for each of the two functions at p95;
 * - an asynchronous invocation is queued by Lambda before it runs: 0.1 s assumed.
 */
const AWS_ASSUMED = { notificationSeconds: 1, coldStartSeconds: 1, asyncInvokeSeconds: 0.1 };

/**
 * One upload through the pipeline: seconds to playable (and to ready, with `untilReady`), and the
 * seconds from the upload handler's claim to the fast start's record (the catalog's `uploadedAt`
 * and `playableAt`): the work both handlers did, which the AWS estimate is built on. Without
 * `untilReady` the video is deleted once playable (its job canceled) and the stack left idle.
 */
async function throughPipeline(stack: LocalStack, token: string, source: string, untilReady: boolean) {
  let cpu = 0;
  let nodeCpu = process.cpuUsage();
  const times = await uploadAndWait(stack.apiUrl, token, source, {
    until: untilReady ? 'ready' : 'playable',
    onUploaded: () => {
      cpu = childCpuSeconds();
      nodeCpu = process.cpuUsage();
    },
  });
  const record = await stack.services.videos.getVideo({ userId: BENCH_USER }, times.videoId);
  const handlers = (Date.parse(record.playableAt ?? record.readyAt!) - Date.parse(record.uploadedAt!)) / 1000;
  if (!untilReady) {
    await fetch(`${stack.apiUrl}/videos/${times.videoId}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
  }
  await stack.idle(); // every ffmpeg has been reaped: its CPU time is counted
  const node = process.cpuUsage(nodeCpu);
  return {
    playable: times.playableSeconds,
    ready: times.readySeconds,
    handlers,
    cpu: childCpuSeconds() - cpu,
    // The local stack runs in this process: S3 and DynamoDB stand-ins, API, worker, the poll.
    stackCpu: (node.user + node.system) / 1e6,
    renditions: (untilReady ? times.video : record).renditions?.map((r) => r.name) ?? [],
  };
}

const BENCH_USER = 'bench';

/** The bare command fast start runs to completion on a file: the remux of a standard source, the smallest rung of any other. */
async function bareFirstRendition(source: string, dir: string) {
  const plan = await planForFile(source);
  const renditions = plan.video!.renditions;
  const outDir = await mkdtemp(path.join(dir, 'first-'));
  const args = plan.packaging.eligible
    ? buildPackageArgs({ input: source, plan, name: renditions[0]!.name, audio: 'muxed', outDir })
    : buildEncodeArgs({ input: source, plan, renditions: [renditions.at(-1)!], audio: 'muxed', outDir });
  const result = await timed(() => ffmpeg(args));
  await rm(outDir, { recursive: true, force: true });
  return { ...result, standard: plan.packaging.eligible };
}

/** A source of `seconds`: a 10 s clip of its kind, looped without re-encoding when longer. */
async function sourceOf(options: FastStartBenchOptions, seconds: number, kind: 'standard' | 'hevc' | 'yuv444p'): Promise<string> {
  const spec = { seconds: Math.min(seconds, 10), width: options.width, height: options.height };
  const clip = await makeSource(options.workDir, spec, { name: kind, args: kind === 'standard' ? webReadyVideo(spec) : NON_STANDARD_VIDEO[kind] });
  if (seconds <= 10) return clip;
  const looped = path.join(options.workDir, `${kind}-${seconds}s.mp4`);
  await ffmpeg(['-v', 'error', '-y', '-stream_loop', String(Math.ceil(seconds / 10) - 1), '-i', clip, '-c', 'copy', '-t', String(seconds), looped]);
  await rm(clip, { force: true });
  return looped;
}

/** Ready and CPU are measured for sources up to this long: a longer ladder takes many minutes a run. */
const READY_MEASURED_UP_TO_SECONDS = 60;

export async function measureFastStart(options: FastStartBenchOptions): Promise<Measure[]> {
  const measures: Measure[] = [];
  const stack = await startLocalStack({
    dataDir: path.join(options.workDir, 'data'),
    ports: { api: 0, cdn: 0, issuer: 0, s3: 0, dynamodb: 0, transcoder: 0 },
    logLevel: 'warn',
    // One PUT for every file: a 5 min 1080p source is above the 64 MiB default for parts.
    settings: { MULTIPART_THRESHOLD_BYTES: String(SINGLE_PUT_LIMIT_BYTES) },
  });
  try {
    const token = await stack.token(BENCH_USER);
    for (const seconds of options.seconds) {
      for (const kind of ['standard', options.nonStandard] as const) {
        const source = await sourceOf(options, seconds, kind);
        const clip = `${options.width}x${options.height} ${seconds} s ${kind === 'standard' ? 'H.264/AAC' : kind === 'hevc' ? 'HEVC/AAC' : 'H.264 4:4:4/AAC'}`;
        const withReady = seconds <= READY_MEASURED_UP_TO_SECONDS;
        // Interleaved with the bare command, so that drift in machine load hits both alike.
        const runs: Array<{ bare: Awaited<ReturnType<typeof bareFirstRendition>>; pipeline: Awaited<ReturnType<typeof throughPipeline>> }> = [];
        for (let index = 0; index < options.runs; index++) {
          runs.push({
            bare: await bareFirstRendition(source, options.workDir),
            pipeline: await throughPipeline(stack, token, source, withReady && index === 0),
          });
        }
        const standard = runs[0]!.bare.standard;
        const id = `fast-start.${seconds}s.${standard ? 'standard' : 'nonstandard'}`;
        const detail = { clip, runs: options.runs, renditions: runs[0]!.pipeline.renditions, samples: runs, awsAssumed: AWS_ASSUMED };
        // Every measure here: the clip's, lower is better, against a baseline of the same run.
        const clipMeasure = (name: string, unit: string, label: string, value: number, baseline: Measure['baseline']) =>
          measure({ id: `${id}.${name}`, part: 'fast-start', unit, better: 'lower', detail, label: `${clip}: ${label}`, value, baseline });
        const bareFirst = { label: standard ? 'bare remux' : 'bare smallest rung', value: median(runs.map((r) => r.bare.seconds)) };
        const playable = runs.map((r) => r.pipeline.playable);
        const handlers = runs.map((r) => r.pipeline.handlers);
        const awsP50 = AWS_ASSUMED.notificationSeconds + AWS_ASSUMED.asyncInvokeSeconds + quantile(handlers, 0.5);
        const awsP95 = AWS_ASSUMED.notificationSeconds + AWS_ASSUMED.asyncInvokeSeconds + 2 * AWS_ASSUMED.coldStartSeconds + quantile(handlers, 0.95);
        const local = (q: number) => ({ label: `local stack p${Math.round(q * 100)}`, value: quantile(playable, q) });
        measures.push(
          clipMeasure('playable.p50', 's', 'upload complete → playable, p50', quantile(playable, 0.5), bareFirst),
          clipMeasure('playable.p95', 's', 'upload complete → playable, p95', quantile(playable, 0.95), bareFirst),
          clipMeasure('playable.aws-estimate.p50', 's', 'AWS ESTIMATE (measured handler work + documented delivery), p50', awsP50, local(0.5)),
          clipMeasure('playable.aws-estimate.p95', 's', 'AWS ESTIMATE (measured handler work + documented delivery, 2 cold starts), p95', awsP95, local(0.95)),
        );
        if (withReady) {
          const bare = await bareCommands(source, options.workDir);
          const first = runs[0]!.pipeline;
          const bareLadder = { label: 'bare ffmpeg ladder', value: bare.ladder.seconds };
          measures.push(
            clipMeasure('ready', 's', 'upload complete → ready', first.ready!, bareLadder),
            clipMeasure(
              'cpu',
              'CPU s',
              'ffmpeg CPU: fast start and the whole ladder',
              first.cpu,
              standard
                ? { label: 'bare remux + bare lower rungs', value: bare.remux!.cpu + bare.lower!.cpu }
                : { label: 'bare ffmpeg ladder', value: bare.ladder.cpu },
            ),
          );
          if (standard) {
            measures.push(
              clipMeasure('cpu-vs-encoding-all', 'CPU s', 'ffmpeg CPU: fast start and the whole ladder', first.cpu, {
                label: 'bare ffmpeg ladder (every rung encoded)',
                value: bare.ladder.cpu,
              }),
            );
          }
        }
        options.log(`${clip}: done (${options.runs} run${options.runs === 1 ? '' : 's'})`);
        // Each clip's rows as they come: a long run that stops later keeps what it measured.
        options.log(formatTable(measures.filter((x) => x.id.startsWith(`${id}.`))));
        await rm(source, { force: true });
      }
    }
  } finally {
    await stack.stop();
  }
  return measures;
}

export function formatTable(measures: Measure[]): string {
  const rows = measures.map(
    (x) => `| ${x.label} | ${x.value.toFixed(2)} ${x.unit} | ${x.baseline.label}: ${x.baseline.value.toFixed(2)} ${x.unit} | ${x.ratio.toFixed(2)} |`,
  );
  return ['| measure | value | baseline (same run) | ratio |', '|---|---|---|---|', ...rows, ''].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '10,60,300' },
      runs: { type: 'string', default: '5' },
      width: { type: 'string', default: '1920' },
      height: { type: 'string', default: '1080' },
      nonstandard: { type: 'string', default: 'hevc' },
      out: { type: 'string', default: 'test-artifacts/fast-start.json' },
    },
  });
  if (values.nonstandard !== 'hevc' && values.nonstandard !== 'yuv444p') throw new Error('--nonstandard is hevc or yuv444p');
  const workDir = await mkdtemp(path.join(tmpdir(), 'vod-fast-start-'));
  try {
    const measures = await measureFastStart({
      seconds: values.seconds.split(',').map(Number),
      runs: Number(values.runs),
      width: Number(values.width),
      height: Number(values.height),
      nonStandard: values.nonstandard,
      workDir,
      log: (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(formatTable(measures));
    await mkdir(path.dirname(values.out), { recursive: true });
    await writeFile(values.out, `${JSON.stringify(measures, null, 2)}\n`);
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
