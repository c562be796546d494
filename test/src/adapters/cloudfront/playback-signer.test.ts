import t from 'tap';
import { generateKeyPairSync, verify } from 'node:crypto';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { createPlaybackSigner, inlinePrivateKey, privateKeyFromSsm } from '../../../../src/adapters/cloudfront/playback-signer.ts';
import { playbackLifetimeSeconds } from '../../../../src/domain/ports/playback-signer.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const cdn = 'https://d111111abcdef8.cloudfront.net';
const videoId = '0f8fad5b-d9cb-469f-a165-70867728950e';
const signer = createPlaybackSigner({
  cdnBaseUrl: cdn,
  keyPairId: 'K2JCJMDEHXQW5F',
  privateKey: inlinePrivateKey(privateKey),
  ttlSeconds: 4 * 3600,
  marginSeconds: 1800,
});
const fromUrlSafe = (value: string) => Buffer.from(value.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64');

t.test('a grant lives the setting, or the video plus the margin when that is longer', async (t) => {
  const options = { ttlSeconds: 4 * 3600, marginSeconds: 1800 };
  t.equal(playbackLifetimeSeconds(options, 60), 4 * 3600);
  t.equal(playbackLifetimeSeconds(options, undefined), 4 * 3600, 'unknown duration: the setting');
  t.equal(playbackLifetimeSeconds(options, 5 * 3600 + 0.4), 5 * 3600 + 1 + 1800, 'a 5 h film: its length (rounded up) plus the margin');
});

t.test('the manifest URL is the master playlist on the CDN, signed with one custom policy for the whole video', async (t) => {
  const now = new Date('2026-03-01T12:00:00.500Z');
  const grant = await signer.signManifest({ videoId, durationSeconds: 6 * 3600, now });
  const url = new URL(grant.manifestUrl);
  t.equal(`${url.origin}${url.pathname}`, `${cdn}/video-streams/${videoId}/master.m3u8`);
  t.same([...url.searchParams.keys()].sort(), ['Key-Pair-Id', 'Policy', 'Signature']);
  t.equal(url.searchParams.get('Key-Pair-Id'), 'K2JCJMDEHXQW5F');
  const policyText = fromUrlSafe(url.searchParams.get('Policy')!);
  const expires = Math.ceil(now.getTime() / 1000) + 6 * 3600 + 1800;
  t.same(JSON.parse(policyText.toString()), {
    Statement: [{ Resource: `${cdn}/video-streams/${videoId}/*`, Condition: { DateLessThan: { 'AWS:EpochTime': expires } } }],
  });
  t.notMatch(policyText.toString(), /\s/, 'no white space in the policy');
  t.ok(verify('RSA-SHA1', policyText, publicKey, fromUrlSafe(url.searchParams.get('Signature')!)), 'RSA-SHA1 over the policy');
  t.equal(grant.expiresAt.getTime(), expires * 1000, 'expiresAt is the policy expiry');
});

t.test('the SSM key is read once, with decryption, and a failed read is tried again', async (t) => {
  const calls: unknown[] = [];
  let fail = true;
  const ssm = {
    send: async (command: { input: unknown }) => {
      calls.push(command.input);
      if (fail) {
        fail = false;
        throw new Error('throttled');
      }
      return { Parameter: { Value: privateKey } };
    },
  } as unknown as SSMClient;
  const source = privateKeyFromSsm(ssm, '/vod/cloudfront-private-key');
  await t.rejects(source(), /throttled/);
  t.equal(await source(), privateKey);
  t.equal(await source(), privateKey);
  t.same(calls, [
    { Name: '/vod/cloudfront-private-key', WithDecryption: true },
    { Name: '/vod/cloudfront-private-key', WithDecryption: true },
  ]);
});

/** A signer whose key source counts its reads: it is read at every signature and only then. */
function countingSigner(options: { cacheSize?: number } = {}) {
  let keyReads = 0;
  const counting = createPlaybackSigner({
    cdnBaseUrl: cdn,
    keyPairId: 'K2JCJMDEHXQW5F',
    privateKey: async () => {
      keyReads++;
      return privateKey;
    },
    ttlSeconds: 600,
    marginSeconds: 60,
    ...options,
  });
  return { signer: counting, signatures: () => keyReads };
}

t.test('signs at most once per call, and once per video and expiry second: a repeat gets the same bytes', async (t) => {
  const { signer: counting, signatures } = countingSigner();
  const now = new Date('2026-03-01T12:00:00.100Z');
  const first = await counting.signManifest({ videoId, now });
  t.equal(signatures(), 1, 'one signature for one playback');
  const again = await counting.signManifest({ videoId, now: new Date(now.getTime() + 800) });
  t.equal(signatures(), 1, 'none for the same video with the same expiry second');
  t.equal(again.manifestUrl, first.manifestUrl);
  const fresh = await signer.signManifest({ videoId, durationSeconds: 0, now });
  t.not(fresh.manifestUrl, first.manifestUrl, 'another lifetime is another policy');
  const otherSigner = createPlaybackSigner({
    cdnBaseUrl: cdn,
    keyPairId: 'K2JCJMDEHXQW5F',
    privateKey: inlinePrivateKey(privateKey),
    ttlSeconds: 600,
    marginSeconds: 60,
  });
  t.equal(
    (await otherSigner.signManifest({ videoId, now })).manifestUrl,
    first.manifestUrl,
    'what signing again gives, byte for byte (RSA PKCS#1 v1.5 is deterministic)',
  );
  await counting.signManifest({ videoId: '7c9e6679-7425-40de-944b-e07fc1f90ae7', now });
  t.equal(signatures(), 2, 'another video: one more signature');
  await counting.signManifest({ videoId, now: new Date(now.getTime() + 1000) });
  t.equal(signatures(), 3, 'the next second: one more signature');
  t.equal(new URL(first.manifestUrl).searchParams.getAll('Signature').length, 1, 'one signature in the URL, for every playlist and segment');
});

t.test('the signed-URL cache is bounded', async (t) => {
  const { signer: small, signatures } = countingSigner({ cacheSize: 2 });
  const now = new Date('2026-03-01T12:00:00.000Z');
  const ids = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003'];
  for (const id of ids) await small.signManifest({ videoId: id, now });
  t.equal(signatures(), 3);
  await small.signManifest({ videoId: ids[2]!, now });
  t.equal(signatures(), 3, 'the newest is kept');
  await small.signManifest({ videoId: ids[0]!, now });
  t.equal(signatures(), 4, 'the oldest went');
});
