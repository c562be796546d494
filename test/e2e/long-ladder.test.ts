/**
 * A three-hour video through the CloudFront stand-in: generated playlist text (3 renditions of
 * 2700 four-second segments, no encode) and small objects for the segments. Every playlist must be
 * served within the 1 MB Lambda@Edge limit and still let the player reach the segments.
 *
 * Every one of the 8100 segment URIs is checked to fall under the cookie's path and the policy's
 * resource; 100 per rendition, evenly spread from the first to the last, are stored and fetched.
 * (The single-process local S3 does ~150 PUTs and ~250 GETs a second: all 8100 each way would take
 * a minute and prove nothing more, since every URI is granted by the same cookie.)
 */
import t from 'tap';
import type { Playback } from '../../src/schemas/playback.ts';
import { callApi, createVideo, makeReadyWithStreams, startTestStack } from '../helpers/stack.ts';
import { ladderPlaylists } from '../helpers/playlists.ts';
import { cookieHeaderOf, eachLimited, queryOf, urisOf } from '../helpers/playback.ts';

const LIMIT = 1_000_000; // Lambda@Edge: 1 MB for a generated origin-request response, headers included
const THREE_HOURS = 3 * 3600;

const stack = await startTestStack(t);
const token = await stack.token('alice');
const ladder = ladderPlaylists(THREE_HOURS);
const videoId = await createVideo(stack, token, 'Three hours');
const segmentBody = (key: string) => `segment ${key}`;
const SAMPLE = 100;
/** `SAMPLE` items evenly spread over the list, first and last included. */
const sampled = <T>(items: T[]) => Array.from({ length: SAMPLE }, (_, index) => items[Math.round((index * (items.length - 1)) / (SAMPLE - 1))]!);
await makeReadyWithStreams(stack, videoId, {
  durationSeconds: THREE_HOURS,
  objects: [
    { key: ladder.master.key, body: ladder.master.text, contentType: 'application/vnd.apple.mpegurl' },
    ...ladder.media.map((media) => ({ key: media.key, body: media.text, contentType: 'application/vnd.apple.mpegurl' })),
    ...ladder.media.flatMap((media) => sampled(media.segments).map((key) => ({ key, body: segmentBody(key), contentType: 'video/mp2t' }))),
  ],
});

/** What CloudFront counts: the body plus every header line the function set. */
async function servedSize(response: Response): Promise<{ text: string; bytes: number }> {
  const text = await response.text();
  let bytes = Buffer.byteLength(text);
  for (const name of ['content-type', 'cache-control']) bytes += `${name}: ${response.headers.get(name)}\r\n`.length;
  for (const cookie of response.headers.getSetCookie()) bytes += `set-cookie: ${cookie}\r\n`.length;
  return { text, bytes };
}

t.test('a three-hour ladder is served within the Lambda@Edge limit and every segment is reachable', async (t) => {
  t.equal(ladder.media[0]!.segments.length, 2700);
  const { status, body } = await callApi<Playback>(stack, 'GET', `/videos/${videoId}/playback`, { token });
  t.equal(status, 200);
  const grant = queryOf(body.manifestUrl);
  t.ok(Date.parse(body.expiresAt) - Date.now() >= THREE_HOURS * 1000, 'the grant outlives the film');

  const master = await fetch(body.manifestUrl);
  t.equal(master.status, 200);
  const served = await servedSize(master);
  t.ok(served.bytes <= LIMIT, `master: ${served.bytes} bytes`);
  t.comment(`master playlist: ${Buffer.byteLength(ladder.master.text)} bytes stored, ${served.bytes} served (URIs signed)`);

  let reached = 0;
  for (const variant of urisOf(served.text)) {
    t.ok(variant.endsWith(`?${grant}`), 'variant URIs in the master are signed');
    const playlistUrl = new URL(variant, body.manifestUrl);
    const media = await fetch(playlistUrl);
    t.equal(media.status, 200, `${playlistUrl.pathname} served`);
    const { text, bytes } = await servedSize(media);
    t.ok(bytes <= LIMIT, `${playlistUrl.pathname}: ${bytes} bytes, within the limit`);
    t.equal(media.headers.get('cache-control'), 'no-store');

    // Signed per URI this playlist would be ~1.8 MB, so the signature comes once, as cookies.
    const cookies = media.headers.getSetCookie();
    t.same(
      cookies.map((cookie) => cookie.split('=')[0]).sort(),
      ['CloudFront-Key-Pair-Id', 'CloudFront-Policy', 'CloudFront-Signature'],
      'signed cookies instead of per-URI signatures',
    );
    for (const cookie of cookies) t.match(cookie, `; Path=/video-streams/${videoId}/;`, 'scoped to the video');
    const params = new URLSearchParams(grant);
    t.ok(
      cookies.some((cookie) => cookie.startsWith(`CloudFront-Policy=${params.get('Policy')};`)),
      "the viewer's own policy, as received",
    );
    const cookieHeader = cookieHeaderOf(media);
    t.comment(`${playlistUrl.pathname}: ${Buffer.byteLength(text)} bytes served with ${cookies.length} cookies`);

    const uris = urisOf(text);
    t.equal(uris.length, 2700);
    t.notOk(
      uris.some((uri) => uri.includes('Signature=')),
      'segment URIs stay unsigned',
    );
    const folder = `${stack.cdnUrl}/video-streams/${videoId}/`;
    t.ok(
      uris.every((uri) => new URL(uri, playlistUrl).toString().startsWith(folder)),
      'every segment URI is under the cookie path and the policy resource',
    );
    const failures: string[] = [];
    await eachLimited(sampled(uris), 16, async (uri) => {
      const url = new URL(uri, playlistUrl);
      const segment = await fetch(url, { headers: { cookie: cookieHeader } });
      const bytes = await segment.text();
      if (segment.status !== 200 || bytes !== segmentBody(url.pathname.split(`/${videoId}/`)[1]!)) failures.push(`${url.pathname}: ${segment.status}`);
      else reached += 1;
    });
    t.same(failures, [], `${SAMPLE} segments of ${playlistUrl.pathname}, first to last, fetched with the cookies`);

    const withoutCookies = await fetch(new URL(uris[0]!, playlistUrl));
    t.equal(withoutCookies.status, 403, 'without the cookies a segment is refused');
    await withoutCookies.text();
  }
  t.equal(reached, 3 * SAMPLE);
});
