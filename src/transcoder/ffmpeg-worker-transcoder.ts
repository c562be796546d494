/**
 * The Transcoder for the local stack: submits planned jobs to the ffmpeg worker over HTTP
 * (`deploy/local/transcoder/server.ts`), which then reports progress as MediaConvert events.
 * Sources are inspected as in AWS: the worker answers MediaConvert's Probe call too.
 */
import type { SourceInspector } from './source-inspector.ts';
import type { TranscodeJobRequest, TranscodeJobSubmission, Transcoder } from './transcoder.ts';

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

export function createFfmpegWorkerTranscoder(options: { endpoint: string; inspect: SourceInspector }): Transcoder {
  // A trailing slash so a base path in the endpoint is kept (`new URL('jobs', ...)`).
  const base = options.endpoint.endsWith('/') ? options.endpoint : `${options.endpoint}/`;
  const url = new URL('jobs', base);

  return {
    inspect: options.inspect,
    async submit(request: TranscodeJobRequest): Promise<TranscodeJobSubmission> {
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(request),
          signal: AbortSignal.timeout(10_000),
        });
      } catch (cause) {
        throw new TranscoderSubmitError(
          `Could not reach the ffmpeg transcode worker at ${url} (is the local stack running?)`,
          undefined,
          { cause },
        );
      }
      const text = await response.text();
      if (!response.ok) {
        let detail = text.slice(0, 300);
        try {
          const problem = JSON.parse(text) as { detail?: unknown; title?: unknown };
          detail = String(problem.detail ?? problem.title ?? detail);
        } catch {
          // not JSON: keep the text
        }
        throw new TranscoderSubmitError(
          `The ffmpeg transcode worker refused the job for video ${request.videoId}: ${response.status} ${detail}`,
          response.status,
        );
      }
      const body = JSON.parse(text) as { jobId?: unknown };
      if (typeof body.jobId !== 'string') {
        throw new TranscoderSubmitError('The ffmpeg transcode worker answered without a jobId', response.status);
      }
      return { jobId: body.jobId };
    },
  };
}
