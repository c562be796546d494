/**
 * A local secret kept as a JSON file (the issuer's key pair, the CloudFront key pair, the worker
 * token): read when it exists, otherwise made once and written with mode 0600, so tokens and
 * signed URLs survive restarts. The file is written whole under a temporary name and linked into
 * place: `link` fails when the name exists, so when two processes race (`npm start` and
 * `npm run token`) the first one wins and both return it, and a crash mid-write never leaves a
 * half-written secret behind (only a temporary file, which is ignored).
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function loadOrCreateKeyFile<T>(file: string, create: () => T | Promise<T>): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const made = await create();
  await mkdir(dirname(file), { recursive: true });
  const temporary = `${file}.${randomUUID()}.tmp`;
  await writeFile(temporary, JSON.stringify(made), { flag: 'wx', mode: 0o600 });
  try {
    await link(temporary, file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
  } finally {
    await rm(temporary, { force: true });
  }
  return JSON.parse(await readFile(file, 'utf8')) as T;
}
