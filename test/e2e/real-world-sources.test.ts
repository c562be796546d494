/**
 * Every kind of source real uploads come in (issue 9), generated small with ffmpeg, uploaded
 * through the API and the pre-signed URL, and checked as a viewer gets them: through the signed
 * CloudFront path, every playlist and segment fetched with the signing query the edge signer
 * wrote. For each rendition: codec, colour tags and saturation against an SDR reference (HDR),
 * display aspect and square pixels, `idet` on the output (interlaced sources), duration against
 * the source (within a frame), channels, and the bitrate measured from segment bytes against the
 * BANDWIDTH its master declares and the ladder's budget for its size. Files that are not videos
 * end `failed` (or are refused at upload) with a reason in plain words.
 *
 * The table of what came out (renditions, measured bitrates, time to playable and to ready) is
 * written to test-artifacts/real-world-sources.md; re-measure with
 *   npx tap test/e2e/real-world-sources.test.ts
 */
import t, { type Test } from 'tap';
import HLS from 'hls-parser';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { MAX_TARGET_DURATION_SECONDS, peakBandwidthBudget } from '../../src/domain/ladder.ts';
import type { Playback } from '../../src/schemas/playback.ts';
import type { Video } from '../../src/schemas/video.ts';
import type { CreateUploadResponse } from '../../src/schemas/upload.ts';
import { IDET_FILTER, looksInterlaced, parseIdet } from '../../src/adapters/ffmpeg-hls/interlace-check.ts';
import { callApi, startTestStack } from '../helpers/stack.ts';
import { AUDIO_ONLY_KINDS, makeSource, type GeneratedSource, type SourceKind } from '../helpers/real-world-media.ts';
import { singlePut } from '../helpers/uploads.ts';

const run = promisify(execFile);
const stack = await startTestStack(t, { transcodeConcurrency: 2 });
const token = await stack.token('uploader');
const dir = await mkdtemp(path.join(tmpdir(), 'vod-real-world-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

interface MeasuredSegment {
  duration: number;
  bytes: number;
}

interface WatchedRendition {
  name: string;
  /** The signed media playlist URL, as the player fetches it. */
  url: string;
  width?: number;
  height?: number;
  bandwidth?: number;
  segments: MeasuredSegment[];
  targetDuration: number;
}

interface Watched {
  source: GeneratedSource;
  video: Video;
  playableSeconds?: number;
  readySeconds: number;
  masterText: string;
  variants: WatchedRendition[];
  audio: WatchedRendition[];
}

/** Uploads through the API and the pre-signed PUT, then waits for the end, timing playable and ready. */
async function upload(source: GeneratedSource): Promise<Video> {
  const { size } = await stat(source.file);
  const created = await callApi<CreateUploadResponse>(stack, 'POST', '/uploads', {
    token,
    // A picture renamed .mp4 gets past the request (a .png is refused there, tested below).
    body: {
      title: source.kind,
      filename: path.basename(source.file),
      contentType: source.kind === 'still-png' ? 'video/mp4' : source.contentType,
      sizeBytes: size,
    },
  });
  if (created.status !== 201) throw new Error(`POST /uploads answered ${created.status}: ${JSON.stringify(created.body)}`);
  const { videoId } = created.body;
  const put = singlePut(created.body.upload);
  const response = await fetch(put.url, { method: put.method, headers: put.headers, body: await readFile(source.file) });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`PUT answered ${response.status}`);
  return (await callApi<Video>(stack, 'GET', `/videos/${videoId}`, { token })).body;
}

async function fetchPlaylist(url: string): Promise<{ text: string; playlist: HLS.types.Playlist }> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`${new URL(url).pathname} answered ${response.status}`);
  const text = await response.text();
  return { text, playlist: HLS.parse(text) };
}

/** A media playlist and the size of every segment it names, all through the CDN. */
async function watchRendition(name: string, url: string, attributes: Partial<WatchedRendition>): Promise<WatchedRendition> {
  const { playlist: parsed } = await fetchPlaylist(url);
  if (parsed.isMasterPlaylist) throw new Error(`${name} is not a media playlist`);
  const playlist = parsed as HLS.types.MediaPlaylist;
  const segments = await Promise.all(
    playlist.segments.map(async (segment) => {
      const response = await fetch(new URL(segment.uri, url));
      if (response.status !== 200) throw new Error(`a segment of ${name} answered ${response.status}`);
      return { duration: segment.duration, bytes: (await response.arrayBuffer()).byteLength };
    }),
  );
  return { name, url, segments, targetDuration: playlist.targetDuration, ...attributes };
}

