/**
 * A file written from a stream that appears only whole, for the stand-ins' streamed writes (object
 * bodies, parts): write-file-atomic, which the stack uses for what it has whole in memory (events,
 * job and upload records), takes the data at once and cannot take a stream. The bytes go to
 * `<target>.partial-<uuid>` beside the target and are flushed to disk before that file is renamed
 * over the target, so a reader sees the old file or the new one, never part of it. A stream that
 * errors or ends short removes its temporary file and leaves the target as it was; a crash
 * (SIGKILL) leaves it behind, for its store to remove at the next start (`isInterruptedWrite`).
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';

/** `<target>.partial-<uuid>`: never s3rver's `._S3rver_object` suffix, so no listing shows one. */
const INTERRUPTED_WRITE = /\.partial-[0-9a-f-]{36}$/;

/** Whether a file name is the temporary file of a write that never finished. */
export const isInterruptedWrite = (name: string) => INTERRUPTED_WRITE.test(name);

/** Streams `source` through `stages` into `target`, which is replaced only once all of it is on disk. */
export async function writeStreamAtomically(target: string, source: NodeJS.ReadableStream, ...stages: NodeJS.ReadWriteStream[]): Promise<void> {
  const temporary = `${target}.partial-${randomUUID()}`;
  try {
    await pipeline([source, ...stages, createWriteStream(temporary, { flags: 'wx', flush: true })]);
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
