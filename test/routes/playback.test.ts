/**
 * GET /videos/{videoId}/playback against the running local stack: who gets a signed manifest URL,
 * how long it lives, and the errors. Videos are made ready by the job handler, without a transcode.
 */
import t from 'tap';
import type { Playback } from '../../src/schemas/playback.ts';
import type { Problem } from '../../src/schemas/problem.ts';
import type { Video } from '../../src/schemas/video.ts';
import { createAwsClients } from '../../src/app/aws-clients.ts';
import { createVideoCatalog } from '../../src/adapters/dynamodb/video-catalog.ts';
import { applyJobUpdates, callApi, createVideo, makeReadyWithStreams, putObjects, startTestStack } from '../helpers/stack.ts';

const TTL = 600;
const MARGIN = 300;
const stack = await startTestStack(t, {
  settings: { PLAYBACK_URL_TTL_SECONDS: String(TTL), PLAYBACK_URL_MARGIN_SECONDS: String(MARGIN) },
});
const alice = await stack.token('alice');
const bob = await stack.token('bob');

const master = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"\n360p/index.m3u8\n';
const media = '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nsegment_00000.ts\n#EXT-X-ENDLIST\n';

async function readyVideo(durationSeconds: number): Promise<string> {
  const videoId = await createVideo(stack, alice, `ready ${durationSeconds} s`);
  await makeReadyWithStreams(stack, videoId, {
    durationSeconds,
    objects: [
      { key: 'master.m3u8', body: master, contentType: 'application/vnd.apple.mpegurl' },
      { key: '360p/index.m3u8', body: media, contentType: 'application/vnd.apple.mpegurl' },
      { key: '360p/segment_00000.ts', body: 'not really mpeg-ts', contentType: 'video/mp2t' },
    ],
  });
  return videoId;
}

t.test('a ready video gives any signed-in user a signed manifest URL on the CDN', async (t) => {
  const videoId = await readyVideo(6);
  for (const [who, token] of [
    ['the owner', alice],
    ['another user', bob],
  ] as const) {
    const before = Date.now();
    const { status, body, headers } = await callApi<Playback>(stack, 'GET', `/videos/${videoId}/playback`, { token });
    t.equal(status, 200, who);
    t.match(headers.get('content-type'), /application\/json/);
    const url = new URL(body.manifestUrl);
    t.equal(`${url.origin}${url.pathname}`, `${stack.cdnUrl}/video-streams/${videoId}/master.m3u8`, `${who}: the master playlist on the CDN`);
    t.same([...url.searchParams.keys()].sort(), ['Key-Pair-Id', 'Policy', 'Signature'], 'a custom-policy signature');
    t.equal(url.searchParams.get('Key-Pair-Id'), stack.config.CLOUDFRONT_KEY_PAIR_ID);
    const lifetime = (Date.parse(body.expiresAt) - before) / 1000;
    t.ok(lifetime >= TTL && lifetime <= TTL + 2, `a short video: the configured lifetime (${lifetime} s)`);
    t.ok(lifetime >= 6 + MARGIN, 'never shorter than the duration plus the margin');
    const manifest = await fetch(body.manifestUrl);
    t.equal(manifest.status, 200, 'the URL plays');
    await manifest.arrayBuffer();
  }
});

