/**
 * The viewers' catalog read cache seen through the API of the running local stack
 * (CATALOG_CACHE_MS): a viewer's own writes show at once, a write made elsewhere (another API
 * container, an event function: here a catalog of its own on the same table) shows within the
 * setting, and with 0 every read goes to the table.
 */
import t from 'tap';
import { createAwsClients } from '../../src/app/aws-clients.ts';
import { createVideoCatalog } from '../../src/adapters/dynamodb/video-catalog.ts';
import type { Video, VideoPage } from '../../src/schemas/video.ts';
import { callApi, createVideo, startTestStack } from '../helpers/stack.ts';

const CACHE_MS = 2000;

/** Fails the video from outside this API process, as the job event function would. */
async function failElsewhere(stack: Awaited<ReturnType<typeof startTestStack>>, videoId: string) {
  const elsewhere = createVideoCatalog({ dynamo: createAwsClients(stack.config).dynamo, tableName: stack.config.TABLE_NAME });
  const video = await elsewhere.get(videoId);
  if (!video) throw new Error(`${videoId} is not in the table`);
  const reason = { code: 'SOURCE_UNREADABLE', message: 'failed elsewhere' };
  if (!(await elsewhere.markFailed(video, undefined, reason, new Date().toISOString()))) throw new Error('not failed');
}

t.test('shared reads: own writes at once, other writes within CATALOG_CACHE_MS', async (t) => {
  const stack = await startTestStack(t, { settings: { CATALOG_CACHE_MS: String(CACHE_MS) } });
  const alice = await stack.token('alice');
  const status = async (videoId: string) => (await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token: alice })).body.status;
  const listed = async (query: string) =>
    (await callApi<VideoPage>(stack, 'GET', `/videos?${query}`, { token: alice })).body.items.map((video) => video.videoId);

  const first = await createVideo(stack, alice, 'First');
  t.same(await listed('status=all'), [first], 'a new video is listed at once');
  const second = await createVideo(stack, alice, 'Second');
  t.same(await listed('status=all'), [second, first], 'and the next one, although the list was just read');

  // This read fills the cache: its answer serves until CACHE_MS after it arrived, so from
  // CACHE_MS after `filled` on, every read asks the table again.
  const asked = Date.now();
  t.equal(await status(first), 'awaiting_upload');
  const filled = Date.now();
  await failElsewhere(stack, first);
  // Read again straight away: well within CACHE_MS of the read above, the shared answer serves.
  if (Date.now() < asked + CACHE_MS / 2) t.equal(await status(first), 'awaiting_upload', 'a write made elsewhere is not seen at once');
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, filled + CACHE_MS + 1 - Date.now())));
  t.equal(await status(first), 'failed', `seen once CATALOG_CACHE_MS (${CACHE_MS}) has passed`);

  t.equal((await callApi(stack, 'DELETE', `/videos/${second}`, { token: alice })).status, 204);
  t.same(await listed('status=all'), [first], 'a deleted video leaves the list at once');
  t.equal((await callApi(stack, 'GET', `/videos/${second}`, { token: alice })).status, 404, 'and is gone');
});

t.test('CATALOG_CACHE_MS=0 reads the table every time', async (t) => {
  const stack = await startTestStack(t, { settings: { CATALOG_CACHE_MS: '0' } });
  const alice = await stack.token('alice');
  const videoId = await createVideo(stack, alice, 'Uncached');
  t.equal((await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token: alice })).body.status, 'awaiting_upload');
  await failElsewhere(stack, videoId);
  t.equal((await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token: alice })).body.status, 'failed', 'seen at once');
});
