/**
 * The local stand-in for AWS Elemental MediaConvert: takes transcode jobs, turns
 * `s3://bucket/uploads/{videoId}/source` into the HLS ladder under the job's output prefix, and
 * reports what happens as "MediaConvert Job State Change" events in EventBridge's real shape: a
 * faithful stand-in, so the service reads them with the same adapter as MediaConvert's. Like
 * MediaConvert, it lists the renditions only at COMPLETE: fast start is the fast-start function's
 * (events/fast-start.ts), as in AWS.
 *
 * Jobs are persisted under `${dataDir}/jobs/` before submit returns, so a job survives a restart:
 * start() re-queues every unfinished job and runs it again from scratch (up to MAX_ATTEMPTS).
 * A job's final state is written together with its final event (one atomic record write), and the
 * event is marked published only once the event bus has it: start() publishes again any final
 * event a crash left unpublished, so no job ends without the service hearing of it.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ProbeResult } from '@aws-sdk/client-mediaconvert';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import PQueue from 'p-queue';
import pRetry from 'p-retry';
import writeFileAtomic from 'write-file-atomic';
import { FINAL_JOB_STATUSES, type MediaConvertJobDetail, type MediaConvertJobStateChangeEvent } from '../../../src/schemas/events.ts';
import type { TranscodeJobRequest } from '../../../src/domain/ports/transcoder.ts';
import { crashPoint } from '../crash-points.ts';
import type { RetryPolicy } from '../event-outbox.ts';
import { loadOnce } from '../../../src/shared/load-once.ts';
import type { Logger } from '../../../src/shared/logger.ts';
import { redactSecrets } from '../../../src/shared/redact.ts';
import { transcodeToHls, type TranscodeResult } from './transcode-job.ts';
import { probeAsMediaConvert } from './probe.ts';

/** MediaConvert's catch-all code for a failure that is not the input's fault: how any failure of ffmpeg's is reported. */
export const ERROR_CODE_UNKNOWN = 1999;

/** MediaConvert's code for "can't open one or more of your input files". */
export const ERROR_CODE_INPUT_UNREADABLE = 1010;

/** Attempts in all (the first run plus retries after interruptions) before giving up. */
export const MAX_ATTEMPTS = 3;
export const INTERRUPTED_TOO_OFTEN = `Transcoding was interrupted too many times (${MAX_ATTEMPTS} starts of the transcoder in a row stopped it). Upload the file again.`;

/** The URL ffmpeg reads the source through must outlive the longest transcode. */
const SOURCE_URL_EXPIRES_SECONDS = 6 * 60 * 60;

export type JobStatus = 'SUBMITTED' | 'PROGRESSING' | 'COMPLETE' | 'ERROR' | 'CANCELED';

export interface JobRecord {
  jobId: string;
  request: TranscodeJobRequest;
  status: JobStatus;
  /** Attempts started so far; an attempt that never finished was interrupted. */
  attempts: number;
  /** Of those, the ones a stop on purpose (Ctrl-C) interrupted: they do not count as failures. */
  stopsOnPurpose?: number;
  createdAt: string;
  updatedAt: string;
  errorCode?: number;
  errorMessage?: string;
  /** COMPLETE, ERROR, CANCELED: the event that says so, saved with the status. */
  finalEvent?: MediaConvertJobStateChangeEvent;
  /** Whether the event bus has the final event; false after a crash between the two. */
  finalEventPublished?: boolean;
}

/** What the worker sends the event bus: MediaConvert's job events, as MediaConvert sends them. */
export type TranscodeJobEvent = MediaConvertJobStateChangeEvent;

/** The shared structural logger (src/shared/logger.ts), under the name the worker's callers know. */
export type TranscodeWorkerLogger = Logger;

export interface TranscodeWorkerOptions {
  /** Configured by the caller (endpoint, forcePathStyle, credentials). */
  s3: S3Client;
  bucket: string;
  /** The worker's own folder; job records go under `${dataDir}/jobs/`. */
  dataDir: string;
  /** Jobs run at the same time; default 1 (a ladder already uses every core). */
  concurrency?: number;
  region: string;
  accountId: string;
  publish(event: TranscodeJobEvent): Promise<void>;
  logger?: Logger;
  /** Minimum time between STATUS_UPDATE events of one job; default 1000 ms. */
  progressIntervalMs?: number;
  /** Transcode at most this many times real time (ffmpeg -readrate); default: as fast as it can. */
  speedLimit?: number;
  /** How a failing publish is retried; by default 3 more tries, after 0.2, 0.4 and 0.8 s. */
  publishRetry?: RetryPolicy;
}

