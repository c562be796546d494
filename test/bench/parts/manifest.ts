/**
 * Manifest requests per second through the CloudFront stand-in (deploy/local/cloudfront/cloudfront.ts: it
 * checks the viewer's signature, then runs the Lambda@Edge signer, which reads the playlist from
 * the S3 stand-in and appends the signing query to each of its URIs), for a 10-minute media
 * playlist (151 URIs), against:
 *   - a plain node:http server answering the same playlist bytes from memory (the same bytes
 *     served unsigned, with no CDN at all);
 *   - the same stand-in and edge function with the signature in cookies instead of the URL: the
 *     edge function then answers the playlist as stored, so the difference is the rewriting alone.
 */
import path from 'node:path';
import { startServer } from '../lib/processes.ts';
import { load } from '../lib/load.ts';
import { measure, type BenchOptions, type Measure } from '../lib/measure.ts';

interface StackInfo {
  manifest: { signedUrl: string; cookieUrl: string; cookie: string; plainUrl: string; bytes: number; uris: number };
}

export async function runManifest(options: BenchOptions): Promise<Measure[]> {
  const stack = await startServer<StackInfo>('test/bench/servers/stack.ts', [path.join(options.workDir, 'manifest-stack'), '1']);
  try {
    const { manifest } = stack.info;
    const check = await fetch(manifest.signedUrl);
    const signedBody = await check.text();
    if (check.status !== 200 || !signedBody.includes('Signature=')) throw new Error(`the signed playlist answered ${check.status}`);

    const plain = await load({ url: manifest.plainUrl }, options.loadSeconds);
    const signed = await load({ url: manifest.signedUrl }, options.loadSeconds);
    const cookies = await load({ url: manifest.cookieUrl, headers: { cookie: manifest.cookie } }, options.loadSeconds);
    options.log(
      `manifest: edge-signed ${signed.requestsPerSecond.toFixed(0)} req/s, cookies (unsigned by the edge) ${cookies.requestsPerSecond.toFixed(0)}, plain http ${plain.requestsPerSecond.toFixed(0)}`,
    );
    const detail = {
      playlistBytes: manifest.bytes,
      signedBytes: Buffer.byteLength(signedBody),
      uris: manifest.uris,
      signed,
      cookies,
      plain,
      seconds: options.loadSeconds,
    };
    const label = `media playlist (${manifest.uris} URIs) through the CloudFront stand-in, signed by the edge function: requests/s`;
    return [
      measure({
        id: 'manifest.signed.rps.vs-plain',
        part: 'manifest',
        label,
        unit: 'req/s',
        value: signed.requestsPerSecond,
        baseline: { label: 'the same bytes from a plain node:http server', value: plain.requestsPerSecond },
        better: 'higher',
        detail,
      }),
      measure({
        id: 'manifest.signed.rps.vs-cookies',
        part: 'manifest',
        label,
        unit: 'req/s',
        value: signed.requestsPerSecond,
        baseline: { label: 'the same stand-in, signature in cookies (playlist served as stored)', value: cookies.requestsPerSecond },
        better: 'higher',
        detail,
      }),
    ];
  } finally {
    await stack.stop();
  }
}
