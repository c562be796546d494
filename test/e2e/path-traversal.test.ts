/**
 * No key escapes the signed prefix. With the signed playback URL (or signed cookies) of her own
 * video, a viewer tries to reach another user's source, master, variant and segment, and the
 * objects of a video still awaiting its upload, through the CloudFront stand-in, in every encoding
 * of `../` and of a folder change: `%2F`, `%2e`, `%252F`, backslashes, mixed case, empty and
 * dot segments, overlong UTF-8. Requests go out with node:http so the path reaches the server byte
 * for byte (fetch would normalise `..` and `%2e` away before sending). Every one is refused, and
 * no answer carries the target's bytes; the same requests without the trick are served.
 */
import t from 'tap';
import http from 'node:http';
import { getSignedCookies } from '@aws-sdk/cloudfront-signer';
import type { Playback } from '../../src/schemas/playback.ts';
import { callApi, createVideo, makeReadyWithStreams, putObjects, startTestStack } from '../helpers/stack.ts';
import { epochNow, queryOf } from '../helpers/playback.ts';

const stack = await startTestStack(t);
const alice = await stack.token('alice');
const bob = await stack.token('bob');

const master = '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"\n360p/index.m3u8\n';
const media = '#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\nsegment_00000.ts\n#EXT-X-ENDLIST\n';

async function readyVideo(token: string, secret: string): Promise<string> {
  const videoId = await createVideo(stack, token, secret);
  await makeReadyWithStreams(stack, videoId, {
    durationSeconds: 4,
    objects: [
      { key: 'master.m3u8', body: `${master}# ${secret}\n`, contentType: 'application/vnd.apple.mpegurl' },
      { key: '360p/index.m3u8', body: `${media}# ${secret}\n`, contentType: 'application/vnd.apple.mpegurl' },
      { key: '360p/segment_00000.ts', body: `segment of ${secret}`, contentType: 'video/mp2t' },
    ],
  });
  return videoId;
}

const own = await readyVideo(alice, 'alice-own');
const other = await readyVideo(bob, 'bob-ready-secret');
await putObjects(stack, [{ key: `uploads/${other}/source`, body: 'bob-source-secret' }]);
// A video still awaiting its upload, with objects as a transcode in flight would leave them.
const pending = await createVideo(stack, bob, 'pending');
await putObjects(stack, [
  { key: `video-streams/${pending}/master.m3u8`, body: `${master}# bob-pending-secret\n` },
  { key: `video-streams/${pending}/360p/segment_00000.ts`, body: 'bob-pending-secret segment' },
]);

const playback = await callApi<Playback>(stack, 'GET', `/videos/${own}/playback`, { token: alice });
const grant = queryOf(playback.body.manifestUrl);
const cdn = new URL(stack.cdnUrl);
const cookies = Object.entries(
  getSignedCookies({
    policy: JSON.stringify({
      Statement: [{ Resource: `${stack.cdnUrl}/video-streams/${own}/*`, Condition: { DateLessThan: { 'AWS:EpochTime': epochNow() + 600 } } }],
    }),
    keyPairId: stack.config.CLOUDFRONT_KEY_PAIR_ID,
    privateKey: stack.config.CLOUDFRONT_PRIVATE_KEY!,
  }),
)
  .map(([name, value]) => `${name}=${String(value)}`)
  .join('; ');

/** A GET with the raw path as given, nothing normalised. */
function rawGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: cdn.hostname, port: cdn.port, method: 'GET', path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1') }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

/** `../` written every way a path may carry it, and the `/` that goes with it inside the target key. */
const UP: Array<[label: string, up: string, slash: string]> = [
  ['raw ../', '../', '/'],
  ['..%2F', '..%2F', '%2F'],
  ['..%2f', '..%2f', '%2f'],
  ['%2e%2e%2f', '%2e%2e%2f', '%2f'],
  ['%2E%2E%2F', '%2E%2E%2F', '%2F'],
  ['mixed case %2e%2E/', '%2e%2E/', '/'],
  ['.%2e/', '.%2e/', '/'],
  ['%2e./', '%2e./', '/'],
  ['..%252F (encoded twice)', '..%252F', '%252F'],
  ['%252e%252e%252f', '%252e%252e%252f', '%252f'],
  ['raw backslash', '..\\', '\\'],
  ['%5C', '..%5C', '%5C'],
  ['%2e%2e%5c', '%2e%2e%5c', '%5c'],
  ['overlong UTF-8 %c0%af', '..%c0%af', '%c0%af'],
  ['dot segment then ..', './../', '/'],
  ['empty segment then ..', '/../', '/'],
];

