import t from 'tap';
import { generateKeyPairSync, verify } from 'node:crypto';
import type { SSMClient } from '@aws-sdk/client-ssm';
import {
  createPlaybackSigner,
  inlinePrivateKey,
  playbackLifetimeSeconds,
  privateKeyFromSsm,
} from '../../src/playback-signer.ts';

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
