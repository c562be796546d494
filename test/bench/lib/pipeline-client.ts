/**
 * One upload through the running API, as a client does it (POST /uploads, PUT to the pre-signed
 * URL), then polling GET /videos/{id}: when the API first reports the video playable and when it
 * reports it ready, counted from the moment the upload completed.
 *
 * Every 25 ms until playable, to time it closely; then every 500 ms. Each request costs the
 * stack's process (API, DynamoDB stand-in) a few ms of CPU that a busy ffmpeg on 2 cores would
 * miss: polling every 25 ms through a 60 s ladder took 5-6 CPU s, and as much wall time. Ready is
 * timed by the catalog's own stamp (`updatedAt`, in ms, from the stack on this machine's clock),
 * exact however seldom the loop asked.
 */
import { readFile, stat } from 'node:fs/promises';
import type { CreateUploadResponse } from '../../../src/schemas/upload.ts';
import type { Video } from '../../../src/schemas/video.ts';
import { singlePut } from '../../helpers/uploads.ts';

export interface PipelineTimes {
  videoId: string;
  /** Upload complete → the API says `playable` (or `ready`, whichever comes first). */
  playableSeconds: number;
  /** Upload complete → the API says `ready` (waited for unless `until` is `playable`). */
  readySeconds?: number;
  /** The video as the API reported it last. */
  video: Video;
}

/** POST /uploads, then the file's bytes PUT to the pre-signed URL: the new video's id. */
export async function uploadThroughApi(apiUrl: string, token: string, file: string, title = 'bench'): Promise<string> {
  const { size } = await stat(file);
  const created = await fetch(`${apiUrl}/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title, filename: 'bench.mp4', contentType: 'video/mp4', sizeBytes: size }),
  });
  if (created.status !== 201) throw new Error(`POST /uploads answered ${created.status}`);
  const { videoId, upload: answered } = (await created.json()) as CreateUploadResponse;
  const upload = singlePut(answered);
  const put = await fetch(upload.url, { method: upload.method, headers: upload.headers, body: await readFile(file) });
  await put.arrayBuffer();
  if (put.status !== 200) throw new Error(`upload failed: ${put.status}`);
  return videoId;
}

export async function uploadAndWait(
  apiUrl: string,
  token: string,
  file: string,
  options: { timeoutMs?: number; onUploaded?: () => void; until?: 'playable' | 'ready' } = {},
): Promise<PipelineTimes> {
  const timeoutMs = options.timeoutMs ?? 600_000;
  const headers = { authorization: `Bearer ${token}` };
  const videoId = await uploadThroughApi(apiUrl, token, file);
  const uploaded = performance.now();
  const uploadedAt = Date.now();
  options.onUploaded?.();
  let playableSeconds: number | undefined;
  for (;;) {
    const video = (await (await fetch(`${apiUrl}/videos/${videoId}`, { headers })).json()) as Video;
    const elapsed = (performance.now() - uploaded) / 1000;
    if (playableSeconds === undefined && (video.playable === true || video.status === 'ready')) playableSeconds = elapsed;
    if (options.until === 'playable' && playableSeconds !== undefined) return { videoId, playableSeconds, video };
    if (video.status === 'ready') {
      const readySeconds = Math.min(elapsed, Math.max(0, (Date.parse(video.updatedAt) - uploadedAt) / 1000));
      return { videoId, playableSeconds: Math.min(playableSeconds!, readySeconds), readySeconds, video };
    }
    if (video.status === 'failed') throw new Error(`transcode failed: ${video.error?.message}`);
    if (elapsed * 1000 > timeoutMs) throw new Error(`video ${videoId} still ${video.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, playableSeconds === undefined ? 25 : 500));
  }
}
