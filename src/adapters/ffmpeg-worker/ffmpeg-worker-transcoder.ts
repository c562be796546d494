/**
 * The Transcoder for the local stack: submits planned jobs to the ffmpeg worker over HTTP
 * (`deploy/local/mediaconvert/server.ts`), which then reports progress as MediaConvert events, and
 * asks it about jobs (status, a video's job, cancel) as the reconciler and deletes need.
 * Sources are inspected as in AWS: the worker answers MediaConvert's Probe call too.
 *
 * The worker takes requests only from its own stack: each carries the stack's worker token
 * (`x-vod-worker-token`, TRANSCODE_WORKER_TOKEN).
 */
import type { MediaConvertJobDetail } from '../../schemas/events.ts';
import { jobStatusOfDetail } from '../mediaconvert/mediaconvert-updates.ts';
import { JobRefusedError } from '../../domain/errors.ts';
import type { SourceInspector } from '../mediaconvert/source-inspector.ts';
import type { TranscodeJobRequest, TranscodeJobSubmission, Transcoder } from '../../domain/ports/transcoder.ts';

/** The header that carries the stack's worker token (the MediaConvert client sends it on Probe too). */
export const WORKER_TOKEN_HEADER = 'x-vod-worker-token';

export class TranscoderSubmitError extends Error {
  override name = 'TranscoderSubmitError';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The problem's detail (or title) of an error answer, else its first bytes. */
function detailOf(text: string): string {
  try {
    const problem = JSON.parse(text) as { detail?: unknown; title?: unknown };
    return String(problem.detail ?? problem.title ?? text.slice(0, 300));
  } catch {
    return text.slice(0, 300);
  }
}

export function createFfmpegWorkerTranscoder(options: { endpoint: string; token: string; inspect: SourceInspector }): Transcoder {
  // A trailing slash so a base path in the endpoint is kept (`new URL('jobs', ...)`).
  const base = options.endpoint.endsWith('/') ? options.endpoint : `${options.endpoint}/`;
  const jobsUrl = new URL('jobs', base);

  async function call(url: URL, init: { method: string; body?: unknown }, what: string): Promise<{ status: number; text: string }> {
    let response: Response;
    try {
      response = await fetch(url, {
        method: init.method,
        headers: { [WORKER_TOKEN_HEADER]: options.token, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        signal: AbortSignal.timeout(10_000),
      });
    } catch (cause) {
      throw new TranscoderSubmitError(`Could not reach the ffmpeg transcode worker at ${url.origin} to ${what} (is the local stack running?)`, undefined, {
        cause,
      });
    }
    return { status: response.status, text: await response.text() };
  }

  const jobUrl = (jobId: string, suffix = '') => new URL(`jobs/${encodeURIComponent(jobId)}${suffix}`, base);

  return {
    inspect: options.inspect,

    async submit(request: TranscodeJobRequest): Promise<TranscodeJobSubmission> {
      const { status, text } = await call(jobsUrl, { method: 'POST', body: request }, 'submit a job');
      if (status >= 400) {
        const message = `The ffmpeg transcode worker refused the job for video ${request.videoId}: ${status} ${detailOf(text)}`;
        // As with MediaConvert: a 4xx other than throttling is final, anything else may pass on a retry.
        if (status < 500 && status !== 429) throw new JobRefusedError(message);
        throw new TranscoderSubmitError(message, status);
      }
      const body = JSON.parse(text) as { jobId?: unknown };
      if (typeof body.jobId !== 'string') {
        throw new TranscoderSubmitError('The ffmpeg transcode worker answered without a jobId', status);
      }
      return { jobId: body.jobId };
    },

    async getJob(jobId) {
      const { status, text } = await call(jobUrl(jobId), { method: 'GET' }, 'read a job');
      if (status === 404) return undefined;
      if (status !== 200) throw new TranscoderSubmitError(`The ffmpeg transcode worker could not report job ${jobId}: ${status} ${detailOf(text)}`, status);
      // The worker answers as MediaConvert's GetJob would, in its event's shape: the same adapter reads it.
      return jobStatusOfDetail((JSON.parse(text) as { detail: MediaConvertJobDetail }).detail);
    },

    async findJob(videoId, since) {
      const url = new URL(jobsUrl);
      url.searchParams.set('videoId', videoId);
      url.searchParams.set('since', since.toISOString());
      const { status, text } = await call(url, { method: 'GET' }, 'list jobs');
      if (status !== 200) throw new TranscoderSubmitError(`The ffmpeg transcode worker could not list jobs: ${status} ${detailOf(text)}`, status);
      const [job] = (JSON.parse(text) as { jobs: TranscodeJobSubmission[] }).jobs;
      return job ? { jobId: job.jobId } : undefined;
    },

    async cancel(jobId) {
      const { status, text } = await call(jobUrl(jobId, '/cancel'), { method: 'POST' }, 'cancel a job');
      if (status >= 400 && status !== 404 && status !== 409) {
        throw new TranscoderSubmitError(`The ffmpeg transcode worker could not cancel job ${jobId}: ${status} ${detailOf(text)}`, status);
      }
    },
  };
}