t.test('a video longer than the lifetime setting gets its duration plus the margin', async (t) => {
  const duration = 3 * 3600 + 0.5;
  const videoId = await readyVideo(duration);
  const before = Date.now();
  const { status, body } = await callApi<Playback>(stack, 'GET', `/videos/${videoId}/playback`, { token: bob });
  t.equal(status, 200);
  const lifetime = (Date.parse(body.expiresAt) - before) / 1000;
  t.ok(lifetime >= duration + MARGIN, `lives ${lifetime} s for a ${duration} s video`);
  t.ok(lifetime <= Math.ceil(duration) + MARGIN + 2);
  const policy = JSON.parse(
    Buffer.from(new URL(body.manifestUrl).searchParams.get('Policy')!.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64').toString(),
  ) as {
    Statement: Array<{ Resource: string; Condition: { DateLessThan: { 'AWS:EpochTime': number } } }>;
  };
  t.equal(policy.Statement[0]!.Resource, `${stack.cdnUrl}/video-streams/${videoId}/*`, 'one wildcard policy for every object of the video');
  t.equal(policy.Statement[0]!.Condition.DateLessThan['AWS:EpochTime'] * 1000, Date.parse(body.expiresAt), 'expiresAt is the policy expiry');
});

t.test('answers 409 to the owner while the video is not ready', async (t) => {
  const videoId = await createVideo(stack, alice, 'not uploaded yet');
  const { status, body, headers } = await callApi<Problem>(stack, 'GET', `/videos/${videoId}/playback`, { token: alice });
  t.equal(status, 409);
  t.match(headers.get('content-type'), /application\/problem\+json/);
  t.match(body, { type: '/problems/video-not-ready', status: 409, title: String, detail: /awaiting upload/ });
});

t.test('a processing video becomes watchable by its owner once its first rendition is published', async (t) => {
  const videoId = await createVideo(stack, alice, 'converting');
  const catalog = createVideoCatalog({ dynamo: createAwsClients(stack.config).dynamo, tableName: stack.config.TABLE_NAME });
  t.ok(await catalog.claimForProcessing((await catalog.get(videoId))!, '0001', new Date().toISOString()));
  await applyJobUpdates(stack, videoId, { type: 'started' }, { type: 'progress', percent: 10 });
  const before = await callApi<Problem>(stack, 'GET', `/videos/${videoId}/playback`, { token: alice });
  t.equal(before.status, 409, 'processing, nothing published yet');
  t.match(before.body, { type: '/problems/video-not-ready', detail: /processing; it can be watched once its first rendition is ready/ });

  await putObjects(stack, [
    { key: `video-streams/${videoId}/master.m3u8`, body: master, contentType: 'application/vnd.apple.mpegurl' },
    { key: `video-streams/${videoId}/360p/index.m3u8`, body: media, contentType: 'application/vnd.apple.mpegurl' },
  ]);
  t.same(await applyJobUpdates(stack, videoId, { type: 'renditions-published', videoRenditions: 1 }), ['applied']);
  const video = await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token: alice });
  t.match(video.body, { status: 'processing', playable: true, renditions: [{ name: '360p', width: 640, height: 360 }] });
  const { status, body } = await callApi<Playback>(stack, 'GET', `/videos/${videoId}/playback`, { token: alice });
  t.equal(status, 200, 'the owner may watch it while the rest converts');
  const manifest = await fetch(body.manifestUrl);
  t.equal(manifest.status, 200, 'the URL plays');
  t.match(await manifest.text(), /360p\/index\.m3u8\?/);
  const other = await callApi<Problem>(stack, 'GET', `/videos/${videoId}/playback`, { token: bob });
  t.equal(other.status, 404, 'nobody else sees it before it is ready');
});

t.test("answers 404 for someone else's unready video and for an unknown one", async (t) => {
  const videoId = await createVideo(stack, alice, 'private until ready');
  for (const id of [videoId, '00000000-0000-4000-8000-000000000000']) {
    const { status, body } = await callApi<Problem>(stack, 'GET', `/videos/${id}/playback`, { token: bob });
    t.equal(status, 404);
    t.match(body, { type: '/problems/video-not-found', status: 404 });
  }
});

t.test('answers 401 without a valid token', async (t) => {
  const videoId = await readyVideo(4);
  for (const [label, headers] of [
    ['no token', {}],
    ['an expired token', { authorization: `Bearer ${await stack.token('alice', { expiresInSeconds: -60 })}` }],
  ] as const) {
    const { status, body } = await callApi<Problem>(stack, 'GET', `/videos/${videoId}/playback`, { headers });
    t.equal(status, 401, label);
    t.match(body, { type: '/problems/unauthenticated' });
  }
});
