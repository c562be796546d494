/**
 * No per-segment cryptography at the edge: the manifest signer copies the viewer's signature onto
 * each URI and computes none, whatever the playlist's length; and its bundle carries neither the
 * CloudFront signer nor any of the application's code (where the private key is used) but the
 * dependency-free facts of src/shared/ (CloudFront's parameter names).
 */
import t from 'tap';
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { CloudFrontRequestEvent, CloudFrontResultResponse } from 'aws-lambda';
import { BUNDLES, buildBundle } from '../../deploy/build.ts';
import { FIXTURE_VIDEO_ID, loadEventFixture } from '../helpers/fixtures.ts';
import { mediaPlaylist } from '../helpers/playlists.ts';

t.test('signing a playlist of 10 or 2000 segments calls no cryptographic function', async (t) => {
  // Every node:crypto entry point that signs, hashes, MACs, encrypts or imports a key, counted.
  const counted = ['createSign', 'sign', 'createHmac', 'createHash', 'hash', 'createPrivateKey', 'privateEncrypt', 'createCipheriv', 'subtle'] as const;
  const calls: string[] = [];
  const originals = new Map<string, unknown>();
  const mutable = crypto as unknown as Record<string, unknown>;
  for (const name of counted) {
    const original = mutable[name];
    if (typeof original !== 'function') continue;
    originals.set(name, original);
    mutable[name] = (...args: unknown[]) => {
      calls.push(name);
      return (original as (...args: unknown[]) => unknown)(...args);
    };
  }
  syncBuiltinESMExports();
  t.teardown(() => {
    for (const [name, original] of originals) mutable[name] = original;
    syncBuiltinESMExports();
  });
  const { createHash } = await import('node:crypto');
  createHash('sha256');
  t.same(calls, ['createHash'], 'the counting sees calls through ESM imports');
  const { createManifestSigner } = await import('../../edge/manifest-signer.ts');

  for (const segments of [10, 2000]) {
    const key = `video-streams/${FIXTURE_VIDEO_ID}/360p/index.m3u8`;
    const playlist = mediaPlaylist(segments);
    const s3 = () =>
      ({
        send: async (command: GetObjectCommand) => {
          if (command.input.Key !== key) throw Object.assign(new Error('NoSuchKey'), { $metadata: { httpStatusCode: 404 } });
          return { Body: { transformToString: async () => playlist } };
        },
      }) as unknown as S3Client;
    const event = await loadEventFixture<CloudFrontRequestEvent>('cloudfront/origin-request');
    event.Records[0]!.cf.request.uri = `/${key}`;
    calls.length = 0;
    const response = (await createManifestSigner({ s3 })(event)) as CloudFrontResultResponse;
    t.equal(response.status, '200');
    const signature = new URLSearchParams(event.Records[0]!.cf.request.querystring).get('Signature')!;
    const carried = (response.body ?? '').split(signature).length - 1 + (response.headers?.['set-cookie']?.length ?? 0);
    t.ok(carried >= 1, `${segments} segments: the viewer's signature is carried (${carried} times)`);
    t.same(calls, [], `${segments} segments: no cryptographic call`);
  }
});

t.test('the edge bundle holds no CloudFront signer and none of the application', async (t) => {
  const outDir = await mkdtemp(path.join(tmpdir(), 'vod-edge-bundle-'));
  t.teardown(() => rm(outDir, { recursive: true, force: true }));
  const built = await buildBundle(
    BUNDLES.find((spec) => spec.edge)!,
    { outDir, metafile: true },
  );
  const inputs = Object.values(built.metafile!.outputs).flatMap((output) => Object.keys(output.inputs));
  t.same(
    inputs.filter((input) => /cloudfront-signer/.test(input)),
    [],
    'no @aws-sdk/cloudfront-signer',
  );
  t.same(
    inputs.filter((input) => /^(src|routes|events)\//.test(input) && !input.startsWith('src/shared/')),
    [],
    'no application code (the private key lives there), only src/shared/',
  );
  t.ok(inputs.includes('edge/manifest-signer.ts'));
});