/** What lies outside Alice's folder, and the bytes that must never come back. */
const TARGETS: Array<[string, string, string]> = [
  ["Bob's source", `uploads/${other}/source`, 'bob-source-secret'],
  ["Bob's master", `video-streams/${other}/master.m3u8`, 'bob-ready-secret'],
  ["Bob's variant", `video-streams/${other}/360p/index.m3u8`, 'bob-ready-secret'],
  ["Bob's segment", `video-streams/${other}/360p/segment_00000.ts`, 'bob-ready-secret'],
  ['a pending master', `video-streams/${pending}/master.m3u8`, 'bob-pending-secret'],
  ['a pending segment', `video-streams/${pending}/360p/segment_00000.ts`, 'bob-pending-secret'],
];

t.test('the same requests without a trick are served: the control', async (t) => {
  for (const path of ['master.m3u8', '360p/index.m3u8', '360p/segment_00000.ts']) {
    const signed = await rawGet(`/video-streams/${own}/${path}?${grant}`);
    t.equal(signed.status, 200, `${path} with the signed URL`);
    t.match(signed.body, /alice-own/);
    const withCookies = await rawGet(`/video-streams/${own}/${path}`, { cookie: cookies });
    t.equal(withCookies.status, 200, `${path} with signed cookies`);
  }
});

t.test('no encoding of ../ reaches another object, from a playlist or a segment path', async (t) => {
  let tried = 0;
  for (const [label, up, slash] of UP) {
    for (const [name, key, secret] of TARGETS) {
      // From Alice's folder (depth 2) and from her rendition folder (depth 3), each `up` climbing one level.
      for (const [from, depth] of [
        [`video-streams/${own}/`, 2],
        [`video-streams/${own}/360p/`, 3],
      ] as const) {
        const climb = `/${from}${up.repeat(depth)}`;
        for (const path of new Set([`${climb}${key}`, `${climb}${key.replaceAll('/', slash)}`])) {
          for (const [how, request] of [
            ['signed URL', () => rawGet(`${path}?${grant}`)],
            ['signed cookies', () => rawGet(path, { cookie: cookies })],
          ] as const) {
            const answer = await request();
            tried += 1;
            if (answer.status === 200 || answer.body.includes(secret)) {
              t.fail(`${label}, ${how}: ${path} reached ${name} (${answer.status})`);
            } else if (answer.status !== 403 && answer.status !== 400) {
              t.fail(`${label}, ${how}: ${path} answered ${answer.status}, not a refusal`);
            }
          }
        }
      }
    }
  }
  t.pass(`${tried} attempts refused, none carried another object's bytes`);
  t.ok(tried >= UP.length * TARGETS.length * 4, `${tried} attempts`);
});

t.test('a folder change without ../ is refused too', async (t) => {
  const tricks = [
    `/video-streams/${own}%2F..%2F${other}/master.m3u8`,
    `/video-streams%2F${other}%2Fmaster.m3u8`,
    `//video-streams/${own}/../${other}/master.m3u8`,
    `/video-streams/${own}//../${other}/master.m3u8`,
    `/video-streams/${own}/%2e%2e/%2e%2e/uploads/${other}/source`,
    `/video-streams/${own}/..%00/${other}/master.m3u8`,
    `/video-streams/${own}/%E0%A4%A/master.m3u8`,
  ];
  for (const path of tricks) {
    const answer = await rawGet(`${path}?${grant}`);
    t.ok(answer.status === 403 || answer.status === 400, `${path}: ${answer.status}`);
    t.notMatch(answer.body, /bob-/, "no byte of Bob's");
  }
});

t.test('a signature for no particular object still reaches only video folders', async (t) => {
  // A policy with no Resource covers the whole distribution in CloudFront; the bucket policy then
  // lets CloudFront read video-streams/ only, and the stand-in answers the same.
  const wide = Object.entries(
    getSignedCookies({
      policy: JSON.stringify({ Statement: [{ Condition: { DateLessThan: { 'AWS:EpochTime': epochNow() + 600 } } }] }),
      keyPairId: stack.config.CLOUDFRONT_KEY_PAIR_ID,
      privateKey: stack.config.CLOUDFRONT_PRIVATE_KEY!,
    }),
  )
    .map(([name, value]) => `${name}=${String(value)}`)
    .join('; ');
  const served = await rawGet(`/video-streams/${other}/360p/segment_00000.ts`, { cookie: wide });
  t.equal(served.status, 200, 'a video folder');
  const refused = await rawGet(`/uploads/${other}/source`, { cookie: wide });
  t.equal(refused.status, 403, 'uploads/ is not served');
  t.notMatch(refused.body, /bob-source-secret/);
});
