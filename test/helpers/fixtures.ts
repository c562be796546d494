/** Loads an AWS event fixture (test/fixtures/events), retargeted at this test's bucket and video. */
import { readFile } from 'node:fs/promises';

export const FIXTURE_BUCKET = 'vod-bucket';
export const FIXTURE_VIDEO_ID = '01J9Z8Q4V6X7Y8Z9A0B1C2D3E4';

export async function loadEventFixture<T>(name: string, retarget: { bucket?: string; videoId?: string } = {}): Promise<T> {
  let text = await readFile(new URL(`../fixtures/events/${name}.json`, import.meta.url), 'utf8');
  if (retarget.bucket) text = text.replaceAll(FIXTURE_BUCKET, retarget.bucket);
  if (retarget.videoId) text = text.replaceAll(FIXTURE_VIDEO_ID, retarget.videoId);
  return JSON.parse(text) as T;
}
