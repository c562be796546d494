/**
 * The S3 stand-in: s3rver on a loopback port, objects on disk, the bucket created with the CORS
 * rules a browser upload and an HLS player need.
 */
import S3rver from 's3rver';
import { mkdir } from 'node:fs/promises';

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
  url: string;
  onEvent(listener: (event: { Records: never[] }) => void): void;
  close(): Promise<void>;
}

export async function startLocalS3(options: { directory: string; port: number; bucket: string }): Promise<LocalS3> {
  await mkdir(options.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    directory: options.directory,
    silent: true,
    configureBuckets: [{ name: options.bucket, configs: [CORS] }],
  });
  const { port } = await server.run();
  return {
    url: `http://127.0.0.1:${port}`,
    onEvent: (listener) => server.on('event', listener),
    close: () => server.close(),
  };
}
