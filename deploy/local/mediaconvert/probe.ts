/**
 * The local stand-in for MediaConvert's Probe API: ffprobe reads the source (a local path or an
 * http(s) URL, read with range requests, never copied whole) and the answer is given in Probe's
 * own shape (ProbeResult), field for field what MediaConvert reports and nothing more: no rotation,
 * no pixel aspect (the app reads those from the MP4 header, as it does in AWS). So the app inspects
 * and plans a source through the same code in both runtimes (src/adapters/mediaconvert/source-inspector.ts).
 */
import { execFile } from 'node:child_process';
import type { ProbeResult, Track } from '@aws-sdk/client-mediaconvert';
import { isUrl, summarizeFfmpegStderr } from '../../../src/adapters/ffmpeg-hls/ffmpeg-ladder.ts';

interface FfprobeStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  profile?: string;
  level?: number;
  pix_fmt?: string;
  field_order?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  bit_rate?: string;
  bits_per_raw_sample?: string;
  channels?: number;
  sample_rate?: string;
  color_transfer?: string;
  color_primaries?: string;
  color_space?: string;
  disposition?: { attached_pic?: number };
  tags?: Record<string, string>;
}

interface FfprobeOutput {
  streams?: FfprobeStream[];
  format?: { duration?: string; format_name?: string; size?: string; tags?: Record<string, string> };
}

/** Stops a hung HTTP read instead of waiting forever (microseconds). */
const HTTP_TIMEOUT_US = '30000000';

/** ffprobe's codec names as Probe's Codec enum (anything else is UNKNOWN there too). */
const CODECS: Record<string, string> = {
  h264: 'AVC',
  hevc: 'HEVC',
  av1: 'AV1',
  vp8: 'VP8',
  vp9: 'VP9',
  mpeg2video: 'MPEG2',
  mpeg1video: 'MPEG1',
  mpeg4: 'MP4V',
  prores: 'PRORES',
  mjpeg: 'MJPEG',
  jpeg2000: 'JPEG2000',
  qtrle: 'QTRLE',
  theora: 'THEORA',
  rawvideo: 'UNCOMPRESSED',
  aac: 'AAC',
  ac3: 'AC3',
  eac3: 'EAC3',
  flac: 'FLAC',
  mp3: 'MP3',
  opus: 'OPUS',
  vorbis: 'VORBIS',
  mov_text: 'WEBVTT',
  webvtt: 'WEBVTT',
  eia_608: 'C608',
};

/** ffprobe's colour names as Probe's ColorPrimaries / TransferCharacteristics / MatrixCoefficients. */
const PRIMARIES: Record<string, string> = {
  bt709: 'ITU_709',
  bt2020: 'ITU_2020',
  smpte170m: 'SMPTE_170M',
  bt470bg: 'ITU_470BG',
  bt470m: 'ITU_470M',
  smpte240m: 'SMPTE_240M',
  film: 'GENERIC_FILM',
  smpte432: 'SMPTE_EG_432_1',
  smpte431: 'SMPTE_431_2',
};
const TRANSFERS: Record<string, string> = {
  bt709: 'ITU_709',
  'arib-std-b67': 'ARIB_B67',
  smpte2084: 'SMPTE_2084',
  smpte170m: 'SMPTE_170M',
  bt470bg: 'ITU_470BG',
  bt470m: 'ITU_470M',
  smpte240m: 'SMPTE_240M',
  linear: 'LINEAR',
  'iec61966-2-1': 'IEC_61966_2_1',
  'iec61966-2-4': 'IEC_61966_2_4',
  'bt2020-10': 'ITU_2020_10bit',
  'bt2020-12': 'ITU_2020_12bit',
  bt1361e: 'ITU_1361',
  smpte428: 'SMPTE_428_1',
};
const MATRICES: Record<string, string> = {
  bt709: 'ITU_709',
  bt2020nc: 'ITU_2020_NCL',
  bt2020c: 'ITU_2020_CL',
  smpte170m: 'SMPTE_170M',
  bt470bg: 'ITU_470BG',
  smpte240m: 'SMPTE_240M',
  gbr: 'RGB',
  fcc: 'FCC',
  ycgco: 'YCgCo',
};