async function uploadAndWatch(source: GeneratedSource): Promise<Watched> {
  const created = await upload(source);
  const started = Date.now();
  let playableSeconds: number | undefined;
  let video = created;
  for (;;) {
    video = (await callApi<Video>(stack, 'GET', `/videos/${created.videoId}`, { token })).body;
    if (video.playable && playableSeconds === undefined) playableSeconds = (Date.now() - started) / 1000;
    if (video.status === 'ready' || video.status === 'failed') break;
    if (Date.now() - started > 240_000) throw new Error(`${source.kind} still ${video.status}`);
    // A quarter of a second: fine enough for the table, and the API is not kept busy meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const readySeconds = (Date.now() - started) / 1000;
  if (video.status !== 'ready') return { source, video, readySeconds, masterText: '', variants: [], audio: [] };
  const playback = await callApi<Playback>(stack, 'GET', `/videos/${video.videoId}/playback`, { token });
  const manifestUrl = playback.body.manifestUrl;
  const { text: masterText, playlist: parsed } = await fetchPlaylist(manifestUrl);
  if (!parsed.isMasterPlaylist) throw new Error('not a master playlist');
  const master = parsed as HLS.types.MasterPlaylist;
  const variants = await Promise.all(
    master.variants.map((variant) =>
      watchRendition(variant.uri.split('/')[0]!, new URL(variant.uri, manifestUrl).href, {
        ...(variant.resolution ? { width: variant.resolution.width, height: variant.resolution.height } : {}),
        bandwidth: variant.bandwidth,
      }),
    ),
  );
  const audioRenditions = master.variants[0]?.audio ?? [];
  const audio = await Promise.all(audioRenditions.map((rendition) => watchRendition(rendition.name, new URL(rendition.uri!, manifestUrl).href, {})));
  return { source, video, playableSeconds, readySeconds, masterText, variants, audio };
}

const kinds: SourceKind[] = [
  'web-ready-720p',
  'sdr-reference',
  'hlg',
  'pq',
  'dolby-vision-8.4',
  'camera-bitrate',
  'phone-720p',
  'vfr-dropped-frames',
  'anamorphic-dvd',
  'hdv',
  'interlaced',
  'interlaced-unflagged',
  'surround-5.1',
  'two-languages',
  'pal-576p',
  ...AUDIO_ONLY_KINDS,
  'still-png',
  'text',
  'tiny-16',
  'corrupt-middle',
  'corrupt-most',
];
const sources = new Map<SourceKind, GeneratedSource>();
for (const kind of kinds) sources.set(kind, await makeSource(kind, dir));

// Two at a time, as the worker runs two transcodes at a time: every result is waited for below.
const results = new Map<SourceKind, Promise<Watched>>();
{
  const queue = [...kinds];
  const next = async (): Promise<void> => {
    const kind = queue.shift();
    if (!kind) return;
    const watched = uploadAndWatch(sources.get(kind)!);
    results.set(kind, watched);
    await watched.catch(() => undefined);
    return next();
  };
  // Register every promise first, so a subtest never waits on a missing key.
  const workers = [next(), next()];
  while (results.size < kinds.length) await new Promise((resolve) => setTimeout(resolve, 20));
  void Promise.all(workers);
}
const watched = (kind: SourceKind) => results.get(kind)!;

// --- what the viewer's player reads ----------------------------------------------------------

interface StreamInfo {
  codec_name?: string;
  codec_type?: string;
  width?: number;
  height?: number;
  sample_aspect_ratio?: string;
  color_transfer?: string;
  color_primaries?: string;
  channels?: number;
  field_order?: string;
}

const probed = new Map<string, Promise<StreamInfo[]>>();
/** The streams of a rendition as ffprobe reads them through the CDN (once per rendition: several checks read them). */
function streamsOf(url: string): Promise<StreamInfo[]> {
  let streams = probed.get(url);
  if (!streams) {
    streams = run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', url], { maxBuffer: 8 * 1024 * 1024 }).then(
      ({ stdout }) => (JSON.parse(stdout) as { streams: StreamInfo[] }).streams,
    );
    probed.set(url, streams);
  }
  return streams;
}

