/**
 * Upload throughput: POST /uploads, then PUT the bytes to the pre-signed URL (the S3 stand-in:
 * its SigV4-checking front and s3rver, writing to disk), timed from the PUT's start to its answer,
 * against writing the same bytes to a file on the same disk. Random bytes: the upload then fails
 * its conversion quickly ("not a video"), which happens after the timing.
 *
 * Then the same larger file twice in the same run: one pre-signed PUT, and a multipart upload
 * (`multipart: true`, 16 MiB parts, 4 at a time, then POST .../complete), each timed from the
 * first byte sent to the answer that the source is stored. The ratio is what uploading in parts
 * costs (or gains) on this machine; over a real network, parallel parts and resuming matter more.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startServer } from '../lib/processes.ts';
import { measure, median, type BenchOptions, type Measure } from '../lib/measure.ts';
import type { CreateUploadResponse } from '../../../src/schemas/upload.ts';
import { multipartPlan, singlePut } from '../../helpers/uploads.ts';

interface StackInfo {
  apiUrl: string;
  token: string;
}

export async function runUpload(options: BenchOptions): Promise<Measure[]> {
  const megabytes = options.tiny ? 2 : 50;
  const bytes = randomBytes(megabytes * 1024 * 1024);
  const stack = await startServer<StackInfo>('test/bench/servers/stack.ts', [path.join(options.workDir, 'upload-stack'), '0']);
  try {
    const { apiUrl, token } = stack.info;
    const upload: number[] = [];
    const disk: number[] = [];
    for (let run = 0; run < options.runs; run++) {
      const file = path.join(options.workDir, `upload-${run}.bin`);
      let started = performance.now();
      await writeFile(file, bytes);
      disk.push(bytes.length / 1e6 / ((performance.now() - started) / 1000));
      await rm(file, { force: true });

      const created = await fetch(`${apiUrl}/uploads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'bench upload', filename: 'bench.mp4', contentType: 'video/mp4', sizeBytes: bytes.length }),
      });
      if (created.status !== 201) throw new Error(`POST /uploads answered ${created.status}`);
      const target = singlePut(((await created.json()) as CreateUploadResponse).upload);
      started = performance.now();
      const put = await fetch(target.url, { method: target.method, headers: target.headers, body: bytes });
      await put.arrayBuffer();
      if (put.status !== 200) throw new Error(`the pre-signed PUT answered ${put.status}`);
      upload.push(bytes.length / 1e6 / ((performance.now() - started) / 1000));
    }
    options.log(`upload: ${median(upload).toFixed(0)} MB/s through the pre-signed URL, ${median(disk).toFixed(0)} MB/s to disk (${megabytes} MiB)`);

    // The same file by one PUT and in parts.
    const largeMegabytes = options.tiny ? 12 : 192;
    const large = randomBytes(largeMegabytes * 1024 * 1024);
    const api = (route: string, body: unknown) =>
      fetch(`${apiUrl}${route}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const register = async (multipart: boolean) => {
      const created = await api('/uploads', { title: 'bench upload', filename: 'bench.mp4', contentType: 'video/mp4', sizeBytes: large.length, multipart });
      if (created.status !== 201) throw new Error(`POST /uploads answered ${created.status}`);
      return (await created.json()) as CreateUploadResponse;
    };
    const single: number[] = [];
    const parts: number[] = [];
    for (let run = 0; run < options.runs; run++) {
      const one = singlePut((await register(false)).upload);
      let started = performance.now();
      const put = await fetch(one.url, { method: one.method, headers: one.headers, body: large });
      await put.arrayBuffer();
      if (put.status !== 200) throw new Error(`the pre-signed PUT answered ${put.status}`);
      single.push(large.length / 1e6 / ((performance.now() - started) / 1000));

      const created = await register(true);
      const plan = multipartPlan(created.upload);
      started = performance.now();
      const etags: Array<{ partNumber: number; etag: string }> = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          while (next < plan.parts.length) {
            const part = plan.parts[next++]!;
            const offset = (part.partNumber - 1) * plan.partSizeBytes;
            const answer = await fetch(part.url, { method: 'PUT', headers: part.headers, body: large.subarray(offset, offset + part.sizeBytes) });
            await answer.arrayBuffer();
            const etag = answer.headers.get('etag');
            if (answer.status !== 200 || !etag) throw new Error(`PUT part ${part.partNumber} answered ${answer.status}`);
            etags.push({ partNumber: part.partNumber, etag });
          }
        }),
      );
      if (etags.length !== plan.partCount) throw new Error(`${plan.partCount} parts, ${etags.length} URLs: the bench file must fit one batch`);
      etags.sort((a, b) => a.partNumber - b.partNumber);
      const completed = await api(`/uploads/${created.videoId}/complete`, { parts: etags });
      await completed.arrayBuffer();
      if (completed.status !== 202) throw new Error(`POST /uploads/${created.videoId}/complete answered ${completed.status}`);
      parts.push(large.length / 1e6 / ((performance.now() - started) / 1000));
    }
    options.log(
      `upload: ${median(parts).toFixed(0)} MB/s in parts (16 MiB, 4 at a time), ${median(single).toFixed(0)} MB/s by one PUT (${largeMegabytes} MiB)`,
    );
    return [
      measure({
        id: 'upload.multipart.mbps',
        part: 'upload',
        label: `upload of ${largeMegabytes} MiB in 16 MiB parts, 4 at a time, completed (S3 stand-in): MB/s`,
        unit: 'MB/s',
        value: median(parts),
        baseline: { label: 'one pre-signed PUT of the same file', value: median(single) },
        better: 'higher',
        detail: { megabytes: largeMegabytes, parts, single },
      }),
      measure({
        id: 'upload.presigned-put.mbps',
        part: 'upload',
        label: `upload of ${megabytes} MiB through the pre-signed URL (S3 stand-in): MB/s`,
        unit: 'MB/s',
        value: median(upload),
        baseline: { label: 'writing the same bytes to a file', value: median(disk) },
        better: 'higher',
        detail: { megabytes, upload, disk },
      }),
    ];
  } finally {
    await stack.stop();
  }
}