/** A Probe call for a file the worker cannot read: MediaConvert's NotFound or BadRequest. */
export class ProbeRefusedError extends Error {
  override name = 'ProbeRefusedError';
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
  }
}

export interface TranscodeWorker {
  /** MediaConvert's Probe for one `s3://bucket/key` of the worker's bucket, answered from ffprobe. */
  probe(fileUrl: string): Promise<ProbeResult>;
  /** Persists and queues the job; the same clientRequestToken returns the same jobId. */
  submit(request: TranscodeJobRequest): Promise<{ jobId: string }>;
  /** The job as MediaConvert's GetJob would tell it, in its event's shape; undefined when unknown. */
  getJob(jobId: string): Promise<MediaConvertJobDetail | undefined>;
  /** The video's jobs created at or after `since`, newest first. */
  findJobs(videoId: string, since: Date): Promise<Array<{ jobId: string; createdAt: string }>>;
  /** Cancels a queued or running job (its CANCELED event follows); finished and unknown jobs are left. */
  cancel(jobId: string): Promise<'canceled' | 'finished' | 'unknown'>;
  /** Loads persisted jobs, re-queues unfinished ones and starts processing. */
  start(): Promise<void>;
  /** Aborts running jobs (they stay resumable) and waits for ffmpeg to exit. */
  stop(): Promise<void>;
  /** Resolves when nothing is queued or running. */
  idle(): Promise<void>;
}

