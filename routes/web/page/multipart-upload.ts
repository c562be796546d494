/**
 * A large file goes to storage in parts, several at a time, through Uppy's S3 multipart uploader
 * (@uppy/core + @uppy/aws-s3, headless: no Uppy UI) driven by our own routes: the API fixes the
 * part size and hands out the part URLs, Uppy schedules the parts (bounded concurrency), retries
 * them with backoff, waits for the network when the browser is offline, and resumes an existing
 * upload by asking which parts are stored. This module is loaded on demand (its own chunk), only
 * when the API answers a multipart upload or the page resumes one.
 */
import Uppy, { type Body, type Meta, type UppyFile } from '@uppy/core';
import AwsS3 from '@uppy/aws-s3';
import { ApiError, type Api, type PartUploadUrl } from './api.ts';
import { UploadError, type RunningUpload } from './upload.ts';
import { PART_URLS_PER_BATCH } from '../../../src/shared/upload-limits.ts';

/** Parts in flight at once: enough to fill a fast uplink, few enough for HTTP/1.1's six connections per host. */
export const PART_CONCURRENCY = 4;

/**
 * Waits before each new try of a part (or of signing it): exponential, capped, about 4 minutes in
 * all, so a connection that drops for a while does not fail the upload. While the browser says it
 * is offline Uppy does not count tries: it waits for the 'online' event.
 */
export const RETRY_DELAYS_MS = [0, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000, 30_000, 30_000];

/** A part URL this close to its expiry is signed again rather than used (a part takes a while to send). */
const URL_EXPIRY_MARGIN_MS = 60_000;

export interface PartsPlan {
  videoId: string;
  uploadId: string;
  partSizeBytes: number;
  partCount: number;
}

export interface PartsUploadOptions {
  api: Api;
  file: File;
  plan: PartsPlan;
  /** URLs the API already signed (POST /uploads answers the first ones). */
  firstUrls?: { parts: PartUploadUrl[]; partUrlsExpireAt: string };
  /** An upload started before (a reload): ask storage which parts it holds and send the others. */
  resume: boolean;
  onProgress(uploaded: number, total: number): void;
  /** A part failed (network, storage or an expired URL) and is tried again after a wait. */
  onRetry(): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const backOnline = () => new Promise((resolve) => window.addEventListener('online', resolve, { once: true }));

/**
 * An API call of the upload (sign, list, complete), tried again like a part: Uppy retries the part
 * PUTs but not its completion or listing, and a completion lost to a dropped connection would fail
 * an upload whose bytes are all stored. Offline, it waits for the network without counting tries.
 */
async function withRetries<T>(call: () => Promise<T>, onRetry: () => void, cancelled: () => boolean): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const retriable = error instanceof ApiError && (error.status === 0 || error.status === 429 || error.status >= 500);
      if (!retriable || cancelled() || attempt >= RETRY_DELAYS_MS.length) throw error;
      onRetry();
      if (navigator.onLine) await sleep(RETRY_DELAYS_MS[attempt]!);
      else {
        await backOnline();
        attempt--;
      }
    }
  }
}

/**
 * Part URLs, each used once: signed in batches ahead of need, and signed again when a part is
 * retried (its URL may be the reason it failed) or its URL is about to expire.
 */
function createPartUrls(
  sign: (partNumbers: number[]) => Promise<{ parts: PartUploadUrl[]; partUrlsExpireAt: string }>,
  plan: PartsPlan,
  first: PartsUploadOptions['firstUrls'],
) {
  const ready = new Map<number, Promise<{ url: PartUploadUrl; expiresAt: number }>>();
  const used = new Set<number>();

  function addBatch(signing: Promise<{ parts: PartUploadUrl[]; partUrlsExpireAt: string }>, partNumbers: number[]): void {
    for (const partNumber of partNumbers) {
      const url = signing.then(({ parts, partUrlsExpireAt }) => {
        const part = parts.find((candidate) => candidate.partNumber === partNumber);
        if (!part) throw new Error(`The API signed no URL for part ${partNumber}`);
        return { url: part, expiresAt: Date.parse(partUrlsExpireAt) };
      });
      url.catch(() => undefined); // Awaited by take(); a failed batch is signed again there.
      ready.set(partNumber, url);
    }
  }
  if (first)
    addBatch(
      Promise.resolve(first),
      first.parts.map((part) => part.partNumber),
    );

  return {
    /** Whether this part was given a URL before: asking again means its last try failed. */
    wasTried: (partNumber: number) => used.has(partNumber),
    async take(partNumber: number): Promise<PartUploadUrl> {
      let pending = ready.get(partNumber);
      const fresh =
        pending &&
        (await pending.then(
          (signed) => signed.expiresAt - Date.now() > URL_EXPIRY_MARGIN_MS,
          () => false,
        ));
      if (!pending || !fresh) {
        // This part and the next ones nobody holds a URL for yet, in one request.
        const batch = [partNumber];
        for (let next = partNumber + 1; next <= plan.partCount && batch.length < PART_URLS_PER_BATCH; next++) {
          if (!ready.has(next) && !used.has(next)) batch.push(next);
        }
        addBatch(sign(batch), batch);
        pending = ready.get(partNumber)!;
      }
      ready.delete(partNumber);
      used.add(partNumber);
      return (await pending).url;
    },
  };
}

