/**
 * The HTTP API against the running local stack: authentication, upload requests, the catalog's
 * visibility rules, pagination and deletion. Videos are moved through their states by the same
 * event handlers the pipeline uses, so no transcode is needed here.
 */
import t from 'tap';
import { PutObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { generateKeyPair, SignJWT } from 'jose';
import { createAwsClients } from '../../src/app/aws-clients.ts';
import { createVideoCatalog } from '../../src/adapters/dynamodb/video-catalog.ts';
import type { Video, VideoPage } from '../../src/schemas/video.ts';
import { singlePut } from '../helpers/uploads.ts';
import type { CreateUploadResponse } from '../../src/schemas/upload.ts';
import type { Problem } from '../../src/schemas/problem.ts';
import { callApi, makeReadyWithStreams, startTestStack } from '../helpers/stack.ts';
import { LOCAL_AUDIENCE, LOCAL_ISSUER } from '../../deploy/local/cognito/issuer.ts';

const stack = await startTestStack(t);
const alice = await stack.token('alice');
const bob = await stack.token('bob');
const clients = createAwsClients(stack.config);
const { dynamo } = clients;
const s3 = await clients.s3();
const catalog = createVideoCatalog({ dynamo, tableName: stack.config.TABLE_NAME });
const bucket = stack.config.BUCKET_NAME;

const uploadRequest = { title: 'Holiday', filename: 'holiday clip.mp4', contentType: 'video/mp4', sizeBytes: 1234 };

async function createVideo(token: string, title: string): Promise<string> {
  const { status, body } = await callApi<CreateUploadResponse>(stack, 'POST', '/uploads', {
    token,
    body: { ...uploadRequest, title },
  });
  if (status !== 201) throw new Error(`create failed: ${status}`);
  return body.videoId;
}

/**
 * Makes a video ready without a transcode: the catalog claims it, the real job handler completes
 * it from a master playlist put in the bucket, and the source arrives last (its late upload event
 * must then be a no-op, starting no job).
 */
async function makeReady(videoId: string): Promise<void> {
  const master = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"\n360p/index.m3u8\n';
  await makeReadyWithStreams(stack, videoId, {
    objects: [
      { key: 'master.m3u8', body: master },
      { key: '360p/index.m3u8', body: '#EXTM3U\n' },
    ],
    durationSeconds: 4,
  });
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `uploads/${videoId}/source`, Body: 'bytes' }));
  await stack.idle();
  t.equal((await catalog.get(videoId))?.jobId, `job-${videoId}`, 'the late upload event started no second job');
}

t.test('health, OpenAPI document and Swagger UI need no token', async (t) => {
  t.same((await callApi(stack, 'GET', '/health')).body, { status: 'ok' });
  const spec = await callApi<{ openapi: string; paths: Record<string, unknown> }>(stack, 'GET', '/openapi.json');
  t.equal(spec.status, 200);
  t.match(spec.body.openapi, /^3\./);
  t.ok(spec.body.paths['/uploads']);
  const docs = await fetch(`${stack.apiUrl}/docs/`);
  t.equal(docs.status, 200);
  t.match(await docs.text(), /swagger/i);
});