/** Which error code and message a job failure gets in its ERROR event. */
class JobError extends Error {
  override name = 'JobError';
  constructor(
    readonly code: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** MediaConvert job ids look like `1671476818694-phptj0`. */
function newJobId(): string {
  const suffix = Array.from({ length: 6 }, () => randomInt(36).toString(36)).join('');
  return `${Date.now()}-${suffix}`;
}

export function createTranscodeWorker(options: TranscodeWorkerOptions): TranscodeWorker {
  const { s3, bucket, region, accountId } = options;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const progressIntervalMs = options.progressIntervalMs ?? 1000;
  const logger: Logger = options.logger ?? console;
  const jobsDir = path.join(options.dataDir, 'jobs');

  const records = new Map<string, JobRecord>();
  const jobIdByToken = new Map<string, string>();
  // Jobs wait here, FIFO, and run `concurrency` at a time; paused until start() and from stop().
  const jobs = new PQueue({ concurrency, autoStart: false });
  /** Queued jobs, each with what takes it off the queue (a cancel before it started). */
  const queued = new Map<string, AbortController>();
  const running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  /** Running jobs being canceled: their abort ends in CANCELED, not in a resumable stop. */
  const canceling = new Set<string>();
  // Submits run one at a time so two submits with one token cannot both create a job.
  let submitChain: Promise<unknown> = Promise.resolve();

  const recordPath = (jobId: string) => path.join(jobsDir, `${jobId}.json`);

  async function save(record: JobRecord): Promise<void> {
    record.updatedAt = new Date().toISOString();
    // Atomic: a crash mid-write never leaves a half-written record.
    await writeFileAtomic(recordPath(record.jobId), JSON.stringify(record, null, 2));
  }

  // A load that fails (a disk error) is tried again by the next call, not kept for good.
  const load = loadOnce(async () => {
    await mkdir(jobsDir, { recursive: true });
    for (const name of await readdir(jobsDir)) {
      if (!name.endsWith('.json')) {
        // The leftover of a save a crash interrupted (write-file-atomic's `<jobId>.json.<hash>`, or
        // an older `.tmp`): the record it was replacing is intact.
        await rm(path.join(jobsDir, name), { force: true });
        continue;
      }
      try {
        const record = JSON.parse(await readFile(path.join(jobsDir, name), 'utf8')) as JobRecord;
        records.set(record.jobId, record);
        jobIdByToken.set(record.request.clientRequestToken, record.jobId);
      } catch (error) {
        logger.warn({ file: name, err: error }, 'Skipping an unreadable transcode job record');
      }
    }
  });

  // --- events ---------------------------------------------------------------------------------

  type EventDetail = Partial<MediaConvertJobDetail> & Pick<MediaConvertJobDetail, 'status'>;

  /** The full event MediaConvert sends, around the status-specific detail. */
  function event(record: JobRecord, detail: EventDetail): MediaConvertJobStateChangeEvent {
    const now = new Date();
    return {
      version: '0',
      id: randomUUID(),
      'detail-type': 'MediaConvert Job State Change',
      source: 'aws.mediaconvert',
      account: accountId,
      time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'), // EventBridge times have no milliseconds
      region,
      resources: [`arn:aws:mediaconvert:${region}:${accountId}:jobs/${record.jobId}`],
      detail: {
        timestamp: now.getTime(),
        accountId,
        queue: `arn:aws:mediaconvert:${region}:${accountId}:queues/Default`,
        jobId: record.jobId,
        userMetadata: { videoId: record.request.videoId },
        ...detail,
      },
    };
  }

  /**
   * Retries a few times, then logs: a lost event must never take the worker down. True once the
   * event bus has the event (it is durable from then on). A TypeError is not retried (p-retry takes
   * it for a bug, which a second try would meet again).
   */
  async function publish(evt: TranscodeJobEvent): Promise<boolean> {
    try {
      const { retries, minTimeoutMs, factor } = options.publishRetry ?? { retries: 3, minTimeoutMs: 200, factor: 2 };
      await pRetry(() => options.publish(evt), { retries, minTimeout: minTimeoutMs, factor });
      return true;
    } catch (error) {
      logger.error({ jobId: evt.detail.jobId, event: evt['detail-type'], err: error }, 'Could not publish a job event; giving up on this event');
      return false;
    }
  }

  /**
   * Ends a job: the final status and its event are saved in one record write, then the event is
   * published and marked so. A crash in between leaves `finalEventPublished: false`, which the
   * next start() publishes again (handlers are idempotent).
   */
  async function finish(record: JobRecord, detail: EventDetail): Promise<void> {
    const finalEvent = event(record, detail);
    record.status = detail.status as JobStatus;
    record.finalEvent = finalEvent;
    record.finalEventPublished = false;
    await save(record);
    if (detail.status === 'COMPLETE') crashPoint('job-complete');
    if (detail.status === 'ERROR') crashPoint('job-error');
    await publishFinal(record);
  }

  async function publishFinal(record: JobRecord): Promise<void> {
    if (!record.finalEvent || record.finalEventPublished) return;
    if (!(await publish(record.finalEvent))) return; // stays unpublished: the next start tries again
    record.finalEventPublished = true;
    await save(record);
  }

  // --- the queue ------------------------------------------------------------------------------

  function enqueue(jobId: string): void {
    if (queued.has(jobId) || running.has(jobId)) return;
    const dequeue = new AbortController();
    queued.set(jobId, dequeue);
    jobs
      .add(
        async () => {
          queued.delete(jobId);
          const record = records.get(jobId);
          if (!record) return;
          const controller = new AbortController();
          const done = runJob(record, controller.signal)
            .catch((error: unknown) => {
              // runJob handles its own failures; this is a bug guard so the process never crashes.
              logger.error({ jobId, err: error }, 'Transcode job crashed');
            })
            .finally(() => running.delete(jobId));
          running.set(jobId, { controller, done });
          return done;
        },
        { signal: dequeue.signal },
      )
      // Rejected only when a cancel took the job off the queue.
      .catch(() => undefined);
  }

  // --- one job --------------------------------------------------------------------------------

  async function runJob(record: JobRecord, signal: AbortSignal): Promise<void> {
    if (record.attempts - (record.stopsOnPurpose ?? 0) >= MAX_ATTEMPTS) {
      // A job that every start picks up and no start finishes may be what brings the stack down:
      // it stops here, with a reason, rather than in a crash loop.
      await fail(record, new JobError(ERROR_CODE_UNKNOWN, INTERRUPTED_TOO_OFTEN));
      return;
    }
    record.attempts += 1;
    record.status = 'PROGRESSING';
    await save(record);
    logger.info({ jobId: record.jobId, attempt: record.attempts }, 'Transcode job started');
    await publish(event(record, { status: 'PROGRESSING' }));

    const workDir = await mkdtemp(path.join(tmpdir(), `transcode-${record.jobId}-`));
    try {
      const { outputs, warnings } = await transcode(record, workDir, signal);
      // MediaConvert reports each warning as it arises (NEW_WARNING, with its message) and all of
      // them by code in COMPLETE.
      for (const warning of warnings) {
        await publish(event(record, { status: 'NEW_WARNING', warningCode: warning.code, warningMessage: warning.message }));
      }
      await finish(record, {
        status: 'COMPLETE',
        outputGroupDetails: outputs,
        ...(warnings.length > 0 ? { warnings: warnings.map((warning) => ({ code: warning.code, count: 1 })) } : {}),
      });
      logger.info({ jobId: record.jobId }, 'Transcode job complete');
    } catch (error) {
      if (canceling.has(record.jobId)) {
        canceling.delete(record.jobId);
        logger.info({ jobId: record.jobId }, 'Transcode job canceled');
        await finish(record, { status: 'CANCELED' });
        return;
      }
      if (signal.aborted) {
        // Stopped on purpose (Ctrl-C): the record stays PROGRESSING so the next start() retries
        // it, and this attempt is no strike: only starts that never came back (a crash, maybe
        // caused by this job) count towards MAX_ATTEMPTS.
        record.stopsOnPurpose = (record.stopsOnPurpose ?? 0) + 1;
        await save(record);
        logger.info({ jobId: record.jobId }, 'Transcode job interrupted; it resumes on the next start');
        return;
      }
      await fail(record, toJobError(error));
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  function toJobError(error: unknown): JobError {
    if (error instanceof JobError) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new JobError(ERROR_CODE_UNKNOWN, message, { cause: error });
  }

  async function fail(record: JobRecord, error: JobError): Promise<void> {
    logger.warn({ jobId: record.jobId, err: error.cause ?? error }, `Transcode job failed: ${error.message}`);
    // The message reaches the video's owner and the job's record: never the source's URL.
    const message = redactSecrets(error.message);
    record.errorCode = error.code;
    record.errorMessage = message;
    await finish(record, { status: 'ERROR', errorCode: error.code, errorMessage: message });
  }

  async function transcode(record: JobRecord, workDir: string, signal: AbortSignal): Promise<TranscodeResult> {
    const { sourceKey } = record.request;
    // HEAD first: "not there" and "empty" deserve clearer messages than ffprobe's.
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: sourceKey }), { abortSignal: signal }).catch((error: unknown) => {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) {
        throw new JobError(ERROR_CODE_INPUT_UNREADABLE, 'The uploaded file was not found', { cause: error });
      }
      throw error;
    });
    if (!head.ContentLength) {
      throw new JobError(ERROR_CODE_INPUT_UNREADABLE, 'The uploaded file is empty');
    }

    // ffmpeg reads the object over HTTP with range requests: no copy of the whole source.
    const sourceUrl = await sourceUrlOf(sourceKey);

    // Progress events share one chain, so they leave in order and before COMPLETE.
    let chain = Promise.resolve();
    let lastPublished = { percent: -1, at: 0 };
    let percent = 0;
    const send = (evt: TranscodeJobEvent) => {
      chain = chain.then(async () => {
        await publish(evt);
      });
    };
    const jobProgress = () => ({ jobPercentComplete: percent, currentPhase: 'TRANSCODING' });
    try {
      return await transcodeToHls({
        s3,
        bucket,
        outputPrefix: record.request.outputPrefix,
        input: sourceUrl,
        plan: record.request.plan,
        workDir,
        signal,
        ...(options.speedLimit ? { speedLimit: options.speedLimit } : {}),
        retry: record.attempts > 1,
        logger: {
          info: (details, message) => logger.info({ jobId: record.jobId, ...details }, message),
          warn: (details, message) => logger.warn({ jobId: record.jobId, ...details }, message),
        },
        onProgress: (value) => {
          percent = value;
          const now = Date.now();
          if (now - lastPublished.at < progressIntervalMs) return;
          lastPublished = { percent: value, at: now };
          send(event(record, { status: 'STATUS_UPDATE', jobProgress: jobProgress() }));
        },
      });
    } finally {
      await chain;
    }
  }

