/**
 * `npm run test:chaos` (and `.ci/run`): the whole local stack, as `npm start` runs it, killed with
 * SIGKILL at each named hand-off (deploy/local/crash-points.ts) and at random moments, restarted on
 * the same data directory each time. Every round uploads, converts and deletes videos while the
 * crash waits for its moment. At the end, one clean start and the reconciler's few periods must
 * leave: every video ready and playing through the CDN stand-in, or failed with a reason, or (when
 * deleted) gone; no object without a live record; at most one transcode job per video.
 *
 * Not a `*.test.ts` file: `npm test` does not run it; it is its own step.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import t from 'tap';
import { CRASH_POINTS, type CrashPoint } from '../../deploy/local/crash-points.ts';
import { issueToken, loadIssuerKeys } from '../../deploy/local/cognito/issuer.ts';
import { LOCAL_BUCKET, LOCAL_REGION } from '../../deploy/local/stack.ts';
import { LOCAL_S3_ACCESS_KEY, LOCAL_S3_SECRET_KEY } from '../../deploy/local/s3/s3-server.ts';
import type { Video } from '../../src/schemas/video.ts';
import type { CreateUploadResponse } from '../../src/schemas/upload.ts';
import type { Playback } from '../../src/schemas/playback.ts';
import { makeClip } from '../helpers/media.ts';
import { makeSource } from '../helpers/real-world-media.ts';
import { INTERRUPTED_TOO_OFTEN } from '../../deploy/local/mediaconvert/worker.ts';
import { singlePut } from '../helpers/uploads.ts';

const ROUNDS = Number(process.env.CHAOS_ROUNDS ?? 20);
/** The reconciler's settings for the run: short, so the whole run takes minutes. */
const RECONCILE = { RECONCILE_PERIOD_SECONDS: 2, RECONCILE_GRACE_SECONDS: 4, RECONCILE_BACKOFF_SECONDS: 1, RECONCILE_MAX_ATTEMPTS: 5 };
/** After the last start, everything must have settled within this many reconciler periods. */
const SETTLE_PERIODS = 30;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const dataDir = await mkdtemp(path.join(tmpdir(), 'vod-chaos-'));
const ports = {
  PORT: await freePort(),
  CDN_PORT: await freePort(),
  ISSUER_PORT: await freePort(),
  S3_PORT: await freePort(),
  DYNAMODB_PORT: await freePort(),
  TRANSCODER_PORT: await freePort(),
};
const apiUrl = `http://127.0.0.1:${ports.PORT}`;

interface Running {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output: string[];
}

/** `npm start`'s entry point, as a child process on the chaos data directory. */
async function startStack(crashAt?: CrashPoint): Promise<Running> {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '--import', 'tsx', 'deploy/local/start.ts'], {
    env: {
      ...process.env,
      ...Object.fromEntries(Object.entries({ ...ports, ...RECONCILE }).map(([name, value]) => [name, String(value)])),
      DATA_DIR: dataDir,
      UPLOAD_URL_TTL_SECONDS: '60',
      LOG_LEVEL: 'warn',
      ...(crashAt ? { VOD_CRASH_AT: crashAt } : { VOD_CRASH_AT: '' }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => output.push(chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + 60_000;
  while (!output.join('').includes('Video on demand, local stack')) {
    const early = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve(undefined), 100))]);
    if (early) throw new Error(`the stack exited while starting (${JSON.stringify(early)}):\n${output.join('')}`);
    if (Date.now() > deadline) throw new Error(`the stack did not start:\n${output.join('')}`);
  }
  return { child, exited, output };
}

/** The power cut: SIGKILL, nothing flushed. */
async function kill(running: Running): Promise<void> {
  running.child.kill('SIGKILL');
  await running.exited;
}

