/** HLS playlist text without encoding anything: long ladders for size and reach tests. */
import { SEGMENT_SECONDS } from '../../src/domain/ladder.ts';
import { MASTER_PLAYLIST } from '../../src/shared/stream-files.ts';

export const segmentName = (index: number) => `segment_${String(index).padStart(5, '0')}.ts`;

/** A VOD media playlist of `count` segments named as the ffmpeg worker names them. */
export function mediaPlaylist(count: number, segmentSeconds = SEGMENT_SECONDS): string {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:6',
    `#EXT-X-TARGETDURATION:${segmentSeconds}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-PLAYLIST-TYPE:VOD',
    '#EXT-X-INDEPENDENT-SEGMENTS',
  ];
  for (let index = 0; index < count; index += 1) lines.push(`#EXTINF:${segmentSeconds.toFixed(6)},`, segmentName(index));
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}

export interface GeneratedLadder {
  /** Relative to the video's folder. */
  master: { key: string; text: string };
  media: Array<{ key: string; text: string; segments: string[] }>;
}

/** The 1080p/720p/360p ladder of a video `seconds` long, as `video-streams/{id}/` holds it. */
export function ladderPlaylists(seconds: number, segmentSeconds = SEGMENT_SECONDS): GeneratedLadder {
  const count = Math.ceil(seconds / segmentSeconds);
  const rungs = [
    { name: '1080p', resolution: '1920x1080', bandwidth: 5_628_000, codecs: 'avc1.640028,mp4a.40.2' },
    { name: '720p', resolution: '1280x720', bandwidth: 3_228_000, codecs: 'avc1.64001f,mp4a.40.2' },
    { name: '360p', resolution: '640x360', bandwidth: 928_000, codecs: 'avc1.64001e,mp4a.40.2' },
  ];
  const master = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (const rung of rungs) {
    master.push(`#EXT-X-STREAM-INF:BANDWIDTH=${rung.bandwidth},RESOLUTION=${rung.resolution},CODECS="${rung.codecs}"`, `${rung.name}/index.m3u8`);
  }
  return {
    master: { key: MASTER_PLAYLIST, text: `${master.join('\n')}\n` },
    media: rungs.map((rung) => ({
      key: `${rung.name}/index.m3u8`,
      text: mediaPlaylist(count, segmentSeconds),
      segments: Array.from({ length: count }, (_, index) => `${rung.name}/${segmentName(index)}`),
    })),
  };
}
