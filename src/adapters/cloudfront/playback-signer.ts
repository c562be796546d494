/**
 * Signed playback: one CloudFront signature per playback, covering every object of one video.
 * The manifest URL carries a custom policy whose resource is `${CDN_BASE_URL}/video-streams/{id}/*`,
 * so the edge signer (edge/manifest-signer.ts) only copies that query onto the URIs inside each
 * playlist and never needs the private key. CloudFront checks the signature with the public key
 * in the distribution's trusted key group.
 *
 * Cost per playback: one RSA-SHA1 signature (~0.3 ms) with a key parsed once per container
 * (parsing the PEM took another 0.35 ms per call), and none at all when the same video was
 * signed with the same expiry second before: RSA PKCS#1 v1.5 signatures are deterministic, so
 * a bounded cache of signed URLs by (video, expiry) gives byte for byte what signing again would.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { createBoundedCache } from '../../shared/bounded-cache.ts';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { loadOnce } from '../../shared/load-once.ts';
import { MASTER_PLAYLIST } from '../../shared/stream-files.ts';
import { streamPrefix } from '../../domain/storage-layout.ts';
import { playbackLifetimeSeconds, type PlaybackSigner } from '../../domain/ports/playback-signer.ts';

/** Where the PEM private key comes from; called at every signing, so sources cache themselves. */
export type PrivateKeySource = () => Promise<string>;

export const inlinePrivateKey =
  (pem: string): PrivateKeySource =>
  async () =>
    pem;

/**
 * Reads the key from an SSM SecureString parameter once per container, at the first playback (so
 * functions that never sign never need ssm:GetParameter, and the SSM SDK is loaded only then). A
 * failed read is retried next time.
 */
export function privateKeyFromSsm(ssm: SSMClient | (() => Promise<SSMClient>), parameterName: string): PrivateKeySource {
  return loadOnce(async () => {
    const [{ GetParameterCommand }, client] = await Promise.all([import('@aws-sdk/client-ssm'), typeof ssm === 'function' ? ssm() : ssm]);
    const output = await client.send(new GetParameterCommand({ Name: parameterName, WithDecryption: true }));
    const value = output.Parameter?.Value;
    if (!value) throw new Error(`SSM parameter ${parameterName} has no value`);
    return value;
  });
}

export interface PlaybackSignerOptions {
  /** The distribution's root URL, no trailing slash. */
  cdnBaseUrl: string;
  keyPairId: string;
  privateKey: PrivateKeySource;
  /** The usual lifetime of a grant. */
  ttlSeconds: number;
  /** A grant lives at least the video's duration plus this. */
  marginSeconds: number;
  /** How many signed URLs to remember (default 1000). */
  cacheSize?: number;
}

/** The custom policy: every object under the video's stream prefix, until `expiresEpoch`. */
export function playbackPolicy(cdnBaseUrl: string, videoId: string, expiresEpoch: number): string {
  return JSON.stringify({
    Statement: [
      {
        Resource: `${cdnBaseUrl}/${streamPrefix(encodeURIComponent(videoId))}*`,
        Condition: { DateLessThan: { 'AWS:EpochTime': expiresEpoch } },
      },
    ],
  });
}

export function createPlaybackSigner(options: PlaybackSignerOptions): PlaybackSigner {
  // The parsed key, for the PEM it was parsed from (a source may hand out a new one after a failure).
  let imported: { pem: string; key: KeyObject } | undefined;
  const signingKey = async (): Promise<KeyObject> => {
    const pem = await options.privateKey();
    if (imported?.pem !== pem) imported = { pem, key: createPrivateKey(pem) };
    return imported.key;
  };
  const signed = createBoundedCache<string, string>(options.cacheSize ?? 1000);
  return {
    async signManifest({ videoId, durationSeconds, now }) {
      // CloudFront compares whole seconds; round up so the grant never ends before expiresAt.
      const expiresEpoch = Math.ceil(now.getTime() / 1000) + playbackLifetimeSeconds(options, durationSeconds);
      const cacheKey = `${expiresEpoch} ${videoId}`;
      let manifestUrl = signed.get(cacheKey);
      if (manifestUrl === undefined) {
        manifestUrl = getSignedUrl({
          url: `${options.cdnBaseUrl}/${streamPrefix(encodeURIComponent(videoId))}${MASTER_PLAYLIST}`,
          policy: playbackPolicy(options.cdnBaseUrl, videoId, expiresEpoch),
          keyPairId: options.keyPairId,
          // Typed as a PEM string or Buffer; it hands the key to crypto.Sign, which takes a KeyObject.
          privateKey: (await signingKey()) as unknown as string,
        });
        signed.set(cacheKey, manifestUrl);
      }
      return { manifestUrl, expiresAt: new Date(expiresEpoch * 1000) };
    },
  };
}