/** Uppy's errors carry the failed request (an XMLHttpRequest, status 0 when the network failed) as `source`. */
function uploadErrorOf(error: unknown): UploadError {
  if (error instanceof UploadError) return error;
  if (error instanceof ApiError) {
    if (error.status === 0)
      return new UploadError(
        'network',
        'The upload was interrupted: the service could not be reached. Check your connection, then choose the same file to resume.',
      );
    return new UploadError('storage', `The upload could not finish: ${error.message}`);
  }
  const source = (error as { source?: { status?: number; responseText?: string } } | undefined)?.source;
  const status = source?.status;
  if (status === 0 || status === undefined) {
    return new UploadError(
      'network',
      'The upload was interrupted: the network connection to storage failed. Check your connection, then choose the same file to resume.',
    );
  }
  const message = /<Message>([^<]*)<\/Message>/.exec(source?.responseText ?? '')?.[1];
  return new UploadError('storage', `Storage refused a part of the file (HTTP ${status}${message ? `: ${message}` : ''}). Choose the same file to resume.`);
}

export function uploadInParts(options: PartsUploadOptions): RunningUpload {
  const { api, file, plan } = options;
  let cancelled = false;
  const retrying = <T>(call: () => Promise<T>) => withRetries(call, options.onRetry, () => cancelled);
  const urls = createPartUrls((partNumbers) => retrying(() => api.signUploadParts(plan.videoId, partNumbers)), plan, options.firstUrls);
  let onCancel = () => {};
  const cancelRequested = new Promise<undefined>((resolve) => (onCancel = () => resolve(undefined)));
  let aborting: Promise<void> | undefined;
  // Uppy aborts when the file is cancelled; the page's cancel waits for the same DELETE.
  const abortOnce = () => (aborting ??= api.abortUpload(plan.videoId));

  const uppy = new Uppy<Meta, Body>({ autoProceed: false });
  uppy.use(AwsS3<Meta, Body>, {
    shouldUseMultipart: true,
    limit: PART_CONCURRENCY,
    retryDelays: RETRY_DELAYS_MS,
    // The API fixed the part layout; Uppy cuts the file the same way (every part but the last this long).
    getChunkSize: () => plan.partSizeBytes,
    // POST /uploads created the upload already (the part size had to be known before Uppy cuts the file).
    createMultipartUpload: () => ({ uploadId: plan.uploadId, key: plan.videoId }),
    listParts: async () => {
      const stored = await retrying(() => api.listUploadedParts(plan.videoId));
      return stored.parts.map((part) => ({ PartNumber: part.partNumber, Size: part.sizeBytes, ETag: part.etag }));
    },
    signPart: async (_file, { partNumber }) => {
      if (urls.wasTried(partNumber)) options.onRetry();
      const part = await urls.take(partNumber);
      return { method: 'PUT', url: part.url, headers: part.headers };
    },
    completeMultipartUpload: async (_file, { parts }) => {
      const completed = parts.map((part) => ({ partNumber: part.PartNumber!, etag: part.ETag! }));
      // Completing twice is harmless: the API answers a completion that succeeded again.
      await retrying(() => api.completeUpload(plan.videoId, completed));
      return {};
    },
    abortMultipartUpload: () => abortOnce(),
  });

  const fileId = uppy.addFile({ name: file.name, type: file.type, data: file, source: 'vod-page' });
  if (options.resume) {
    // With an upload id and key in its state, Uppy resumes: it lists the stored parts and sends the others.
    uppy.setFileState(fileId, { s3Multipart: { uploadId: plan.uploadId, key: plan.videoId } } as Partial<UppyFile<Meta, Body>>);
  }
  // The failed file's state keeps only the message; the event has the error, with the request that failed.
  let failure: unknown;
  uppy.on('upload-error', (_file, error) => (failure = error));
  uppy.on('upload-progress', (_file, progress) => {
    if (progress.bytesTotal) options.onProgress(progress.bytesUploaded, progress.bytesTotal);
  });

  const done = (async () => {
    try {
      // Uppy's own promise may stay pending once its file is removed: the cancel settles it.
      const result = await Promise.race([uppy.upload(), cancelRequested]);
      if (cancelled) throw new UploadError('cancelled', 'Upload cancelled.');
      const failed = result?.failed?.[0];
      if (failed) throw uploadErrorOf(failure ?? new Error(failed.error ?? 'failed'));
      if (!result?.successful?.length) throw new UploadError('storage', 'The upload did not finish. Choose the same file to resume.');
      options.onProgress(file.size, file.size);
    } catch (error) {
      if (cancelled) {
        await abortOnce();
        throw new UploadError('cancelled', 'Upload cancelled.');
      }
      throw uploadErrorOf(error);
    } finally {
      uppy.destroy();
    }
  })();

  return {
    done,
    cancel() {
      if (cancelled) return;
      cancelled = true;
      uppy.cancelAll();
      onCancel();
      // Uppy asks for the abort itself when it knew the upload id; this makes sure it happens once either way.
      void abortOnce().catch(() => undefined);
    },
  };
}