  /** A GET URL ffmpeg reads the source through, with range requests. */
  function sourceUrlOf(key: string): Promise<string> {
    return getSignedUrl(s3, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: SOURCE_URL_EXPIRES_SECONDS });
  }

  // --- the public API -------------------------------------------------------------------------

  return {
    async probe(fileUrl) {
      const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(fileUrl);
      if (!match) throw new ProbeRefusedError(400, `FileUrl must be s3://bucket/key, got ${fileUrl.slice(0, 200)}`);
      const [, fileBucket, key] = match as unknown as [string, string, string];
      if (fileBucket !== bucket) throw new ProbeRefusedError(400, `This stand-in reads bucket ${bucket} only`);
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).catch((error: unknown) => {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) {
          throw new ProbeRefusedError(404, `The file ${fileUrl} does not exist`);
        }
        throw error;
      });
      const sizeBytes = head.ContentLength ?? 0;
      let first: Uint8Array = new Uint8Array();
      if (sizeBytes > 0) {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=0-511' }));
        first = object.Body ? await object.Body.transformToByteArray() : first;
      }
      return probeAsMediaConvert({
        input: await sourceUrlOf(key),
        head: first,
        sizeBytes,
        ...(head.ETag ? { eTag: head.ETag } : {}),
        ...(head.LastModified ? { lastModified: head.LastModified } : {}),
      });
    },

    async getJob(jobId) {
      await load();
      const record = records.get(jobId);
      if (!record) return undefined;
      if (record.finalEvent) return record.finalEvent.detail;
      return event(record, { status: record.status === 'SUBMITTED' ? 'SUBMITTED' : 'PROGRESSING' }).detail;
    },

    async findJobs(videoId, since) {
      await load();
      return [...records.values()]
        .filter((record) => record.request.videoId === videoId && Date.parse(record.createdAt) >= since.getTime())
        .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
        .map((record) => ({ jobId: record.jobId, createdAt: record.createdAt }));
    },

    async cancel(jobId) {
      await load();
      const record = records.get(jobId);
      if (!record) return 'unknown';
      if (FINAL_JOB_STATUSES.has(record.status)) return 'finished';
      const job = running.get(jobId);
      if (job) {
        canceling.add(jobId);
        job.controller.abort(new Error('The job was canceled'));
        await job.done;
        // It may have finished on its own before the abort reached ffmpeg.
        canceling.delete(jobId);
        return records.get(jobId)?.status === 'CANCELED' ? 'canceled' : 'finished';
      }
      queued.get(jobId)?.abort();
      queued.delete(jobId);
      logger.info({ jobId }, 'Transcode job canceled before it started');
      await finish(record, { status: 'CANCELED' });
      return 'canceled';
    },

    submit(request) {
      const result = submitChain.then(async () => {
        await load();
        const existing = jobIdByToken.get(request.clientRequestToken);
        if (existing) return { jobId: existing };
        const now = new Date().toISOString();
        const record: JobRecord = {
          jobId: newJobId(),
          request: { ...request },
          status: 'SUBMITTED',
          attempts: 0,
          createdAt: now,
          updatedAt: now,
        };
        await save(record); // persisted before the caller hears the job exists
        crashPoint('after-job-submit');
        records.set(record.jobId, record);
        jobIdByToken.set(request.clientRequestToken, record.jobId);
        logger.info({ jobId: record.jobId, videoId: request.videoId }, 'Transcode job submitted');
        enqueue(record.jobId);
        return { jobId: record.jobId };
      });
      submitChain = result.catch(() => undefined);
      return result;
    },

    async start() {
      await load();
      jobs.start();
      const unfinished = [...records.values()]
        .filter((r) => r.status === 'SUBMITTED' || r.status === 'PROGRESSING')
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      if (unfinished.length > 0) {
        logger.info({ jobs: unfinished.map((r) => r.jobId) }, 'Resuming unfinished transcode jobs');
      }
      for (const record of unfinished) enqueue(record.jobId);
      // Final events a crash kept from the event bus go out now.
      for (const record of records.values()) {
        if (record.finalEvent && !record.finalEventPublished) {
          logger.info({ jobId: record.jobId, status: record.status }, 'Publishing a final job event a crash left unpublished');
          await publishFinal(record);
        }
      }
    },

    async stop() {
      // Queued jobs stay queued (and on disk) for the next start.
      jobs.pause();
      const stopping = [...running.values()];
      for (const job of stopping) job.controller.abort(new Error('The transcode worker is stopping'));
      await Promise.all(stopping.map((job) => job.done));
    },

    idle() {
      return jobs.onIdle();
    },
  };
}
