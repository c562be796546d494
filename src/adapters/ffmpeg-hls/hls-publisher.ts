/**
 * Publishes ffmpeg's HLS output to storage while ffmpeg is still writing it.
 *
 * ffmpeg writes each rendition as an EVENT playlist (rewritten through a temp file after every
 * segment, so a read never sees half a playlist). `sync()` reads those playlists and uploads every
 * segment they list that is not uploaded yet, streaming it from disk (memory stays bounded by the
 * upload concurrency, not by the video), then deletes it locally (the first segment of each
 * rendition is kept: CODECS and the poster are read from it). A rendition that is LISTED in the
 * master gets its playlist uploaded after its segments: as an EVENT playlist while ffmpeg writes it,
 * as a VOD playlist once ffmpeg has ended it. `publish()` lists renditions and rewrites the master.
 *
 * Order of writes keeps every published name resolvable: segments before the playlist naming
 * them, playlists before the master naming them.
 */
import { createReadStream } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import pRetry from 'p-retry';
import { frameRateValue, type FrameRate } from '../../domain/ladder.ts';
import type { TranscodeUpdate } from '../../schemas/transcode-update.ts';
import { measureBandwidth } from '../../domain/transcode-plan.ts';
import { longestDurationSeconds } from '../../domain/ports/transcoder.ts';
import { MASTER_PLAYLIST } from '../../shared/stream-files.ts';
import { AAC_LC_CODEC, codecsOf } from './ffmpeg-ladder.ts';

const PLAYLIST_CONTENT_TYPE = 'application/vnd.apple.mpegurl';
const UPLOAD_ATTEMPTS = 4;
/** The version ffmpeg 5.1 writes in media playlists with independent segments; the master matches. */
const HLS_VERSION = 6;

/**
 * What a publish put out, relative to the prefix: the master (its whole key when it was put
 * elsewhere, `createMaster`), and each rendition it lists, largest picture first.
 */
export interface PublishedGroup {
  master: string;
  renditions: Array<{
    playlist: string;
    /** Only a finished rendition has a duration. */
    durationMs?: number;
    /** A video rendition's picture; an audio rendition has none. */
    width?: number;
    height?: number;
  }>;
}

type RenditionsPublished = Extract<TranscodeUpdate, { type: 'renditions-published' }>;

/** The domain's news of a publish (fast start): how many video renditions the master lists, and how long a finished one lasts. */
export function renditionsPublishedOf(group: PublishedGroup): Omit<RenditionsPublished, 'videoId' | 'jobId'> {
  const durationSeconds = longestDurationSeconds(group.renditions.map((rendition) => rendition.durationMs));
  return {
    type: 'renditions-published',
    videoRenditions: group.renditions.filter((rendition) => rendition.width !== undefined).length,
    ...(durationSeconds === undefined ? {} : { durationSeconds }),
  };
}

/** A rendition as the publisher sees it: a folder, and what the master says of it. */
export type PublishedOutput =
  | { kind: 'video'; name: string; width: number; height: number; frameRate?: FrameRate }
  | {
      kind: 'audio';
      name: string;
      /** HLS NAME. */
      title: string;
      /** HLS LANGUAGE. */
      language?: string;
      default: boolean;
    };

export interface PublishedSegment {
  uri: string;
  /** Seconds, from EXTINF. */
  duration: number;
  bytes: number;
}

export interface HlsPublisherOptions {
  s3: S3Client;
  bucket: string;
  /** `video-streams/{videoId}/`. */
  prefix: string;
  /** ffmpeg's output folder: `<outDir>/<rendition>/index.m3u8` and its segments. */
  outDir: string;
  signal: AbortSignal;
  /** Uploads at the same time, across renditions; default 4. */
  uploadConcurrency?: number;
  /**
   * CODECS of a rendition when the caller knows them (from the source's probe, or from the master
   * ffmpeg wrote), saving an ffprobe of its first segment.
   */
  knownCodecs?: (name: string) => Promise<string | undefined>;
  /**
   * The master elsewhere than `<prefix>index.m3u8`, written only if no object has its key yet
   * (S3's conditional write). Fast start publishes its first rendition under a folder of its own
   * and lists it in the video's own master: the full ladder's master, once written, must never be
   * replaced by the first rendition's. Such a master is written once; a later publish is refused.
   */
  createMaster?: { key: string };
}

