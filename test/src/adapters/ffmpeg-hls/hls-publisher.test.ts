import t from 'tap';
import HLS from 'hls-parser';
import { masterPlaylistText, parseMediaPlaylist, publishedPlaylistText, renditionsPublishedOf } from '../../../../src/adapters/ffmpeg-hls/hls-publisher.ts';
import { readMasterPlaylist, renditionsOfMasterPlaylist } from '../../../../src/domain/master-playlist.ts';

const seg = (duration: number, bytes: number) => ({ uri: 'x.ts', duration, bytes });

t.test('the master lists renditions largest first with every attribute hls.js and Safari read', async (t) => {
  const text = masterPlaylistText([
    { kind: 'video', name: '360p', width: 640, height: 360, codecs: 'avc1.64001e,mp4a.40.2', segments: [seg(4, 400_000)] },
    {
      kind: 'video',
      name: '1080p',
      width: 1920,
      height: 1080,
      frameRate: { numerator: 30000, denominator: 1001 },
      codecs: 'avc1.640028,mp4a.40.2',
      segments: [seg(8, 6_000_000)],
    },
  ]);
  t.equal(
    text,
    [
      '#EXTM3U',
      '#EXT-X-VERSION:6',
      '#EXT-X-INDEPENDENT-SEGMENTS',
      '#EXT-X-START:TIME-OFFSET=0',
      '#EXT-X-STREAM-INF:BANDWIDTH=6000000,AVERAGE-BANDWIDTH=6000000,RESOLUTION=1920x1080,FRAME-RATE=29.970,CODECS="avc1.640028,mp4a.40.2"',
      '1080p/index.m3u8',
      '#EXT-X-STREAM-INF:BANDWIDTH=800000,AVERAGE-BANDWIDTH=800000,RESOLUTION=640x360,CODECS="avc1.64001e,mp4a.40.2"',
      '360p/index.m3u8',
      '',
    ].join('\n'),
  );
  const parsed = HLS.parse(text);
  t.ok(parsed.isMasterPlaylist);
  t.same(
    renditionsOfMasterPlaylist(text).map((r) => r.name),
    ['1080p', '360p'],
  );
});

t.test('the API lists renditions largest first even when a packaged top carries fewer bits', async (t) => {
  const text = masterPlaylistText([
    { kind: 'video', name: '1080p', width: 1920, height: 1080, codecs: 'avc1.640028', segments: [seg(4, 1_000_000)] },
    { kind: 'video', name: '720p', width: 1280, height: 720, codecs: 'avc1.64001f', segments: [seg(4, 1_500_000)] },
  ]);
  t.same(
    renditionsOfMasterPlaylist(text).map((r) => [r.name, r.bandwidth]),
    [
      ['1080p', 2_000_000],
      ['720p', 3_000_000],
    ],
  );
});

t.test('several audio tracks are alternate renditions of one group; each variant names it and counts its largest', async (t) => {
  const text = masterPlaylistText([
    { kind: 'video', name: '720p', width: 1280, height: 720, codecs: 'avc1.64001f', segments: [seg(4, 1_000_000)] },
    { kind: 'audio', name: 'audio-1', title: 'English', language: 'en', default: true, codecs: 'mp4a.40.2', segments: [seg(4, 64_000)] },
    { kind: 'audio', name: 'audio-2', title: 'Commentary', default: false, codecs: 'mp4a.40.2', segments: [seg(4, 70_000)] },
  ]);
  t.match(text, '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio-1/index.m3u8"');
  t.match(text, '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Commentary",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",URI="audio-2/index.m3u8"');
  t.match(
    text,
    '#EXT-X-STREAM-INF:BANDWIDTH=2140000,AVERAGE-BANDWIDTH=2140000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2",AUDIO="audio"\n720p/index.m3u8',
  );
  const parsed = HLS.parse(text);
  if (!parsed.isMasterPlaylist) throw new Error('not a master playlist');
  t.same(
    parsed.variants[0]?.audio.map((a) => [a.name, a.uri, a.isDefault]),
    [
      ['English', 'audio-1/index.m3u8', true],
      ['Commentary', 'audio-2/index.m3u8', false],
    ],
  );
  t.same(readMasterPlaylist(text), {
    renditions: [{ name: '720p', width: 1280, height: 720, bandwidth: 2_140_000 }],
    audioTracks: [
      { name: 'English', language: 'en', default: true },
      { name: 'Commentary', default: false },
    ],
    variants: 1,
  });
});