let token = '';
/** One API call; `tries` > 1 for reads after the last start (a killed stack's sockets linger). */
async function call<T>(method: string, route: string, body?: unknown, tries = 1): Promise<{ status: number; body: T }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(`${apiUrl}${route}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
    } catch (error) {
      if (attempt >= tries) throw error;
      await sleep(200);
    }
  }
}

interface Tracked {
  videoId: string;
  round: number;
  kind: 'good' | 'damaged';
  /** The PUT's status; undefined when a crash cut it (the bytes may or may not be stored). */
  putStatus?: number;
  /** 'asked': the DELETE got no answer (a crash), so it may or may not have happened. */
  deleted: false | 'done' | 'asked';
}
const videos: Tracked[] = [];

const goodClip = await readFile(await makeClip({ seconds: 2, width: 320, height: 240, audio: true }));
const damagedClip = await readFile((await makeSource('corrupt-most', await mkdtemp(path.join(tmpdir(), 'vod-chaos-media-')))).file);

/** POST /uploads and the PUT; a crash may cut either (a video the API never answered is not tracked). */
async function upload(round: number, kind: Tracked['kind']): Promise<Tracked | undefined> {
  const bytes = kind === 'good' ? goodClip : damagedClip;
  let created: { status: number; body: CreateUploadResponse };
  try {
    created = await call<CreateUploadResponse>('POST', '/uploads', {
      title: `round ${round} ${kind}`,
      filename: 'clip.mp4',
      contentType: 'video/mp4',
      sizeBytes: bytes.length,
    });
  } catch {
    return undefined;
  }
  if (created.status !== 201) throw new Error(`POST /uploads answered ${created.status}`);
  const tracked: Tracked = { videoId: created.body.videoId, round, kind, deleted: false };
  videos.push(tracked);
  const put = await fetch(singlePut(created.body.upload).url, {
    method: 'PUT',
    headers: singlePut(created.body.upload).headers,
    body: bytes,
    signal: AbortSignal.timeout(15_000),
  }).catch(() => undefined);
  if (put) tracked.putStatus = put.status;
  return tracked;
}

async function remove(tracked: Tracked): Promise<void> {
  tracked.deleted = 'asked';
  const answer = await call('DELETE', `/videos/${tracked.videoId}`).catch(() => undefined);
  if (answer?.status === 204) tracked.deleted = 'done';
  else if (answer) throw new Error(`DELETE answered ${answer.status}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a round does while its crash waits; stops early once the stack has died. */
async function workload(round: number, running: Running): Promise<void> {
  let dead = false;
  void running.exited.then(() => (dead = true));
  const good = await upload(round, 'good');
  if (dead) return;
  const damaged = await upload(round, 'damaged');
  if (dead) return;
  // One video deleted while it converts, and one deleted from an earlier round (ready by now).
  if (good && round % 2 === 0) await remove(good);
  const earlier = videos.find((video) => !video.deleted && video.round < round && video.kind === 'good');
  if (earlier && round % 3 === 0) await remove(earlier);
  void damaged;
  for (let waited = 0; waited < 5000 && !dead; waited += 100) await sleep(100);
}

const plan: Array<CrashPoint | 'random'> = Array.from({ length: ROUNDS }, (_, round) =>
  round % 6 < CRASH_POINTS.length ? CRASH_POINTS[round % 6]! : 'random',
);
const keysDir = path.join(dataDir, 'issuer');
const crashes: Record<string, { armed: number; died: number }> = {};

t.test('the whole stack killed at every hand-off and at random, restarted on the same data', async (t) => {
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const runStarted = Date.now();
  let startupMs = 0;
  for (const [round, point] of plan.entries()) {
    const starting = Date.now();
    const running = await startStack(point === 'random' ? undefined : point);
    startupMs += Date.now() - starting;
    token ||= await issueToken(await loadIssuerKeys(keysDir), 'chaos', { expiresInSeconds: 3600 });
    const killer = point === 'random' ? sleep(200 + Math.random() * 4000).then(() => kill(running)) : undefined;
    await workload(round, running);
    const record = (crashes[point] ??= { armed: 0, died: 0 });
    record.armed += 1;
    const outcome = await Promise.race([running.exited, sleep(1000).then(() => undefined)]);
    if (outcome?.signal === 'SIGKILL' && point !== 'random') record.died += 1;
    if (killer) {
      await killer;
      record.died += 1;
    } else if (!outcome) {
      await kill(running); // its hand-off did not come up this round: a plain power cut instead
    }
  }

  // The last start: no crash armed; the reconciler has SETTLE_PERIODS periods to finish everything.
  const final = await startStack();
  t.teardown(() => kill(final));
  void final.exited.then((exit) => {
    if (!exit.signal) t.fail(`the last start died on its own (${JSON.stringify(exit)}):\n${final.output.join('').slice(-4000)}`);
  });
  const settleBy = Date.now() + SETTLE_PERIODS * RECONCILE.RECONCILE_PERIOD_SECONDS * 1000 + 60_000;
  const states = new Map<string, { status: number; video?: Video }>();
  for (;;) {
    for (const tracked of videos) {
      const { status, body } = await call<Video>('GET', `/videos/${tracked.videoId}`, undefined, 5);
      states.set(tracked.videoId, { status, ...(status === 200 ? { video: body } : {}) });
    }
    const settled = (tracked: Tracked) => {
      const state = states.get(tracked.videoId)!;
      const done = state.status === 200 && ['ready', 'failed'].includes(state.video!.status);
      if (tracked.deleted === 'done') return state.status === 404;
      if (tracked.deleted === 'asked') return state.status === 404 || done;
      return done;
    };
    const unsettled = videos.filter((tracked) => !settled(tracked));
    if (unsettled.length === 0 || Date.now() > settleBy) break;
    await sleep(1000);
  }

  const statusOf = (tracked: Tracked) => states.get(tracked.videoId)?.video?.status;
  const stuck = videos.filter((tracked) => states.get(tracked.videoId)?.status === 200 && !['ready', 'failed'].includes(statusOf(tracked) ?? ''));
  const lost = videos.filter((tracked) => !tracked.deleted && states.get(tracked.videoId)?.status === 404);
  const undeleted = videos.filter((tracked) => tracked.deleted === 'done' && states.get(tracked.videoId)?.status !== 404);
  const failedWithoutReason = videos.filter((tracked) => statusOf(tracked) === 'failed' && !states.get(tracked.videoId)?.video?.error?.message);
  // A good clip whose upload S3 accepted must become ready, whatever was killed when.
  // (or, when the stack was killed under its job MAX_ATTEMPTS times in a row, failed saying so:
  // the worker's guard against a job that brings the stack down each time it runs).
  const killedUnderItsJob = (tracked: Tracked) => states.get(tracked.videoId)?.video?.error?.message === INTERRUPTED_TOO_OFTEN;
  const goodFailed = videos.filter(
    (tracked) => tracked.kind === 'good' && tracked.putStatus === 200 && !tracked.deleted && statusOf(tracked) !== 'ready' && !killedUnderItsJob(tracked),
  );

  const describe = (tracked: Tracked) => ({ ...tracked, point: plan[tracked.round], video: states.get(tracked.videoId)?.video });
  t.same(stuck.map(describe), [], 'no video stuck between states');
  if (stuck.length > 0)
    t.comment(
      final.output
        .join('')
        .split('\n')
        .filter((line) => stuck.some((v) => line.includes(v.videoId)))
        .join('\n'),
    );
  t.same(
    lost.map((v) => v.videoId),
    [],
    'no video lost',
  );
  t.same(
    undeleted.map((v) => v.videoId),
    [],
    'every deleted video is gone',
  );
  t.same(
    failedWithoutReason.map((v) => v.videoId),
    [],
    'every failure says why',
  );
  t.same(
    goodFailed.map((v) => ({ id: v.videoId, error: states.get(v.videoId)?.video?.error })),
    [],
    'every good upload that S3 accepted became ready (a crash is no reason to fail a video)',
  );

  // Every ready video plays: its signed master, a variant and a segment through the CDN stand-in.
  let played = 0;
  for (const tracked of videos.filter((video) => states.get(video.videoId)?.video?.status === 'ready')) {
    const playback = await call<Playback>('GET', `/videos/${tracked.videoId}/playback`, undefined, 5);
    const master = await fetch(playback.body.manifestUrl);
    const masterText = await master.text();
    const variantLine = masterText.split('\n').find((line) => line && !line.startsWith('#'));
    const variant = variantLine ? await fetch(new URL(variantLine, playback.body.manifestUrl)) : undefined;
    const variantText = variant ? await variant.text() : '';
    const segmentLine = variantText.split('\n').find((line) => line && !line.startsWith('#'));
    const segment = variant && segmentLine ? await fetch(new URL(segmentLine, variant.url)) : undefined;
    if (master.status === 200 && variant?.status === 200 && segment?.status === 200 && (await segment.arrayBuffer()).byteLength > 0) played += 1;
    else t.fail(`video ${tracked.videoId} does not play: master ${master.status}, variant ${variant?.status}, segment ${segment?.status}`);
  }

  // No object without a live record, once the grace period has passed for the last writes.
  await sleep((RECONCILE.RECONCILE_GRACE_SECONDS + 2 * RECONCILE.RECONCILE_PERIOD_SECONDS) * 1000);
  const s3 = new S3Client({
    endpoint: `http://127.0.0.1:${ports.S3_PORT}`,
    region: LOCAL_REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: LOCAL_S3_ACCESS_KEY, secretAccessKey: LOCAL_S3_SECRET_KEY },
  });
  const live = new Set(videos.filter((video) => states.get(video.videoId)?.status === 200).map((video) => video.videoId));
  const orphans: string[] = [];
  let token_: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: LOCAL_BUCKET, ...(token_ ? { ContinuationToken: token_ } : {}) }));
    for (const object of page.Contents ?? []) {
      const videoId = object.Key!.split('/')[1]!;
      if (!live.has(videoId)) orphans.push(object.Key!);
    }
    token_ = page.NextContinuationToken;
  } while (token_);
  s3.destroy();
  t.same(orphans, [], 'no object without a live record');

  // At most one job per video, across every start: the worker's own records.
  const jobsDir = path.join(dataDir, 'transcoder', 'jobs');
  const jobsByVideo = new Map<string, number>();
  for (const file of (await readdir(jobsDir)).filter((name) => name.endsWith('.json'))) {
    const job = JSON.parse(await readFile(path.join(jobsDir, file), 'utf8')) as { request: { videoId: string } };
    jobsByVideo.set(job.request.videoId, (jobsByVideo.get(job.request.videoId) ?? 0) + 1);
  }
  const duplicateJobs = [...jobsByVideo].filter(([, count]) => count > 1);
  t.same(duplicateJobs, [], 'no video got a second job');

  const ready = videos.filter((video) => states.get(video.videoId)?.video?.status === 'ready').length;
  const failed = videos.filter((video) => states.get(video.videoId)?.video?.status === 'failed').length;
  const figures = {
    rounds: plan.length,
    seconds: Math.round((Date.now() - runStarted) / 1000),
    meanStartSeconds: Math.round(startupMs / plan.length / 100) / 10,
    crashes,
    videos: videos.length,
    ready,
    played,
    failedWithReason: failed - failedWithoutReason.length,
    failedAfterRepeatedKills: videos.filter(killedUnderItsJob).length,
    deleted: videos.filter((video) => states.get(video.videoId)?.status === 404).length,
    uploadsCutByCrash: videos.filter((video) => video.putStatus === undefined).length,
    stuck: stuck.length,
    lost: lost.length,
    orphanedObjects: orphans.length,
    jobs: [...jobsByVideo.values()].reduce((sum, count) => sum + count, 0),
    duplicateJobs: duplicateJobs.length,
  };
  t.comment(`chaos figures: ${JSON.stringify(figures)}`);
  t.ok(
    Object.values(crashes).every((crash) => crash.died > 0),
    'every crash point was reached at least once',
  );
});
