/**
 * A local secret kept as a JSON file (the issuer's key pair, the CloudFront key pair): read when
 * it exists, otherwise made once and written with mode 0600, so tokens and signed URLs survive
 * restarts. `wx` makes creation atomic: when two processes race (`npm start` and `npm run token`),
 * the first file written wins and both return it.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function loadOrCreateKeyFile<T>(file: string, create: () => T | Promise<T>): Promise<T> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const made = await create();
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(made), { flag: 'wx', mode: 0o600 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return JSON.parse(await readFile(file, 'utf8')) as T;
}
