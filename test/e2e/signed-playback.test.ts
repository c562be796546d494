/**
 * Watching a real transcoded clip through the CloudFront stand-in of the running local stack:
 * the manifest URL from the API plays, every URI in every served playlist is signed and fetchable,
 * Range works, and every way of forging, stretching or stealing a signature is refused with 403,
 * for the manifest and for a segment alike.
 */
import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { getSignedCookies } from '@aws-sdk/cloudfront-signer';
import { createAwsClients } from '../../src/app/aws-clients.ts';
import type { Playback } from '../../src/schemas/playback.ts';
import { callApi, createVideo, startTestStack, uploadVideo, waitForStatus } from '../helpers/stack.ts';
import { makeClip } from '../helpers/media.ts';
import { eachLimited, epochNow, fromUrlSafeBase64, queryOf, signWithPolicy, toUrlSafeBase64, urisOf, withQuery } from '../helpers/playback.ts';

const stack = await startTestStack(t);
const token = await stack.token('alice');
const s3 = await createAwsClients(stack.config).s3();
const trusted = { keyPairId: stack.config.CLOUDFRONT_KEY_PAIR_ID, privateKey: stack.config.CLOUDFRONT_PRIVATE_KEY! };

// One real ladder (720p + 540p + 360p) to watch.
const clip = await makeClip({ seconds: 3, width: 1280, height: 720, audio: true });
const { videoId } = await uploadVideo(stack, token, clip, { title: 'Signed playback' });
const { video } = await waitForStatus(stack, token, videoId, ['ready', 'failed']);
if (video.status !== 'ready') throw new Error(`the clip did not transcode: ${JSON.stringify(video.error)}`);
const playback = await callApi<Playback>(stack, 'GET', `/videos/${videoId}/playback`, { token: await stack.token('bob') });
const manifestUrl = playback.body.manifestUrl;
const folder = `${stack.cdnUrl}/video-streams/${videoId}`;
const masterUrl = `${folder}/master.m3u8`;
const segmentUrl = `${folder}/360p/segment_00000.ts`;
const grant = queryOf(manifestUrl);