/** Probe's Container.Format from ffprobe's format name (blank for what Probe does not name). */
type ContainerFormat = NonNullable<NonNullable<ProbeResult['Container']>['Format']>;

function containerFormat(output: FfprobeOutput): ContainerFormat | undefined {
  const name = output.format?.format_name ?? '';
  if (name.includes('mp4') || name.includes('mov')) {
    return output.format?.tags?.major_brand?.trim() === 'qt' ? 'quicktime' : 'mp4';
  }
  if (name.includes('matroska')) return 'matroska';
  if (name === 'mxf') return 'mxf';
  if (name === 'wav') return 'wave';
  if (name === 'avi') return 'avi';
  if (name === 'mpegts') return 'mpegts';
  return undefined;
}

function rate(text: string | undefined): { Numerator: number; Denominator: number } | undefined {
  const [numerator, denominator] = (text ?? '').split('/').map(Number);
  if (!numerator || !denominator || !(numerator > 0) || !(denominator > 0)) return undefined;
  return { Numerator: numerator, Denominator: denominator };
}

const numberOf = (text: string | number | undefined) => {
  const value = Number(text);
  return text !== undefined && text !== 'N/A' && Number.isFinite(value) ? value : undefined;
};

function chromaOf(pixelFormat: string | undefined): string | undefined {
  if (!pixelFormat) return undefined;
  if (/^(yuvj?420p|nv12|nv21|p010|p016)/.test(pixelFormat)) return '4:2:0';
  if (/^yuvj?422p/.test(pixelFormat)) return '4:2:2';
  if (/^yuvj?444p/.test(pixelFormat)) return '4:4:4';
  return undefined;
}

function bitDepthOf(stream: FfprobeStream): number | undefined {
  const raw = numberOf(stream.bits_per_raw_sample);
  if (raw) return raw;
  const fromFormat = /p(9|10|12|14|16)(le|be)?$/.exec(stream.pix_fmt ?? '')?.[1];
  if (fromFormat) return Number(fromFormat);
  return stream.pix_fmt && /^(yuvj?4[0-9]{2}p|nv12|rgb24|bgr24|gray)$/.test(stream.pix_fmt) ? 8 : undefined;
}

/** `4.0` for H.264's level_idc 40, `4.1` for HEVC's 123 (30 x level), as people write levels. */
function levelOf(stream: FfprobeStream): string | undefined {
  const level = stream.level;
  if (level === undefined || level <= 0) return undefined;
  if (stream.codec_name === 'h264') return (level / 10).toFixed(1);
  if (stream.codec_name === 'hevc') return (level / 30).toFixed(1);
  return String(level);
}

const scanTypeOf = (fieldOrder: string | undefined) =>
  !fieldOrder || fieldOrder === 'unknown' ? undefined : fieldOrder === 'progressive' ? 'progressive' : 'interlaced';