t.test('an audio-only master has its audio rendition as the one variant', async (t) => {
  const text = masterPlaylistText([{ kind: 'audio', name: 'audio-1', title: 'Audio', default: true, codecs: '', segments: [seg(4, 66_000)] }]);
  t.match(text, '#EXT-X-STREAM-INF:BANDWIDTH=132000,AVERAGE-BANDWIDTH=132000,CODECS="mp4a.40.2"\naudio-1/index.m3u8');
  t.notMatch(text, 'EXT-X-MEDIA');
  t.same(readMasterPlaylist(text), { renditions: [], audioTracks: [], variants: 1 });
});

t.test('a playlist is published with EXT-X-START while it grows, and as VOD once ended', async (t) => {
  const growing =
    '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXTINF:4.000000,\nsegment_00000.ts\n';
  t.equal(publishedPlaylistText(growing, false), growing.replace('EVENT\n', 'EVENT\n#EXT-X-START:TIME-OFFSET=0\n'));
  const ended = `${growing}#EXT-X-ENDLIST\n`;
  t.equal(publishedPlaylistText(ended, true), ended.replace('EVENT', 'VOD'));
  const media = HLS.parse(publishedPlaylistText(growing, false));
  t.notOk(media.isMasterPlaylist);
  t.match(media, { playlistType: 'EVENT', start: { offset: 0 }, endlist: false });
});

t.test("ffmpeg's media playlists are read for their segments and end mark alone", async (t) => {
  const text =
    '#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:8\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-INDEPENDENT-SEGMENTS\n#EXTINF:8.333333,\nsegment_00000.ts\n#EXTINF:1.666667,\nsegment_00001.ts\n';
  t.same(parseMediaPlaylist(text), {
    segments: [
      { uri: 'segment_00000.ts', duration: 8.333333 },
      { uri: 'segment_00001.ts', duration: 1.666667 },
    ],
    endlist: false,
  });
  t.equal(parseMediaPlaylist(`${text}#EXT-X-ENDLIST\n`)?.endlist, true);
  t.equal(parseMediaPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n360p/index.m3u8\n'), undefined, 'a master playlist is not one');
  t.equal(parseMediaPlaylist('not a playlist'), undefined);
});

t.test("a publish is the domain's renditions-published: video renditions counted, the longest finished one's duration", async (t) => {
  const master = 'master.m3u8';
  t.same(
    renditionsPublishedOf({
      master,
      renditions: [
        { playlist: '720p/index.m3u8', durationMs: 12_000, width: 1280, height: 720 },
        { playlist: '360p/index.m3u8', durationMs: 12_033, width: 640, height: 360 },
        { playlist: 'audio-1/index.m3u8', durationMs: 12_040 },
      ],
    }),
    { type: 'renditions-published', videoRenditions: 2, durationSeconds: 12.04 },
  );
  t.same(
    renditionsPublishedOf({ master, renditions: [{ playlist: '360p/index.m3u8', width: 640, height: 360 }] }),
    { type: 'renditions-published', videoRenditions: 1 },
    'a rendition still being written has no duration yet',
  );
  t.same(renditionsPublishedOf({ master, renditions: [{ playlist: 'audio-1/index.m3u8', durationMs: 4_000 }] }), {
    type: 'renditions-published',
    videoRenditions: 0,
    durationSeconds: 4,
  });
});