async function readObject(key: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: stack.config.BUCKET_NAME, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

t.test('the manifest URL from the API and the same signature on a segment are served', async (t) => {
  t.equal(playback.status, 200);
  for (const url of [manifestUrl, withQuery(segmentUrl, grant)]) {
    const response = await fetch(url);
    t.equal(response.status, 200, new URL(url).pathname);
    await response.arrayBuffer();
  }
});

t.test('every URI in every served playlist is signed and fetchable', async (t) => {
  const master = await fetch(manifestUrl);
  t.equal(master.status, 200);
  t.equal(master.headers.get('content-type'), 'application/vnd.apple.mpegurl');
  t.equal(master.headers.get('cache-control'), 'no-store', "never cached: each copy carries its viewer's signature");
  const masterText = await master.text();
  const variants = urisOf(masterText);
  t.equal(variants.length, 3, 'three renditions: 720p, 540p, 360p');
  let segments = 0;
  for (const variant of variants) {
    t.ok(variant.endsWith(`?${grant}`), `${variant.split('?')[0]} carries the viewer's signing query`);
    const playlistUrl = new URL(variant, manifestUrl).toString();
    const media = await fetch(playlistUrl);
    t.equal(media.status, 200);
    t.equal(media.headers.get('cache-control'), 'no-store');
    t.equal(media.headers.getSetCookie().length, 0, 'a short playlist is signed per URI, no cookies');
    const uris = urisOf(await media.text());
    t.ok(uris.length >= 1);
    await eachLimited(uris, 4, async (uri) => {
      t.ok(uri.endsWith(`?${grant}`), `${uri.split('?')[0]} signed`);
      const segment = await fetch(new URL(uri, playlistUrl));
      t.equal(segment.status, 200);
      t.equal(segment.headers.get('content-type'), 'video/mp2t');
      const key = new URL(uri, playlistUrl).pathname.slice(1);
      t.same(Buffer.from(await segment.arrayBuffer()), await readObject(key), `${key}: the stored bytes`);
      segments += 1;
    });
  }
  t.ok(segments >= 2, `${segments} segments fetched`);
});

t.test('a Range request on a segment answers 206 with exactly those bytes', async (t) => {
  const stored = await readObject(`video-streams/${videoId}/360p/segment_00000.ts`);
  const response = await fetch(withQuery(segmentUrl, grant), { headers: { range: 'bytes=188-375' } });
  t.equal(response.status, 206);
  t.equal(response.headers.get('content-range'), `bytes 188-375/${stored.length}`);
  t.equal(response.headers.get('accept-ranges'), 'bytes');
  t.equal(response.headers.get('content-length'), '188');
  t.same(Buffer.from(await response.arrayBuffer()), stored.subarray(188, 376));
  const rest = await fetch(withQuery(segmentUrl, grant), { headers: { range: `bytes=${stored.length - 100}-` } });
  t.equal(rest.status, 206);
  t.same(Buffer.from(await rest.arrayBuffer()), stored.subarray(stored.length - 100), 'an open-ended range');
  const head = await fetch(withQuery(segmentUrl, grant), { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.headers.get('content-length'), String(stored.length), 'HEAD tells the size');
});

t.test("a browser player on any origin may read the answers, without credentials (the template's policy)", async (t) => {
  const origin = 'http://127.0.0.1:3000';
  const response = await fetch(withQuery(segmentUrl, grant), { headers: { origin, range: 'bytes=0-9' } });
  t.equal(response.status, 206);
  t.equal(response.headers.get('access-control-allow-origin'), '*');
  t.equal(response.headers.get('access-control-allow-credentials'), null, 'never credentials with *: the signed URL is the access');
  t.match(response.headers.get('access-control-expose-headers'), /Content-Range/);
  t.match(response.headers.get('access-control-expose-headers'), /Content-Length/);
  await response.arrayBuffer();
  const preflight = await fetch(withQuery(segmentUrl, grant), {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'range' },
  });
  t.equal(preflight.status, 204);
  t.match(preflight.headers.get('access-control-allow-methods'), /GET/);
  t.equal(preflight.headers.get('access-control-allow-headers'), 'range');
  t.equal(preflight.headers.get('access-control-allow-credentials'), null);
  const denied = await fetch(segmentUrl, { headers: { origin } });
  t.equal(denied.status, 403);
  t.equal(denied.headers.get('access-control-allow-origin'), '*', 'even a 403 is readable, so the player can tell why');
  t.equal(denied.headers.get('access-control-allow-credentials'), null);
  await denied.text();
});

t.test('every forged, stretched or stolen signature gets 403, for the manifest and a segment', async (t) => {
  const otherVideo = await createVideo(stack, token, 'another video');
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const later = epochNow() + 3600;
  const policyFor = (resource: string, condition: Record<string, unknown> = {}) => ({
    Resource: resource,
    Condition: { DateLessThan: { 'AWS:EpochTime': later }, ...condition },
  });
  const grantParams = new URLSearchParams(grant);
  const policyText = fromUrlSafeBase64(grantParams.get('Policy')!).toString();
  const signature = grantParams.get('Signature')!;

  // A control first: the same construction with good values is accepted, so each 403 below is
  // caused by the one thing that case changes.
  const control = queryOf(signWithPolicy(masterUrl, policyFor(`${folder}/*`, { IpAddress: { 'AWS:SourceIp': '127.0.0.1/32' } }), trusted));
  for (const url of [masterUrl, segmentUrl]) {
    const response = await fetch(withQuery(url, control));
    t.equal(response.status, 200, `control: a test-made signature for ${url.slice(folder.length)} works`);
    await response.arrayBuffer();
  }

  const attacks: Array<[string, string | undefined]> = [
    ['no signature', undefined],
    ['expired', queryOf(signWithPolicy(masterUrl, { Resource: `${folder}/*`, Condition: { DateLessThan: { 'AWS:EpochTime': epochNow() - 5 } } }, trusted))],
    [
      'not valid yet (DateGreaterThan in the future)',
      queryOf(signWithPolicy(masterUrl, policyFor(`${folder}/*`, { DateGreaterThan: { 'AWS:EpochTime': epochNow() + 600 } }), trusted)),
    ],
    [
      'tampered policy (expiry pushed a year on, signature kept)',
      `Policy=${toUrlSafeBase64(Buffer.from(policyText.replace(/"AWS:EpochTime":(\d+)/, (_, epoch: string) => `"AWS:EpochTime":${Number(epoch) + 365 * 86400}`)))}&Key-Pair-Id=${trusted.keyPairId}&Signature=${signature}`,
    ],
    [
      'tampered policy (resource widened to the whole distribution)',
      `Policy=${toUrlSafeBase64(Buffer.from(policyText.replace(`/video-streams/${videoId}/*`, '/*')))}&Key-Pair-Id=${trusted.keyPairId}&Signature=${signature}`,
    ],
    [
      'tampered signature',
      grant.replace(`Signature=${signature}`, `Signature=${signature.slice(0, 20)}${signature[20] === 'A' ? 'B' : 'A'}${signature.slice(21)}`),
    ],
    [
      "another video's signature",
      queryOf(signWithPolicy(`${stack.cdnUrl}/video-streams/${otherVideo}/master.m3u8`, policyFor(`${stack.cdnUrl}/video-streams/${otherVideo}/*`), trusted)),
    ],
    ['an unknown key pair id', queryOf(signWithPolicy(masterUrl, policyFor(`${folder}/*`), { keyPairId: 'KUNKNOWN0000AB', privateKey: stranger }))],
    [
      'a trusted key pair id signed by another key',
      queryOf(signWithPolicy(masterUrl, policyFor(`${folder}/*`), { keyPairId: trusted.keyPairId, privateKey: stranger })),
    ],
    [
      'a policy for another source IP',
      queryOf(signWithPolicy(masterUrl, policyFor(`${folder}/*`, { IpAddress: { 'AWS:SourceIp': '198.51.100.0/24' } }), trusted)),
    ],
  ];
  for (const [label, query] of attacks) {
    for (const url of [masterUrl, segmentUrl]) {
      const response = await fetch(query === undefined ? url : withQuery(url, query));
      const body = await response.text();
      t.equal(response.status, 403, `${label}: ${url.slice(folder.length)} refused`);
      t.match(body, /<Code>(AccessDenied|MissingKey|InvalidKey)<\/Code>/, 'CloudFront-style error body');
      t.notMatch(body, /EXTM3U/, 'no playlist leaks');
    }
  }
});

t.test('signed cookies work for the video they name and no other', async (t) => {
  const otherVideo = await createVideo(stack, token, 'cookie thief target');
  const cookiesFor = (resource: string) =>
    Object.entries(
      getSignedCookies({
        policy: JSON.stringify({ Statement: [{ Resource: resource, Condition: { DateLessThan: { 'AWS:EpochTime': epochNow() + 600 } } }] }),
        ...trusted,
      }),
    )
      .map(([name, value]) => `${name}=${String(value)}`)
      .join('; ');
  const good = await fetch(segmentUrl, { headers: { cookie: cookiesFor(`${folder}/*`) } });
  t.equal(good.status, 200, 'cookies for this video');
  await good.arrayBuffer();
  const manifest = await fetch(masterUrl, { headers: { cookie: cookiesFor(`${folder}/*`) } });
  t.equal(manifest.status, 200);
  t.equal(urisOf(await manifest.text())[0], '720p/index.m3u8', 'a cookie viewer gets the playlist unsigned');
  const stolen = await fetch(segmentUrl, { headers: { cookie: cookiesFor(`${stack.cdnUrl}/video-streams/${otherVideo}/*`) } });
  t.equal(stolen.status, 403, "another video's cookies");
  await stolen.text();
});