function track(stream: FfprobeStream): Track | undefined {
  const type =
    stream.codec_type === 'video'
      ? 'video'
      : stream.codec_type === 'audio'
        ? 'audio'
        : stream.codec_type === 'subtitle' || stream.codec_type === 'data'
          ? 'data'
          : undefined;
  if (!type || stream.index === undefined) return undefined;
  const result: Track = {
    Index: stream.index + 1,
    TrackType: type,
    Codec: (CODECS[stream.codec_name ?? ''] ?? 'UNKNOWN') as Track['Codec'],
  };
  const duration = numberOf(stream.duration);
  if (duration !== undefined) result.Duration = duration;
  const bitRate = numberOf(stream.bit_rate);
  if (type === 'video') {
    const bitDepth = bitDepthOf(stream);
    const primaries = PRIMARIES[stream.color_primaries ?? ''];
    const transfer = TRANSFERS[stream.color_transfer ?? ''];
    const matrix = MATRICES[stream.color_space ?? ''];
    const average = rate(stream.avg_frame_rate);
    const coded = rate(stream.r_frame_rate);
    const chroma = chromaOf(stream.pix_fmt);
    const level = levelOf(stream);
    const scanType = scanTypeOf(stream.field_order);
    result.VideoProperties = {
      Width: stream.width ?? 0,
      Height: stream.height ?? 0,
      ...(average ? { FrameRate: average } : {}),
      ...(bitRate !== undefined ? { BitRate: bitRate } : {}),
      ...(bitDepth ? { BitDepth: bitDepth } : {}),
      ...(primaries ? { ColorPrimaries: primaries as never } : {}),
      ...(transfer ? { TransferCharacteristics: transfer as never } : {}),
      ...(matrix ? { MatrixCoefficients: matrix as never } : {}),
      CodecMetadata: {
        Width: stream.width ?? 0,
        Height: stream.height ?? 0,
        ...(coded ? { CodedFrameRate: coded } : {}),
        ...(bitDepth ? { BitDepth: bitDepth } : {}),
        ...(chroma ? { ChromaSubsampling: chroma } : {}),
        ...(stream.profile && stream.profile !== 'unknown' ? { Profile: stream.profile } : {}),
        ...(level ? { Level: level } : {}),
        ...(scanType ? { ScanType: scanType } : {}),
        ...(primaries ? { ColorPrimaries: primaries as never } : {}),
        ...(transfer ? { TransferCharacteristics: transfer as never } : {}),
        ...(matrix ? { MatrixCoefficients: matrix as never } : {}),
      },
    };
  } else if (type === 'audio') {
    const sampleRate = numberOf(stream.sample_rate);
    const bitDepth = numberOf(stream.bits_per_raw_sample);
    const language = stream.tags?.language;
    result.AudioProperties = {
      Channels: stream.channels ?? 0,
      ...(sampleRate ? { SampleRate: sampleRate } : {}),
      ...(bitRate !== undefined ? { BitRate: bitRate } : {}),
      ...(bitDepth ? { BitDepth: bitDepth } : {}),
      ...(language && language !== 'und' ? { LanguageCode: language } : {}),
    };
  } else if (stream.tags?.language && stream.tags.language !== 'und') {
    result.DataProperties = { LanguageCode: stream.tags.language };
  }
  return result;
}

/** What the first bytes of a file look like, for files that are no media Probe can read. */
export function sniffType(head: Uint8Array): { mimeType?: string; format?: 'mp4' | 'quicktime' | 'matroska' } {
  const text = (from: number, to: number) => String.fromCharCode(...head.subarray(from, to));
  if (head.length >= 8 && head[0] === 0x89 && text(1, 4) === 'PNG') return { mimeType: 'image/png' };
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return { mimeType: 'image/jpeg' };
  if (text(0, 4) === 'GIF8') return { mimeType: 'image/gif' };
  if (text(0, 4) === 'RIFF' && text(8, 12) === 'WEBP') return { mimeType: 'image/webp' };
  if (text(4, 8) === 'ftyp') {
    const brand = text(8, 12);
    if (brand === 'qt  ') return { mimeType: 'video/quicktime', format: 'quicktime' };
    return { mimeType: brand === 'M4A ' || brand === 'M4B ' ? 'audio/mp4' : 'video/mp4', format: 'mp4' };
  }
  if (text(0, 3) === 'ID3' || (head[0] === 0xff && ((head[1] ?? 0) & 0xe0) === 0xe0 && ((head[1] ?? 0) & 0x06) !== 0)) return { mimeType: 'audio/mpeg' };
  // ADTS (raw AAC): a 12-bit sync word, then layer 00.
  if (head[0] === 0xff && ((head[1] ?? 0) & 0xf6) === 0xf0) return { mimeType: 'audio/aac' };
  if (text(0, 4) === 'fLaC') return { mimeType: 'audio/flac' };
  if (text(0, 4) === 'OggS') return { mimeType: 'audio/ogg' };
  if (text(0, 4) === 'RIFF' && text(8, 12) === 'WAVE') return { mimeType: 'audio/wav' };
  if (head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3) return { mimeType: 'video/x-matroska', format: 'matroska' };
  // Text: UTF-8 that decodes, with no control characters but whitespace.
  if (head.length > 0) {
    try {
      const decoded = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, Math.max(0, head.length - 4)));
      // eslint-disable-next-line no-control-regex -- control characters are what it looks for
      if (!/[\u0000-\u0008\u000e-\u001f]/.test(decoded)) return { mimeType: 'text/plain' };
    } catch {
      // not UTF-8 text
    }
  }
  return {};
}

