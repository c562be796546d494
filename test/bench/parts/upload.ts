/**
 * Upload throughput: POST /uploads, then PUT the bytes to the pre-signed URL (the S3 stand-in:
 * its SigV4-checking front and s3rver, writing to disk), timed from the PUT's start to its answer,
 * against writing the same bytes to a file on the same disk. Random bytes: the upload then fails
 * its conversion quickly ("not a video"), which happens after the timing.
 */
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startServer } from '../lib/processes.ts';
import { measure, median, type BenchOptions, type Measure } from '../lib/measure.ts';
import type { CreateUploadResponse } from '../../../src/schemas/upload.ts';
import { singlePut } from '../../helpers/uploads.ts';

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
    return [
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
