/**
 * Starts the real local stack (s3rver, dynalite, ffmpeg worker, issuer, API) on ephemeral
 * loopback ports in a fresh data directory, and stops it when the test ends.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createAwsClients, createS3Client } from '../../src/app/aws-clients.ts';
import { createVideoCatalog } from '../../src/adapters/dynamodb/video-catalog.ts';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../deploy/local/stack.ts';
import type { Video } from '../../src/schemas/video.ts';
import type { TranscodeUpdate } from '../../src/schemas/transcode-update.ts';
import type { EventOutcome } from '../../src/domain/video-service.ts';
import type { CreateUploadResponse } from '../../src/schemas/upload.ts';
import { singlePut } from './uploads.ts';

export const ALL_EPHEMERAL = { api: 0, cdn: 0, issuer: 0, s3: 0, dynamodb: 0, transcoder: 0 };

export async function startTestStack(t: Test, options: Partial<LocalStackOptions> & { keepData?: boolean } = {}): Promise<LocalStack> {
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'vod-stack-')));
  const stack = await startLocalStack({
    ports: ALL_EPHEMERAL,
    logLevel: 'warn',
    eventRetry: { retries: 3, minTimeoutMs: 50, factor: 4 },
    ...options,
    dataDir,
  });
  t.teardown(async () => {
    await stack.stop();
    if (!options.keepData && !options.dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  return stack;
}

export interface ApiResponse<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
}

/** A real HTTP request to the running API. */
export async function callApi<T = unknown>(
  stack: LocalStack,
  method: string,
  route: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<ApiResponse<T>> {
  const response = await fetch(`${stack.apiUrl}${route}`, {
    method,
    headers: {
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as T };
}

/** POST /uploads then PUT the file's bytes to the pre-signed URL with plain fetch. */
export async function uploadVideo(
  stack: LocalStack,
  token: string,
  file: string,
  options: { title?: string; contentType?: string } = {},
): Promise<{ videoId: string; putStatus: number }> {
  const { size } = await stat(file);
  const created = await callApi<CreateUploadResponse>(stack, 'POST', '/uploads', {
    token,
    body: {
      title: options.title ?? path.basename(file),
      filename: path.basename(file),
      contentType: options.contentType ?? 'video/mp4',
      sizeBytes: size,
    },
  });
  if (created.status !== 201) throw new Error(`POST /uploads answered ${created.status}: ${JSON.stringify(created.body)}`);
  const { videoId } = created.body;
  const upload = singlePut(created.body.upload);
  const put = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: await readFile(file) });
  await put.arrayBuffer();
  return { videoId, putStatus: put.status };
}

/** Polls GET /videos/{id} until its status is one of `statuses`. */
export async function waitForStatus(
  stack: LocalStack,
  token: string,
  videoId: string,
  statuses: Video['status'][],
  timeoutMs = 120_000,
): Promise<{ video: Video; seen: Video[] }> {
  const deadline = Date.now() + timeoutMs;
  const seen: Video[] = [];
  for (;;) {
    const { status, body } = await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token });
    if (status !== 200) throw new Error(`GET /videos/${videoId} answered ${status}`);
    seen.push(body);
    if (statuses.includes(body.status)) return { video: body, seen };
    if (Date.now() > deadline) throw new Error(`video ${videoId} still ${body.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** POST /uploads only: a video awaiting its upload. */
export async function createVideo(stack: LocalStack, token: string, title = 'A video'): Promise<string> {
  const created = await callApi<CreateUploadResponse>(stack, 'POST', '/uploads', {
    token,
    body: { title, filename: 'clip.mp4', contentType: 'video/mp4', sizeBytes: 1234 },
  });
  if (created.status !== 201) throw new Error(`POST /uploads answered ${created.status}`);
  return created.body.videoId;
}

export interface StreamObject {
  /** Relative to `video-streams/{videoId}/`. */
  key: string;
  body: string | Uint8Array;
  contentType?: string;
}

/** Puts objects into the bucket, a few at a time. */
export async function putObjects(
  stack: LocalStack,
  objects: Array<{ key: string; body: string | Uint8Array; contentType?: string }>,
  concurrency = 16,
): Promise<void> {
  const s3 = await createS3Client(stack.config);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < objects.length) {
        const object = objects[next++]!;
        await s3.send(
          new PutObjectCommand({
            Bucket: stack.config.BUCKET_NAME,
            Key: object.key,
            Body: object.body,
            ...(object.contentType ? { ContentType: object.contentType } : {}),
          }),
        );
      }
    }),
  );
}

/** What a transcode update carries besides the video and its job. */
export type JobUpdateFields = TranscodeUpdate extends infer U ? (U extends TranscodeUpdate ? Omit<U, 'videoId' | 'jobId'> : never) : never;

/** Applies updates of the local test job of `videoId` (job id `job-<videoId>`), in order, as a transcoder's adapter delivers them. */
export async function applyJobUpdates(stack: LocalStack, videoId: string, ...updates: JobUpdateFields[]): Promise<EventOutcome[]> {
  const outcomes: EventOutcome[] = [];
  for (const update of updates) {
    outcomes.push(await stack.services.videos.applyTranscodeUpdate({ ...update, videoId, jobId: `job-${videoId}` }));
  }
  return outcomes;
}

/**
 * Makes a video ready without a transcode: puts its stream objects (a master playlist at least)
 * and applies the job's start and completion, as a transcoder reports them.
 */
export async function makeReadyWithStreams(stack: LocalStack, videoId: string, options: { objects: StreamObject[]; durationSeconds: number }): Promise<void> {
  await putObjects(
    stack,
    options.objects.map((object) => ({ ...object, key: `video-streams/${videoId}/${object.key}` })),
  );
  const catalog = createVideoCatalog({ dynamo: createAwsClients(stack.config).dynamo, tableName: stack.config.TABLE_NAME });
  const video = await catalog.get(videoId);
  if (!video || !(await catalog.claimForProcessing(video, '0001', new Date().toISOString()))) {
    throw new Error(`could not claim ${videoId}`);
  }
  await applyJobUpdates(stack, videoId, { type: 'started' }, { type: 'complete', durationSeconds: options.durationSeconds });
}