function runFfprobe(input: string, signal?: AbortSignal): Promise<FfprobeOutput | undefined> {
  const args = ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format'];
  if (isUrl(input)) args.push('-rw_timeout', HTTP_TIMEOUT_US);
  args.push('-i', input);
  return new Promise((resolve, reject) => {
    execFile('ffprobe', args, { maxBuffer: 16 * 1024 * 1024, signal, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (!error) {
        try {
          return resolve(JSON.parse(stdout) as FfprobeOutput);
        } catch {
          return resolve(undefined);
        }
      }
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(new Error('ffprobe is not installed (looked for it on PATH)', { cause: error }));
      }
      if (error.name === 'AbortError') return reject(error);
      const reason = summarizeFfmpegStderr(stderr, input);
      // Reaching the source failed (HTTP error, refused, timed out): nothing wrong with the file.
      if (isUrl(input) && /Server returned|HTTP error|Connection to|timed out|Network|I\/O error/i.test(reason)) {
        return reject(new Error(`The source could not be fetched (${reason})`, { cause: error }));
      }
      // ffprobe could not read it: Probe answers with no tracks.
      resolve(undefined);
    });
  });
}

export interface ProbeInput {
  /** A local path or an http(s) URL ffprobe can read. */
  input: string;
  /** The file's first bytes (a few hundred), to name what is not media. */
  head: Uint8Array;
  sizeBytes: number;
  eTag?: string;
  lastModified?: Date;
}

/** One file's ProbeResult, as MediaConvert's Probe gives it. */
export async function probeAsMediaConvert(source: ProbeInput, options: { signal?: AbortSignal } = {}): Promise<ProbeResult> {
  const sniffed = sniffType(source.head);
  const output = source.sizeBytes > 0 ? await runFfprobe(source.input, options.signal) : undefined;
  // Cover art in audio files is a one-picture "video" stream: not a track Probe reports.
  const streams = (output?.streams ?? []).filter((stream) => !stream.disposition?.attached_pic);
  const tracks = streams.flatMap((stream) => track(stream) ?? []);
  const format = output ? containerFormat(output) : sniffed.format;
  const duration = numberOf(output?.format?.duration);
  const indexes = (type: string) => tracks.filter((t) => t.TrackType === type).map((t) => t.Index!);
  return {
    Container: {
      ...(format ? { Format: format } : {}),
      ...(duration !== undefined ? { Duration: duration } : {}),
      Tracks: tracks,
    },
    Metadata: {
      FileSize: source.sizeBytes,
      ...(sniffed.mimeType ? { MimeType: sniffed.mimeType } : {}),
      ...(source.eTag ? { ETag: source.eTag } : {}),
      ...(source.lastModified ? { LastModified: source.lastModified } : {}),
    },
    TrackMappings: [{ VideoTrackIndexes: indexes('video'), AudioTrackIndexes: indexes('audio'), DataTrackIndexes: indexes('data') }],
  };
}
