/**
 * s3rver 3.7 streams an upload straight into the object's file and never notices a body that
 * stops short: its pipe listens for errors on its own transform only, so an aborted PUT leaves the
 * partial bytes as the object (HeadObject answers 200 with the partial size) or truncates the
 * object that was there, and the request hangs. S3 stores an object only once its whole body has
 * arrived. This makes s3rver's filesystem store do the same for PutObject and UploadPart: the body
 * is written with writeStreamAtomically (../stream-file-atomic.ts), so it replaces the object only
 * when the stream ended cleanly, and a stream that errors or closes early leaves the old object
 * intact.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import type S3rver from 's3rver';
import { isInterruptedWrite, writeStreamAtomically } from '../stream-file-atomic.ts';

/** The part of s3rver's FilesystemStore (lib/stores/filesystem.js) this replaces and relies on. */
interface FilesystemStore {
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5: string): Promise<void>;
  putObject(object: StoredObject): Promise<WriteResult>;
  putPart(bucket: string, uploadId: string, partNumber: number | string, content: Readable): Promise<WriteResult>;
}

interface StoredObject {
  bucket: string;
  key: string;
  content: Readable | Buffer;
  metadata: Record<string, string>;
}

interface WriteResult {
  size: number;
  md5: string;
}

export interface AtomicStoreOptions {
  /**
   * The ETag (without quotes) to record for an object just written, instead of its MD5: S3 gives
   * an object assembled from parts `<md5 of the parts' md5s>-<count>` (s3-multipart.ts). s3rver
   * answers and notifies with what the store returns, so this reaches GET, HEAD and the event.
   */
  etagOf?: (bucket: string, key: string, size: number) => string | undefined;
}

export function makeS3rverWritesAtomic(server: S3rver, options: AtomicStoreOptions = {}): void {
  const store = (server as unknown as { store: FilesystemStore }).store;
  if (typeof store?.putObject !== 'function' || typeof store.putPart !== 'function' || typeof store.getResourcePath !== 'function') {
    throw new Error('s3rver changed: its filesystem store no longer has putObject/putPart/getResourcePath (see s3-atomic-store.ts)');
  }

  store.putObject = async (object) => {
    const written = await writeAtomically(store.getResourcePath(object.bucket, object.key, 'object'), object.content);
    const result = { size: written.size, md5: options.etagOf?.(object.bucket, object.key, written.size) ?? written.md5 };
    await store.putMetadata(object.bucket, object.key, object.metadata, result.md5);
    return result;
  };

  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const partPath = path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    const result = await writeAtomically(partPath, content);
    await writeFile(`${partPath}.md5`, result.md5);
    return result;
  };
}

/**
 * Removes what writes interrupted by a crash left (a SIGKILL mid-PUT leaves its temporary file
 * behind, never the object). Run before s3rver serves, so no write is in progress. Returns how
 * many were removed.
 */
export async function removeInterruptedWrites(directory: string): Promise<number> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch(() => []);
  const leftovers = entries.filter((entry) => entry.isFile() && isInterruptedWrite(entry.name));
  await Promise.all(leftovers.map((entry) => rm(path.join(entry.parentPath, entry.name), { force: true })));
  return leftovers.length;
}

async function writeAtomically(target: string, content: Readable | Buffer): Promise<WriteResult> {
  await mkdir(path.dirname(target), { recursive: true });
  const md5 = createHash('md5');
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  await writeStreamAtomically(target, Buffer.isBuffer(content) ? Readable.from([content]) : content, measure);
  return { size, md5: md5.digest('hex') };
}