t.test('protected routes answer 401 problem+json', async (t) => {
  const wrongKeys = await generateKeyPair('RS256');
  const now = Math.floor(Date.now() / 1000);
  const foreignSigner = await new SignJWT({})
    .setProtectedHeader({ alg: 'RS256', kid: 'intruder' })
    .setSubject('mallory')
    .setIssuer(LOCAL_ISSUER)
    .setAudience(LOCAL_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + 600)
    .sign(wrongKeys.privateKey);
  const cases: Array<[string, Record<string, string>]> = [
    ['no token', {}],
    ['a malformed header', { authorization: 'Token abc' }],
    ['a malformed token', { authorization: 'Bearer not.a.jwt!' }],
    ['an expired token', { authorization: `Bearer ${await stack.token('alice', { expiresInSeconds: -60 })}` }],
    ['a token from another issuer', { authorization: `Bearer ${await stack.token('alice', { issuer: 'https://elsewhere.example' })}` }],
    ['a token for another audience', { authorization: `Bearer ${await stack.token('alice', { audience: 'other-app' })}` }],
    ['a token signed by a foreign key', { authorization: `Bearer ${foreignSigner}` }],
  ];
  for (const [label, headers] of cases) {
    for (const [method, route] of [
      ['GET', '/videos'],
      ['POST', '/uploads'],
      ['GET', '/videos/x'],
      ['DELETE', '/videos/x'],
    ] as const) {
      const response = await callApi<Problem>(stack, method, route, { headers, ...(method === 'POST' ? { body: uploadRequest } : {}) });
      t.equal(response.status, 401, `${method} ${route} with ${label}`);
      t.match(response.headers.get('content-type'), /application\/problem\+json/);
      t.match(response.body, { type: '/problems/unauthenticated', status: 401, title: String, detail: String });
    }
  }
});

t.test('POST /uploads returns a pre-signed PUT for the video source', async (t) => {
  const { status, body } = await callApi<CreateUploadResponse>(stack, 'POST', '/uploads', { token: alice, body: uploadRequest });
  t.equal(status, 201);
  t.match(body.videoId, /^[0-9a-f-]{36}$/);
  const upload = singlePut(body.upload);
  t.same(upload.headers, { 'Content-Type': 'video/mp4', 'If-None-Match': '*' });
  const url = new URL(upload.url);
  t.equal(url.pathname, `/${bucket}/uploads/${body.videoId}/source`, 'the key holds the videoId, never the file name');
  t.match(url.searchParams.get('X-Amz-SignedHeaders'), /content-length/);
  t.match(url.searchParams.get('X-Amz-SignedHeaders'), /content-type/);
  t.ok(Date.parse(body.upload.expiresAt) > Date.now());
  const video = await callApi<Video>(stack, 'GET', `/videos/${body.videoId}`, { token: alice });
  t.match(video.body, { videoId: body.videoId, title: 'Holiday', ownerId: 'alice', status: 'awaiting_upload' });
});

t.test('POST /uploads rejects bad input with a clear problem', async (t) => {
  const cases: Array<[string, unknown, number, string]> = [
    ['a missing title', { ...uploadRequest, title: undefined }, 400, 'invalid-input'],
    ['an empty title', { ...uploadRequest, title: '' }, 400, 'invalid-input'],
    ['a negative size', { ...uploadRequest, sizeBytes: -1 }, 400, 'invalid-input'],
    ['an unknown field', { ...uploadRequest, owner: 'bob' }, 400, 'invalid-input'],
    ['a size above the upload limit (256 GiB by default)', { ...uploadRequest, sizeBytes: 256 * 1024 ** 3 + 1 }, 413, 'upload-too-large'],
    ['one PUT of more than S3 takes in one (5 GiB)', { ...uploadRequest, sizeBytes: 5 * 1024 ** 3 + 1, multipart: false }, 413, 'upload-too-large'],
    ['multipart that is not a boolean', { ...uploadRequest, multipart: 'yes' }, 400, 'invalid-input'],
    ['a non-video content type', { ...uploadRequest, contentType: 'application/pdf' }, 415, 'unsupported-content-type'],
    ['a content type that only starts like video', { ...uploadRequest, contentType: 'video/' }, 415, 'unsupported-content-type'],
  ];
  for (const [label, body, status, type] of cases) {
    const response = await callApi<Problem>(stack, 'POST', '/uploads', { token: alice, body });
    t.equal(response.status, status, label);
    t.equal(response.body.type, `/problems/${type}`, label);
    t.ok(response.body.detail.length > 0, `${label} explains itself: ${response.body.detail}`);
  }
  const notJson = await fetch(`${stack.apiUrl}/uploads`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
    body: '{nope',
  });
  t.equal(notJson.status, 400, 'malformed JSON');
  t.match(notJson.headers.get('content-type'), /problem\+json/);
});