/** Mean of a signalstats key over every frame. */
async function meanStat(url: string, key: 'SATAVG' | 'YAVG'): Promise<number> {
  const { stdout } = await run(
    'ffmpeg',
    ['-v', 'error', '-i', url, '-vf', `signalstats,metadata=print:key=lavfi.signalstats.${key}:file=-`, '-f', 'null', '-'],
    { maxBuffer: 32 * 1024 * 1024 },
  );
  const values = [...stdout.matchAll(new RegExp(`${key}=([\\d.]+)`, 'g'))].map((m) => Number(m[1]));
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** Decoded length in seconds (last frame's time plus one frame) and the frame duration. */
async function decodedLength(url: string, select = 'v:0'): Promise<number> {
  const { stdout } = await run(
    'ffprobe',
    ['-v', 'error', '-select_streams', select, '-show_entries', 'frame=pts_time,duration_time,pkt_duration_time', '-of', 'csv=p=0', url],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const frames = stdout
    .trim()
    .split('\n')
    .map((line) => line.split(',').map(Number));
  const first = frames[0]![0]!;
  const last = frames.at(-1)!;
  const frameDuration = last.slice(1).find((v) => Number.isFinite(v) && v > 0) ?? 0;
  return last[0]! + frameDuration - first;
}

const bitrate = (segments: MeasuredSegment[]) => {
  const seconds = segments.reduce((sum, s) => sum + s.duration, 0);
  const bits = segments.reduce((sum, s) => sum + s.bytes * 8, 0);
  // The ladder's own rule: a sliver of a last segment is no peak.
  const counted = segments.length > 1 && segments.at(-1)!.duration < 2 ? segments.slice(0, -1) : segments;
  return { average: bits / seconds, peak: Math.max(...counted.map((s) => (s.bytes * 8) / s.duration)) };
};

/** What every published video must be, whatever its source. */
async function assertLadderPromises(t: Test, watched: Watched) {
  t.equal(watched.video.status, 'ready', `${watched.source.kind}: ${JSON.stringify(watched.video.error)}`);
  for (const rendition of watched.variants) {
    const { peak } = bitrate(rendition.segments);
    t.ok(
      peak <= rendition.bandwidth!,
      `${rendition.name}: measured peak ${(peak / 1e6).toFixed(2)} Mbit/s within its BANDWIDTH ${(rendition.bandwidth! / 1e6).toFixed(2)}`,
    );
    if (rendition.width) {
      const budget = peakBandwidthBudget(Math.min(rendition.width, rendition.height!), true);
      t.ok(
        rendition.bandwidth! <= budget,
        `${rendition.name}: BANDWIDTH ${(rendition.bandwidth! / 1e6).toFixed(2)} within the ladder's budget ${(budget / 1e6).toFixed(2)} Mbit/s`,
      );
    }
    for (const segment of rendition.segments) {
      t.ok(
        Math.round(segment.duration) <= rendition.targetDuration,
        `${rendition.name}: a ${segment.duration} s segment within its target ${rendition.targetDuration}`,
      );
    }
    t.ok(rendition.targetDuration <= MAX_TARGET_DURATION_SECONDS, `${rendition.name}: target duration ${rendition.targetDuration}`);
  }
  // Every rendition cuts at the same times, and audio is stereo everywhere.
  const cuts = watched.variants.map((r) => r.segments.map((s) => s.duration.toFixed(2)).join(' '));
  t.equal(new Set(cuts).size, Math.min(1, cuts.length), `every video rendition cuts at the same times (${cuts[0]})`);
  for (const rendition of [...watched.variants, ...watched.audio]) {
    const audio = (await streamsOf(rendition.url)).filter((s) => s.codec_type === 'audio');
    for (const stream of audio) t.equal(stream.channels, 2, `${rendition.name}: stereo`);
  }
}

/** The rendition as ffprobe reads it through the CDN. */
async function videoStream(rendition: WatchedRendition): Promise<StreamInfo> {
  return (await streamsOf(rendition.url)).find((s) => s.codec_type === 'video')!;
}

const reference = await (async () => {
  const source = sources.get('sdr-reference')!;
  return { saturation: await meanStat(source.file, 'SATAVG'), luma: await meanStat(source.file, 'YAVG') };
})();

t.test("web-ready 720p: packaged as its top rendition, playable before it is ready, within the ladder's promises", async (t) => {
  const result = await watched('web-ready-720p');
  await assertLadderPromises(t, result);
  t.same(
    result.video.renditions?.map((r) => r.name),
    ['720p', '540p', '360p'],
  );
  t.ok(
    result.playableSeconds !== undefined && result.playableSeconds < result.readySeconds,
    `playable after ${result.playableSeconds} s, ready after ${result.readySeconds} s`,
  );
  // The same pictures, bit for bit: MD5 of the first decoded frames, timestamps left out.
  const frames = async (input: string) => {
    const { stdout } = await run('ffmpeg', ['-v', 'error', '-i', input, '-map', '0:v:0', '-frames:v', '30', '-f', 'framehash', '-hash', 'md5', '-'], {
      maxBuffer: 8 * 1024 * 1024,
    });
    return stdout
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => line.split(',').at(-1)!.trim());
  };
  const [packaged, source] = await Promise.all([frames(result.variants[0]!.url), frames(result.source.file)]);
  t.equal(packaged.length, 30);
  t.same(packaged, source, "the top rendition is the source's own stream, not re-encoded");
});

for (const kind of ['hlg', 'pq', 'dolby-vision-8.4'] as const) {
  t.test(`${kind}: SDR BT.709 renditions whose colours stay close to the SDR original`, async (t) => {
    const result = await watched(kind);
    await assertLadderPromises(t, result);
    const [rendition] = result.variants;
    const stream = await videoStream(rendition!);
    t.match(stream, { codec_name: 'h264', color_transfer: 'bt709', color_primaries: 'bt709' }, 'tagged BT.709');
    const saturation = await meanStat(rendition!.url, 'SATAVG');
    const luma = await meanStat(rendition!.url, 'YAVG');
    t.ok(
      saturation >= 0.8 * reference.saturation && saturation <= 1.2 * reference.saturation,
      `saturation ${saturation.toFixed(1)} against the SDR original's ${reference.saturation.toFixed(1)} (a copy of HLG pixels gives about 40)`,
    );
    t.ok(luma >= 0.85 * reference.luma && luma <= 1.2 * reference.luma, `brightness ${luma.toFixed(1)} against ${reference.luma.toFixed(1)}`);
  });
}

for (const kind of ['camera-bitrate', 'phone-720p'] as const) {
  t.test(`${kind}: encoded to the ladder's bitrates with 4 s segments, not published at its own bitrate`, async (t) => {
    const result = await watched(kind);
    await assertLadderPromises(t, result);
    const top = result.variants[0]!;
    const { average } = bitrate(top.segments);
    const sourceBitrate = ((await stat(result.source.file)).size * 8) / result.source.seconds;
    // A clip of a few seconds can spend its whole encoder buffer at once: its average is bounded
    // by the peak budget, not the nominal rate (over minutes it settles at the nominal rate).
    const budget = peakBandwidthBudget(Math.min(top.width!, top.height!), true);
    t.ok(average <= budget, `${top.name} averages ${(average / 1e6).toFixed(2)} Mbit/s, within its budget ${(budget / 1e6).toFixed(2)}`);
    t.ok(average < sourceBitrate / 2.5, `not the source's ${(sourceBitrate / 1e6).toFixed(1)} Mbit/s`);
    t.same(
      top.segments.slice(0, -1).map((s) => Math.round(s.duration)),
      top.segments.slice(0, -1).map(() => 4),
      '4 s segments',
    );
    t.same(
      result.video.renditions?.map((r) => r.name),
      kind === 'camera-bitrate' ? ['1080p', '720p', '540p', '360p'] : ['720p', '540p', '360p'],
    );
  });
}

t.test('variable frame rate with dropped frames: every rendition lasts as long as the source, cut at the same times', async (t) => {
  const result = await watched('vfr-dropped-frames');
  await assertLadderPromises(t, result);
  const frame = 1 / 30;
  for (const rendition of result.variants) {
    const length = await decodedLength(rendition.url);
    t.ok(Math.abs(length - result.source.seconds) <= frame + 0.001, `${rendition.name} lasts ${length.toFixed(3)} s of ${result.source.seconds}`);
    const listed = rendition.segments.reduce((sum, s) => sum + s.duration, 0);
    t.ok(Math.abs(listed - result.source.seconds) <= frame + 0.001, `and its playlist says ${listed.toFixed(3)} s`);
  }
  t.equal(result.variants.length, 2);
});

for (const [kind, sizes] of [
  [
    'anamorphic-dvd',
    [
      [854, 480],
      [640, 360],
    ],
  ],
  [
    'hdv',
    [
      [1920, 1080],
      [1280, 720],
      [960, 540],
      [640, 360],
    ],
  ],
  [
    'pal-576p',
    [
      [960, 540],
      [640, 360],
    ],
  ],
] as const) {
  t.test(`${kind}: square pixels at the source's display aspect, its resolution class kept`, async (t) => {
    const result = await watched(kind);
    await assertLadderPromises(t, result);
    t.same(
      result.variants.map((r) => [r.width, r.height]),
      sizes,
    );
    for (const rendition of result.variants) {
      const stream = await videoStream(rendition);
      t.ok(['1:1', undefined, 'N/A'].includes(stream.sample_aspect_ratio), `${rendition.name}: square pixels (${stream.sample_aspect_ratio})`);
      t.ok(Math.abs(stream.width! / stream.height! - 16 / 9) < 0.01, `${rendition.name}: 16:9 on screen (${stream.width}x${stream.height})`);
    }
  });
}

for (const kind of ['interlaced', 'interlaced-unflagged'] as const) {
  t.test(`${kind}: deinterlaced, no combing left in any rendition`, async (t) => {
    const result = await watched(kind);
    await assertLadderPromises(t, result);
    const idet = async (url: string) => {
      const { stderr } = await run(
        'ffmpeg',
        ['-hide_banner', '-nostdin', '-v', 'info', '-nostats', '-i', url, '-map', '0:V:0', '-vf', IDET_FILTER, '-an', '-f', 'null', '-'],
        { maxBuffer: 16 * 1024 * 1024 },
      );
      return parseIdet(stderr)!;
    };
    const before = await idet(result.source.file);
    t.ok(looksInterlaced(before), `the source is combed (${JSON.stringify(before)})`);
    for (const rendition of result.variants) {
      const after = await idet(rendition.url);
      t.notOk(looksInterlaced(after), `${rendition.name} is progressive (${JSON.stringify(after)})`);
      const stream = await videoStream(rendition);
      t.ok(['progressive', undefined, 'unknown'].includes(stream.field_order), `${rendition.name} says progressive`);
    }
  });
}

t.test('5.1: a proper stereo downmix in every rendition, the centre in both channels', async (t) => {
  const result = await watched('surround-5.1');
  await assertLadderPromises(t, result);
  // The centre channel's 660 Hz tone must be in both outputs (mixed at -3 dB), the LFE's 60 Hz in neither.
  const rendition = result.variants[0]!;
  const level = async (channel: 'FL' | 'FR', frequency: number) => {
    const { stderr } = await run(
      'ffmpeg',
      [
        '-v',
        'info',
        '-nostats',
        '-i',
        rendition.url,
        '-af',
        `pan=mono|c0=${channel},bandpass=f=${frequency}:width_type=q:w=20,volumedetect`,
        '-f',
        'null',
        '-',
      ],
      { maxBuffer: 8 * 1024 * 1024 },
    );
    return Number(/mean_volume: (-?[\d.]+) dB/.exec(stderr)?.[1]);
  };
  for (const channel of ['FL', 'FR'] as const) {
    const centre = await level(channel, 660);
    const lfe = await level(channel, 60);
    t.ok(centre > -30, `${channel} carries the centre (${centre} dB)`);
    t.ok(lfe < centre - 20, `${channel} leaves the LFE out (${lfe} dB)`);
  }
});

t.test('two audio tracks: alternate audio renditions with language and name, the first the default', async (t) => {
  const result = await watched('two-languages');
  await assertLadderPromises(t, result);
  t.same(result.video.audioTracks, [
    { name: 'English', language: 'en', default: true },
    { name: 'Commentaire', language: 'fr', default: false },
  ]);
  t.match(
    result.masterText,
    /#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio-1\/index\.m3u8\?/,
  );
  t.match(result.masterText, /#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Commentaire",LANGUAGE="fr",DEFAULT=NO/);
  t.match(result.masterText, /CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2",AUDIO="audio"/);
  t.equal(result.audio.length, 2);
  for (const rendition of result.audio) {
    const length = await decodedLength(rendition.url, 'a:0');
    t.ok(Math.abs(length - result.source.seconds) < 0.1, `${rendition.name} lasts ${length.toFixed(2)} s`);
  }
  const video = await streamsOf(result.variants[0]!.url);
  t.notOk(
    video.some((s) => s.codec_type === 'audio'),
    'the video renditions carry no audio of their own',
  );
});

for (const kind of AUDIO_ONLY_KINDS) {
  t.test(`${kind}: accepted, and published as an audio-only stream`, async (t) => {
    const result = await watched(kind);
    t.equal(result.video.status, 'ready', JSON.stringify(result.video.error));
    t.equal(result.video.audioOnly, true, 'the API says it is audio only');
    t.same(result.video.renditions, [], 'no video renditions');
    t.match(result.masterText, /#EXT-X-STREAM-INF:BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,CODECS="mp4a\.40\.2"\naudio-1\/index\.m3u8\?/);
    const [rendition] = result.variants;
    const streams = await streamsOf(rendition!.url);
    t.match(streams, [{ codec_type: 'audio', codec_name: 'aac', channels: 2 }]);
    const length = await decodedLength(rendition!.url, 'a:0');
    t.ok(Math.abs(length - result.source.seconds) < 0.1, `plays ${length.toFixed(2)} s of ${result.source.seconds}`);
  });
}

for (const [kind, code, message] of [
  ['still-png', 'still-image', 'This is a still image, not a video.'],
  ['text', 'text-file', 'This is a text file, not a video.'],
  ['tiny-16', 'picture-too-small', 'The picture is too small (16x16 pixels): a video needs at least 32 pixels on each side.'],
  ['corrupt-most', '1999', /^The video is too damaged to convert: (about \d+%|most) of its pictures could not be decoded\.$/],
] as const) {
  t.test(`${kind}: failed, with a reason in plain words`, async (t) => {
    const result = await watched(kind);
    t.match(result.video, { status: 'failed', error: { code, message } });
  });
}

t.test('a source damaged in the middle is ready, with a warning the API shows', async (t) => {
  const result = await watched('corrupt-middle');
  await assertLadderPromises(t, result);
  t.match(result.video.warnings, [
    { code: 'LOCAL_DECODE_DAMAGE', message: /^Part of the video is damaged: \d+ pictures? .*could not be decoded and may show as glitches\.$/ },
  ]);
});

t.test('what the upload request already shows is refused at once, in plain words', async (t) => {
  const request = (contentType: string, sizeBytes: number) =>
    callApi(stack, 'POST', '/uploads', { token, body: { title: 'x', filename: 'x', contentType, sizeBytes } });
  t.match(await request('image/png', 8828), { status: 415, body: { detail: 'This is a still image (image/png), not a video: upload a video or audio file.' } });
  t.match(await request('text/plain', 52), { status: 415, body: { detail: 'This is a text file (text/plain), not a video: upload a video or audio file.' } });
  t.match(await request('video/mp4', 0), { status: 400, body: { detail: 'The file is empty (0 bytes): choose a video or audio file.' } });
  t.match(await request('application/pdf', 100), { status: 415, body: { detail: /application\/pdf is not a video or audio content type/ } });
  t.match(await request('audio/mpeg', 100), { status: 201 }, 'audio is welcome');
});

t.test('the table of what came out', async (t) => {
  const rows: string[] = [];
  for (const kind of kinds) {
    const result = await watched(kind).catch(() => undefined);
    if (!result) continue;
    const renditions =
      result.video.status === 'ready'
        ? [...result.variants, ...result.audio]
            .map((r) => `${r.width ? `${r.width}x${r.height}` : r.name} ${(bitrate(r.segments).average / 1e6).toFixed(2)}`)
            .join(', ')
        : `failed: ${result.video.error?.message}`;
    rows.push(`| ${kind} | ${renditions} | ${result.playableSeconds?.toFixed(2) ?? '-'} | ${result.readySeconds.toFixed(2)} |`);
  }
  const table = [
    '| source | renditions (measured average Mbit/s) | upload → playable (s) | upload → ready (s) |',
    '|---|---|---|---|',
    ...rows,
    '',
    'Re-measure: `npx tap test/e2e/real-world-sources.test.ts` (2 transcodes at a time on this machine).',
    '',
  ].join('\n');
  await mkdir('test-artifacts', { recursive: true });
  await writeFile('test-artifacts/real-world-sources.md', table);
  t.equal(rows.length, kinds.length, 'a row for every source');
});
