/**
 * The whole local stack (`npm start`'s, with dynalite, s3rver and the CloudFront stand-in in one
 * process) in a scratch folder, with ready videos and, for the manifest measure, a 10-minute media
 * playlist (150 four-second segments) behind the first one, plus a plain node:http server that
 * serves the same playlist bytes. Announces what the bench needs (test/bench/lib/processes.ts).
 * Usage: stack.ts <scratch dir> [ready videos (20)]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startLocalStack } from '../../../deploy/local/stack.ts';
import { callApi, createVideo, makeReadyWithStreams } from '../../helpers/stack.ts';
import type { Playback } from '../../../src/schemas/playback.ts';
import { announce } from '../lib/processes.ts';

const SEGMENTS = 150;
const MEDIA_PLAYLIST_KEY = '720p/index.m3u8';

function mediaPlaylist(segments: number): string {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', '#EXT-X-TARGETDURATION:4', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-MAP:URI="init.mp4"'];
  for (let index = 0; index < segments; index++) lines.push('#EXTINF:4.000000,', `segment_${String(index).padStart(5, '0')}.m4s`);
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

const MASTER = [
  '#EXTM3U',
  '#EXT-X-VERSION:7',
  '#EXT-X-STREAM-INF:BANDWIDTH=3100000,AVERAGE-BANDWIDTH=2900000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"',
  MEDIA_PLAYLIST_KEY,
  '',
].join('\n');

const [scratch = '.', count = '20'] = process.argv.slice(2);
const stack = await startLocalStack({
  dataDir: scratch,
  ports: { api: 0, cdn: 0, issuer: 0, s3: 0, dynamodb: 0, transcoder: 0 },
  logLevel: 'warn',
  // Load from one address: the per-client limit stays in the path (its cost is measured) but
  // never refuses (src/app/rate-limit.ts).
  settings: { RATE_LIMIT_MAX: String(1e9) },
});
const token = await stack.token('bench-viewer', { expiresInSeconds: 3600 });
const playlist = mediaPlaylist(SEGMENTS);
const videoIds: string[] = [];
for (let index = 0; index < Number(count); index++) {
  const videoId = await createVideo(stack, token, `Bench video ${index + 1}`);
  await makeReadyWithStreams(stack, videoId, {
    durationSeconds: SEGMENTS * 4,
    objects: [
      { key: 'master.m3u8', body: MASTER, contentType: 'application/vnd.apple.mpegurl' },
      ...(index === 0 ? [{ key: MEDIA_PLAYLIST_KEY, body: playlist, contentType: 'application/vnd.apple.mpegurl' }] : []),
    ],
  });
  videoIds.push(videoId);
}

const plain = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/vnd.apple.mpegurl', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(playlist) });
  response.end(playlist);
});
await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));

/** The viewer's signed URL for the first video's media playlist, and the same signature as cookies. */
async function manifestTargets(videoId: string) {
  const { body: grant } = await callApi<Playback>(stack, 'GET', `/videos/${videoId}/playback`, { token });
  const signed = new URL(grant.manifestUrl);
  const mediaPath = signed.pathname.replace(/master\.m3u8$/, MEDIA_PLAYLIST_KEY);
  return {
    signedUrl: `${signed.origin}${mediaPath}${signed.search}`,
    cookieUrl: `${signed.origin}${mediaPath}`,
    cookie: [...signed.searchParams].map(([name, value]) => `CloudFront-${name}=${value}`).join('; '),
    plainUrl: `http://127.0.0.1:${(plain.address() as AddressInfo).port}${mediaPath}`,
    bytes: Buffer.byteLength(playlist),
    uris: SEGMENTS + 1,
  };
}

announce({
  apiUrl: stack.apiUrl,
  cdnUrl: stack.cdnUrl,
  token,
  videoIds,
  // Absent without videos.
  manifest: videoIds[0] ? await manifestTargets(videoIds[0]) : undefined,
});

process.once('SIGTERM', () => {
  plain.close();
  void stack.stop().then(() => process.exit(0));
});
