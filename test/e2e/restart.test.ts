/**
 * Stopping the local stack in the middle of a transcode and starting it again on the same data
 * directory: the interrupted job is retried from its persisted record and the video reaches
 * ready; no video is left processing forever.
 */
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { callApi, startTestStack, uploadVideo, waitForStatus } from '../helpers/stack.ts';
import { makeClip } from '../helpers/media.ts';
import type { Video } from '../../src/schemas/video.ts';

t.test('a transcode interrupted by a stop is resumed at the next start', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'vod-restart-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  // 720p, for the three rungs; the first stack's worker reads it at no more than real time (as
  // MediaConvert takes about that long), so it is still encoding when we stop, whatever the machine.
  const clip = await makeClip({ seconds: 8, width: 1280, height: 720, audio: true, fps: 15 });

  const first = await startTestStack(t, { dataDir, transcodeSpeedLimit: 1 });
  const firstToken = await first.token('restarter');
  const { videoId } = await uploadVideo(first, firstToken, clip, { title: 'Interrupted' });
  // Wait until ffmpeg is really running (progress reported), then pull the plug.
  const deadline = Date.now() + 60_000;
  let seen: Video | undefined;
  while (Date.now() < deadline) {
    seen = (await callApi<Video>(first, 'GET', `/videos/${videoId}`, { token: firstToken })).body;
    if (seen.status !== 'awaiting_upload' && (seen.progressPercent ?? 0) > 0) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  t.equal(seen?.status, 'processing', 'stopped in the middle of the transcode');
  t.ok((seen?.progressPercent ?? 0) < 100);
  await first.stop();

  // Same data directory, new process state, new ports: the job record and the catalog survive.
  const second = await startTestStack(t, { dataDir });
  const secondToken = await second.token('restarter');
  const { video } = await waitForStatus(second, secondToken, videoId, ['ready', 'failed'], 180_000);
  t.equal(video.status, 'ready', JSON.stringify(video.error));
  t.same(
    video.renditions?.map((rendition) => rendition.name),
    ['720p', '540p', '360p'],
  );
  t.ok(Math.abs((video.durationSeconds ?? 0) - 8) < 0.5);
});

t.test('an upload whose notification was not yet handled at the stop is handled after the start', async (t) => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'vod-restart-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const clip = await makeClip({ seconds: 2, width: 320, height: 240, audio: false });
  // The first run cannot reach its transcoder, so the upload notification keeps failing.
  const first = await startTestStack(t, {
    dataDir,
    settings: { TRANSCODE_WORKER_URL: 'http://127.0.0.1:9/unreachable', MEDIACONVERT_ENDPOINT: 'http://127.0.0.1:9/unreachable' },
    eventRetry: { retries: 1, minTimeoutMs: 60_000, factor: 1 },
  });
  const token = await first.token('restarter');
  const { videoId } = await uploadVideo(first, token, clip);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const stuck = (await callApi<Video>(first, 'GET', `/videos/${videoId}`, { token })).body;
  t.equal(stuck.status, 'processing', 'claimed, but no job could be submitted');
  await first.stop();

  const second = await startTestStack(t, { dataDir });
  const { video } = await waitForStatus(second, await second.token('restarter'), videoId, ['ready', 'failed'], 60_000);
  t.equal(video.status, 'ready', 'the notification kept on disk was redelivered and the job ran');
});