t.test('visibility: ready videos for everyone, others only for their owner', async (t) => {
  const ready = await createVideo(alice, 'Alice ready');
  await makeReady(ready);
  const pending = await createVideo(alice, 'Alice pending');

  const asBob = await callApi<Video>(stack, 'GET', `/videos/${ready}`, { token: bob });
  t.equal(asBob.status, 200, 'any signed-in user sees a ready video');
  t.match(asBob.body, { status: 'ready', durationSeconds: 4, renditions: [{ name: '360p', width: 640, height: 360, bandwidth: 900000 }] });

  const pendingAsBob = await callApi<Problem>(stack, 'GET', `/videos/${pending}`, { token: bob });
  t.equal(pendingAsBob.status, 404, "someone else's unfinished video is not disclosed");
  t.equal(pendingAsBob.body.type, '/problems/video-not-found');
  t.equal((await callApi(stack, 'GET', '/videos/no-such-video', { token: alice })).status, 404);

  const bobReady = await callApi<VideoPage>(stack, 'GET', '/videos', { token: bob });
  t.ok(
    bobReady.body.items.some((video) => video.videoId === ready),
    'ready list holds the ready video',
  );
  t.notOk(bobReady.body.items.some((video) => video.videoId === pending));

  const bobAll = await callApi<VideoPage>(stack, 'GET', '/videos?status=all', { token: bob });
  t.notOk(
    bobAll.body.items.some((video) => video.videoId === pending),
    "all never lists others' unfinished videos",
  );
  const aliceAll = await callApi<VideoPage>(stack, 'GET', '/videos?status=all', { token: alice });
  t.ok(
    aliceAll.body.items.some((video) => video.videoId === pending),
    'all lists your own unfinished videos',
  );
  t.ok(aliceAll.body.items.some((video) => video.videoId === ready));

  t.equal((await callApi(stack, 'GET', '/videos?status=sideways', { token: alice })).status, 400);
  t.equal((await callApi(stack, 'GET', '/videos?limit=0', { token: alice })).status, 400);
  t.equal((await callApi<Problem>(stack, 'GET', '/videos?cursor=garbage', { token: alice })).status, 400);
});

t.test('listing pages through every video exactly once, newest first', async (t) => {
  const carol = await stack.token('carol');
  const created: string[] = [];
  for (let index = 0; index < 7; index++) created.push(await createVideo(carol, `Carol ${index}`));
  const seen: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const route: string = `/videos?status=all&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
    const page: { body: VideoPage } = await callApi<VideoPage>(stack, 'GET', route, { token: carol });
    seen.push(...page.body.items.filter((video) => video.ownerId === 'carol').map((video) => video.videoId));
    cursor = page.body.nextCursor;
    pages++;
  } while (cursor && pages < 20);
  t.same(seen, [...created].reverse(), 'newest first, no repeats, none missing');
});

t.test('DELETE /videos/{id}: owner only, removes the record and every object', async (t) => {
  const videoId = await createVideo(alice, 'To delete');
  await makeReady(videoId);
  const byBob = await callApi<Problem>(stack, 'DELETE', `/videos/${videoId}`, { token: bob });
  t.equal(byBob.status, 403);
  t.equal(byBob.body.type, '/problems/forbidden');
  const listed = async (prefix: string) => (await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).KeyCount ?? 0;
  t.ok((await listed(`video-streams/${videoId}/`)) > 0);
  const byAlice = await callApi(stack, 'DELETE', `/videos/${videoId}`, { token: alice });
  t.equal(byAlice.status, 204);
  t.equal((await callApi(stack, 'GET', `/videos/${videoId}`, { token: alice })).status, 404);
  t.equal(await listed(`video-streams/${videoId}/`), 0, 'stream objects removed');
  t.equal(await listed(`uploads/${videoId}/`), 0, 'source removed');
  t.equal((await callApi(stack, 'DELETE', `/videos/${videoId}`, { token: alice })).status, 404, 'a second delete is a 404');
});