/** The master was not written: one is there already (the full ladder's, or an earlier attempt's). */
export class MasterExistsError extends Error {
  override name = 'MasterExistsError';
}

interface Tracked {
  output: PublishedOutput;
  /** Uploaded, in playback order. */
  segments: PublishedSegment[];
  /** The last local playlist whose segments are all uploaded. */
  text?: string;
  ended: boolean;
  listed: boolean;
  /** The playlist text last uploaded. */
  uploaded?: string;
  /** mtime, size and inode of the local playlist when last read. */
  version?: string;
  codecs?: string;
  /**
   * Segments an earlier attempt of the job already published for this rendition: its playlist is
   * not republished shorter than that (players never see segments disappear).
   */
  floor: number;
}

export interface HlsPublisher {
  /** Starts watching `<outDir>/<name>/` (again from scratch if it was watched before). */
  track(output: PublishedOutput): void;
  /** Forgets a rendition that is not going to be published (an abandoned remux). */
  untrack(name: string): void;
  /** Reads what an earlier attempt published for these renditions (see Tracked.floor). */
  loadFloors(names: string[]): Promise<void>;
  /** The segments ffmpeg has finished for a rendition, uploaded or not (reads its playlist). */
  peek(name: string): Promise<PublishedSegment[]>;
  /** Uploads what is new; serialised, so calls never overlap. */
  sync(): Promise<void>;
  segments(name: string): PublishedSegment[];
  ended(name: string): boolean;
  /** The first segment on disk, for the poster. */
  firstSegmentFile(name: string): string;
  /** Lists renditions in the master (uploading their playlists first) and uploads the master. */
  publish(names: string[]): Promise<PublishedGroup>;
  /** Streams a local file to `<prefix><relative>`, retrying dropped connections. */
  putFile(relative: string, file: string, contentType: string): Promise<void>;
  /** The object key of a file under the prefix, and its s3:// URI. */
  key(relative: string): string;
  s3Uri(relative: string): string;
}

/** A rendition's media playlist, relative to its master (ffmpeg's and the published one alike). */
export const playlistOf = (name: string) => `${name}/index.m3u8`;

/** Largest first: the order of the master, and of the API's renditions. */
const byArea = (a: { width: number; height: number }, b: { width: number; height: number }) => b.width * b.height - a.width * a.height;

type MasterEntry = PublishedOutput & { segments: PublishedSegment[]; codecs: string };

const AUDIO_GROUP = 'audio';
/** A quoted-string (RFC 8216 4.2) cannot hold a double quote or a line break; plan names have neither. */
const quoted = (text: string) => `"${text.replace(/["\r\n]/g, '')}"`;

/**
 * The multivariant playlist for these renditions. Video renditions are variants, largest first.
 * Audio renditions beside them are alternate renditions of one group (EXT-X-MEDIA, the first the
 * default), and each variant names the group and counts the largest of them in its BANDWIDTH; with
 * no video at all, each audio rendition is a variant of its own.
 */
