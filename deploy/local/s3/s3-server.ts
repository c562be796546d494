/**
 * The S3 stand-in: s3rver on an internal loopback port, objects on disk, the bucket created with
 * the CORS rules a browser upload and an HLS player need; in front of it, on the port everything
 * else uses, a server that verifies AWS Signature Version 4 on every request as S3 does
 * (s3-auth-proxy.ts), because s3rver checks none. The SDK clients and pre-signed URLs work
 * unchanged; anonymous, forged, tampered or expired requests get S3's 403/400 and store nothing.
 */
import S3rver from 's3rver';
import { mkdir } from 'node:fs/promises';
import { startS3AuthProxy, type S3AuthProxy } from './s3-auth-proxy.ts';
import { makeS3rverWritesAtomic, removeInterruptedWrites } from './s3-atomic-store.ts';
import { CompletingUploads, hideMultipartStoreFromS3rver, recoverMultipartStore, relabelMultipartCompletion } from './s3-multipart.ts';

export const LOCAL_S3_ACCESS_KEY = 'S3RVER';
export const LOCAL_S3_SECRET_KEY = 'S3RVER';

const CORS = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedMethod>PUT</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <ExposeHeader>ETag</ExposeHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

export interface LocalS3 {
  /** The verifying front: the only S3 endpoint clients, pre-signed URLs and tools should use. */
  url: string;
  onEvent(listener: (event: { Records: never[] }) => void): void;
  close(): Promise<void>;
}

export async function startLocalS3(options: {
  directory: string;
  port: number;
  bucket: string;
  /** When set, signatures must be scoped to this region, as S3 insists on the bucket's region. */
  region?: string;
  /** Where the front's own failures go (the stack's redacting logger); stderr by default. */
  onInternalError?: (error: unknown) => void;
}): Promise<LocalS3> {
  await mkdir(options.directory, { recursive: true });
  await removeInterruptedWrites(options.directory);
  await recoverMultipartStore(options.directory);
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    directory: options.directory,
    silent: true,
    configureBuckets: [{ name: options.bucket, configs: [CORS] }],
  });
  const completing = new CompletingUploads();
  makeS3rverWritesAtomic(server, { etagOf: (bucket, key, size) => completing.etagOf(bucket, key, size) });
  hideMultipartStoreFromS3rver(server);
  const { port: internalPort } = await server.run();
  // The front is s3rver's only client and keeps its connections open for reuse. Were s3rver to
  // close an idle one (Node's 5 s keep-alive timeout) just as the front sends on it, that request
  // would fail with "socket hang up" (seen under load); and a slow upload streamed through the
  // front must not be cut by Node's 5-minute request timeout. The front closes them when it stops.
  if (server.httpServer) {
    server.httpServer.keepAliveTimeout = 0;
    server.httpServer.requestTimeout = 0;
  }
  let front: S3AuthProxy;
  try {
    front = await startS3AuthProxy({
      port: options.port,
      upstream: { host: '127.0.0.1', port: internalPort },
      credentials: { [LOCAL_S3_ACCESS_KEY]: LOCAL_S3_SECRET_KEY },
      ...(options.region ? { region: options.region } : {}),
      ...(options.onInternalError ? { onInternalError: options.onInternalError } : {}),
      // The bucket's CORS rule: every origin, ETag readable; the front's own answers say the same.
      cors: { allowOrigin: '*', exposeHeaders: ['ETag'] },
      multipart: { directory: options.directory, completing },
    });
  } catch (error) {
    await server.close();
    throw error;
  }
  const { url, close: closeFront } = front;
  return {
    url,
    // s3rver reports what it stored; only verified requests reach it. A multipart completion is
    // stored by the front's internal PUT, which s3rver reports as a Put.
    onEvent: (listener) => server.on('event', (event: { Records: never[] }) => listener(relabelMultipartCompletion(event))),
    async close() {
      await closeFront();
      await server.close();
    },
  };
}
