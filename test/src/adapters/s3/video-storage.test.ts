/**
 * Deleting a video's objects never hides S3's refusals. DeleteObjects answers
 * 200 even when it keeps some keys, listing them as <Error> entries; the storage adapter must
 * raise them. The S3 side is a small HTTP server speaking S3's XML, so the real SDK client
 * serializes the requests and parses the answers.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import t from 'tap';
import { createVideoStorage } from '../../../../src/adapters/s3/video-storage.ts';
import { ObjectsNotDeletedError } from '../../../../src/domain/ports/video-storage.ts';

const requests: string[] = [];
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
  req.on('end', () => {
    const url = new URL(req.url ?? '/', 'http://s3');
    requests.push(`${req.method} ${url.pathname}?${url.searchParams.has('delete') ? 'delete' : url.searchParams.get('prefix')}`);
    res.setHeader('content-type', 'application/xml');
    if (req.method === 'GET') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const keys = prefix.startsWith('uploads/') ? [`${prefix}source`] : [`${prefix}master.m3u8`, `${prefix}360p/seg_00000.ts`];
      return res.end(
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><Prefix>${prefix}</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>` +
          keys.map((key) => `<Contents><Key>${key}</Key><LastModified>2026-11-29T10:00:00.000Z</LastModified><Size>1</Size></Contents>`).join('') +
          '</ListBucketResult>',
      );
    }
    // Quiet mode: only the keys S3 could not delete are listed; one of them here.
    const kept = [...body.matchAll(/<Key>([^<]+)<\/Key>/g)].map((match) => match[1]!).filter((key) => key.endsWith('.ts'));
    res.end(
      '<?xml version="1.0" encoding="UTF-8"?><DeleteResult>' +
        kept.map((key) => `<Error><Key>${key}</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`).join('') +
        '</DeleteResult>',
    );
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));

const s3 = new S3Client({
  endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
  requestChecksumCalculation: 'WHEN_REQUIRED',
});
t.teardown(() => s3.destroy());

t.test('a key S3 keeps is an error naming it, not a quiet success', async (t) => {
  const storage = createVideoStorage({ s3, bucket: 'b' });
  const error = await storage.deleteVideoObjects('v1').catch((caught: unknown) => caught);
  t.type(error, ObjectsNotDeletedError);
  t.same((error as ObjectsNotDeletedError).failures, [{ key: 'video-streams/v1/360p/seg_00000.ts', code: 'AccessDenied' }]);
  t.match((error as Error).message, 'video-streams/v1/360p/seg_00000.ts (AccessDenied)');
  t.ok(
    requests.some((request) => request.endsWith('?delete')),
    'DeleteObjects was really sent',
  );
});