export function masterPlaylistText(outputs: MasterEntry[], uriOf: (name: string) => string = playlistOf): string {
  const lines = [
    '#EXTM3U',
    `#EXT-X-VERSION:${HLS_VERSION}`,
    '#EXT-X-INDEPENDENT-SEGMENTS',
    // A rendition may be published while it is still being written (an EVENT playlist); players
    // would start such a playlist near its live edge. Viewers of a video start at its beginning.
    '#EXT-X-START:TIME-OFFSET=0',
  ];
  const video = outputs.filter((o): o is MasterEntry & { kind: 'video' } => o.kind === 'video').sort(byArea);
  const audio = outputs.filter((o): o is MasterEntry & { kind: 'audio' } => o.kind === 'audio');
  const bandwidth = (entry: MasterEntry) => {
    const { peak, average } = measureBandwidth(entry.segments);
    return { peak: Math.max(1, peak), average: Math.max(1, average) };
  };
  if (video.length === 0) {
    for (const entry of audio) {
      const { peak, average } = bandwidth(entry);
      lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${peak},AVERAGE-BANDWIDTH=${average},CODECS="${entry.codecs || AAC_LC_CODEC}"`, uriOf(entry.name));
    }
    return `${lines.join('\n')}\n`;
  }
  let audioPeak = 0;
  let audioAverage = 0;
  for (const entry of audio) {
    const { peak, average } = bandwidth(entry);
    audioPeak = Math.max(audioPeak, peak);
    audioAverage = Math.max(audioAverage, average);
    const attributes = [
      'TYPE=AUDIO',
      `GROUP-ID="${AUDIO_GROUP}"`,
      `NAME=${quoted(entry.title)}`,
      ...(entry.language ? [`LANGUAGE="${entry.language}"`] : []),
      `DEFAULT=${entry.default ? 'YES' : 'NO'}`,
      'AUTOSELECT=YES',
      'CHANNELS="2"',
      `URI="${uriOf(entry.name)}"`,
    ];
    lines.push(`#EXT-X-MEDIA:${attributes.join(',')}`);
  }
  for (const entry of video) {
    const { peak, average } = bandwidth(entry);
    const codecs = [entry.codecs, ...(audio.length > 0 && !entry.codecs.includes('mp4a') ? [AAC_LC_CODEC] : [])].filter(Boolean).join(',');
    const attributes = [
      `BANDWIDTH=${peak + audioPeak}`,
      `AVERAGE-BANDWIDTH=${average + audioAverage}`,
      `RESOLUTION=${entry.width}x${entry.height}`,
      ...(entry.frameRate ? [`FRAME-RATE=${frameRateValue(entry.frameRate).toFixed(3)}`] : []),
      ...(codecs ? [`CODECS="${codecs}"`] : []),
      ...(audio.length > 0 ? [`AUDIO="${AUDIO_GROUP}"`] : []),
    ];
    lines.push(`#EXT-X-STREAM-INF:${attributes.join(',')}`, uriOf(entry.name));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * The media playlist as published: ffmpeg's text, with EXT-X-START while it is an EVENT playlist
 * (as in the master, for players that read it there), and typed VOD once ffmpeg has ended it.
 */
export function publishedPlaylistText(text: string, ended: boolean): string {
  if (ended) return text.replace('#EXT-X-PLAYLIST-TYPE:EVENT', '#EXT-X-PLAYLIST-TYPE:VOD');
  return text.includes('#EXT-X-START:') ? text : text.replace('#EXT-X-PLAYLIST-TYPE:EVENT', '#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-START:TIME-OFFSET=0');
}

/**
 * The segments (EXTINF and URI) and the end mark of a media playlist as ffmpeg writes it. A long
 * video's playlist is read again after every segment while it grows, so this reads lines and
 * nothing more (hls-parser builds a full object model each time).
 */
export function parseMediaPlaylist(text: string): { segments: Array<{ uri: string; duration: number }>; endlist: boolean } | undefined {
  if (!text.startsWith('#EXTM3U') || text.includes('#EXT-X-STREAM-INF')) return undefined;
  const segments: Array<{ uri: string; duration: number }> = [];
  let duration: number | undefined;
  let endlist = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#EXTINF:')) duration = Number.parseFloat(line.slice(8));
    else if (line === '#EXT-X-ENDLIST') endlist = true;
    else if (line && !line.startsWith('#') && duration !== undefined) {
      segments.push({ uri: line.trim(), duration });
      duration = undefined;
    }
  }
  return { segments, endlist };
}

const isMissing = (error: unknown) =>
  (error as NodeJS.ErrnoException).code === 'ENOENT' ||
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404 ||
  (error as { name?: string }).name === 'NoSuchKey';

export function createHlsPublisher(options: HlsPublisherOptions): HlsPublisher {
  const { s3, bucket, prefix, outDir, signal } = options;
  const limit = pLimit(options.uploadConcurrency ?? 4);
  const tracked = new Map<string, Tracked>();
  const floors = new Map<string, number>();
  let syncing: Promise<void> = Promise.resolve();

  const key = (relative: string) => (prefix.endsWith('/') || prefix === '' ? `${prefix}${relative}` : `${prefix}/${relative}`);
  const s3Uri = (relative: string) => `s3://${bucket}/${key(relative)}`;
  const createMaster = options.createMaster;
  /** A rendition's playlist as the master names it: relative to the master's folder. */
  const uriInMaster = createMaster ? (name: string) => path.posix.relative(path.posix.dirname(createMaster.key), key(playlistOf(name))) : playlistOf;
  let masterCreated = false;

  function get(name: string): Tracked {
    const found = tracked.get(name);
    if (!found) throw new Error(`Rendition ${name} is not tracked`);
    return found;
  }

  async function putText(relative: string, text: string): Promise<void> {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key(relative), Body: text, ContentType: PLAYLIST_CONTENT_TYPE }), { abortSignal: signal });
  }

  /**
   * Streams a file into an object. The SDK cannot retry a streamed body (it has been consumed),
   * so this does, with a fresh stream: a dropped keep-alive connection must not fail the job.
   */
  async function putFile(relative: string, file: string, size: number, contentType: string): Promise<void> {
    await pRetry(
      () =>
        s3.send(new PutObjectCommand({ Bucket: bucket, Key: key(relative), Body: createReadStream(file), ContentLength: size, ContentType: contentType }), {
          abortSignal: signal,
        }),
      { retries: UPLOAD_ATTEMPTS - 1, minTimeout: 200, factor: 2, signal },
    );
  }

  async function readLocal(name: string): Promise<string | undefined> {
    try {
      return await readFile(path.join(outDir, playlistOf(name)), 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined; // ffmpeg has not finished a segment yet
      throw error;
    }
  }

  function parseMedia(text: string, name: string) {
    const media = parseMediaPlaylist(text);
    if (!media) throw new Error(`${playlistOf(name)} is not a media playlist`);
    return media;
  }

  async function uploadSegment(rendition: Tracked, uri: string, index: number): Promise<number> {
    const relative = `${rendition.output.name}/${uri}`;
    const file = path.join(outDir, relative);
    const { size } = await stat(file);
    await putFile(relative, file, size, 'video/mp2t');
    if (index > 0) await rm(file, { force: true }); // the first stays for CODECS and the poster
    return size;
  }

  async function uploadPlaylist(rendition: Tracked): Promise<void> {
    if (!rendition.text) return;
    // After a retry the earlier, longer playlist stays until this one has caught up with it.
    if (!rendition.ended && rendition.segments.length < rendition.floor) return;
    const text = publishedPlaylistText(rendition.text, rendition.ended);
    if (text === rendition.uploaded) return;
    await putText(playlistOf(rendition.output.name), text);
    rendition.uploaded = text;
  }

  async function syncOne(rendition: Tracked): Promise<void> {
    if (rendition.ended) return;
    // ffmpeg replaces the playlist once per segment; between, a stat is all a look costs.
    const version = await stat(path.join(outDir, playlistOf(rendition.output.name))).then(
      (info) => `${info.mtimeMs}:${info.size}:${info.ino}`,
      (error: unknown) => {
        if (isMissing(error)) return undefined;
        throw error;
      },
    );
    if (version === undefined || version === rendition.version) return;
    rendition.version = version;
    const text = await readLocal(rendition.output.name);
    if (text === undefined || text === rendition.text) return;
    const media = parseMedia(text, rendition.output.name);
    const fresh = media.segments.slice(rendition.segments.length);
    const start = rendition.segments.length;
    const sizes = await Promise.all(fresh.map((segment, i) => limit(() => uploadSegment(rendition, segment.uri, start + i))));
    rendition.segments.push(...fresh.map((segment, i) => ({ uri: segment.uri, duration: segment.duration, bytes: sizes[i]! })));
    rendition.text = text;
    rendition.ended = media.endlist;
    if (rendition.listed) await uploadPlaylist(rendition);
  }

  return {
    key,
    s3Uri,
    putFile: async (relative, file, contentType) => putFile(relative, file, (await stat(file)).size, contentType),

    track(output) {
      tracked.set(output.name, { output, segments: [], ended: false, listed: false, floor: floors.get(output.name) ?? 0 });
    },

    untrack(name) {
      tracked.delete(name);
    },

    async loadFloors(names) {
      await Promise.all(
        names.map(async (name) => {
          try {
            const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key(playlistOf(name)) }), { abortSignal: signal });
            const media = parseMedia(await object.Body!.transformToString('utf8'), name);
            floors.set(name, media.segments.length);
            const existing = tracked.get(name);
            if (existing) existing.floor = media.segments.length;
          } catch (error) {
            if (!isMissing(error)) throw error;
          }
        }),
      );
    },

    async peek(name) {
      const text = await readLocal(name);
      if (text === undefined) return [];
      return parseMedia(text, name).segments.map((s) => ({ uri: s.uri, duration: s.duration, bytes: 0 }));
    },

    sync() {
      const run = syncing.then(() => Promise.all([...tracked.values()].map(syncOne))).then(() => undefined);
      syncing = run.catch(() => undefined);
      return run;
    },

    segments: (name) => get(name).segments,
    ended: (name) => get(name).ended,

    firstSegmentFile(name) {
      const first = get(name).segments[0];
      if (!first) throw new Error(`Rendition ${name} has no segment yet`);
      return path.join(outDir, name, first.uri);
    },

    async publish(names) {
      await syncing;
      for (const name of names) {
        const rendition = get(name);
        if (rendition.segments.length === 0) throw new Error(`Rendition ${name} has no segment to publish`);
        rendition.listed = true;
        rendition.codecs ??= (await options.knownCodecs?.(name)) || (await codecsOf(path.join(outDir, name, rendition.segments[0]!.uri)));
        await uploadPlaylist(rendition);
      }
      const listed = [...tracked.values()].filter((r) => r.listed);
      const master = masterPlaylistText(
        listed.map((r) => ({ ...r.output, segments: r.segments, codecs: r.codecs ?? '' })),
        uriInMaster,
      );
      if (!createMaster) {
        await putText(MASTER_PLAYLIST, master);
      } else {
        if (masterCreated) throw new MasterExistsError(`${createMaster.key} was written by this publish already`);
        try {
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: createMaster.key, Body: master, ContentType: PLAYLIST_CONTENT_TYPE, IfNoneMatch: '*' }), {
            abortSignal: signal,
          });
        } catch (error) {
          // 412: an object has the key. 409: a write of that key was under way (S3 asks to retry,
          // and the retry would find it there).
          const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (status === 412 || status === 409) throw new MasterExistsError(`${createMaster.key} exists already`, { cause: error });
          throw error;
        }
        masterCreated = true;
      }
      const area = (r: Tracked) => (r.output.kind === 'video' ? r.output.width * r.output.height : 0);
      return {
        master: createMaster ? createMaster.key : MASTER_PLAYLIST,
        renditions: listed
          .sort((a, b) => area(b) - area(a))
          .map((r) => ({
            playlist: playlistOf(r.output.name),
            ...(r.ended ? { durationMs: Math.round(r.segments.reduce((sum, s) => sum + s.duration, 0) * 1000) } : {}),
            ...(r.output.kind === 'video' ? { width: r.output.width, height: r.output.height } : {}),
          })),
      };
    },
  };
}
