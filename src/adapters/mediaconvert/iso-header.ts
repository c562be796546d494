/**
 * What an MP4/MOV header says that MediaConvert's Probe does not report: each track's display
 * rotation, the video's pixel aspect ratio, its Dolby Vision configuration, and the titles and
 * languages of audio tracks. The source inspector (source-inspector.ts) merges these into the
 * Probe's answer, in AWS and locally alike.
 *
 * Only ISO base media files are read (MP4, MOV, M4V, M4A, 3GP: what phones and cameras write). The
 * header is found with a few ranged GETs: the first 64 KiB, then box headers hop by hop past
 * `mdat` to the `moov` box wherever it is (cameras write it at the end), then `moov` itself.
 * The bytes of the media are never downloaded. Anything else gives `undefined`.
 *
 * Layout: ISO/IEC 14496-12 (box header; `tkhd` with its 3x3 matrix; `mdhd` language; `hdlr`
 * handler type and name; visual sample entries in `stsd` with their `pasp` child), and the Dolby
 * Vision ISO media format specification (`dvcC`/`dvvC`/`dvwC`: the DOVIDecoderConfigurationRecord).
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Ratio } from '../../schemas/transcode.ts';
import { SEGMENT_SECONDS } from '../../domain/ladder.ts';

export interface IsoTrack {
  /** The track's place among the `trak` boxes, from 1: MediaConvert's Probe Track.Index. */
  position: number;
  /** `vide`, `soun`, ... */
  handler: string;
  /** Quarter turns of the display matrix: 0, 90, 180 or 270. */
  rotation: 0 | 90 | 180 | 270;
  /** The first sample entry's four-character code, e.g. `avc1`, `hvc1`, `mp4a`. */
  codec?: string;
  /** From the visual sample entry's `pasp` box, when present. */
  pixelAspect?: Ratio;
  dolbyVision?: { profile: number; compatibility: number };
  /** The handler name (`hdlr`), e.g. "Director's commentary"; muxers' defaults are kept too. */
  name?: string;
  /** ISO 639-2/T from `mdhd`, e.g. `eng`; `und` when unset. */
  language?: string;
  /** A video track's segments if it were packaged as it is (from its sample table). */
  segmentsAsPackaged?: PackagedSegments;
}

/**
 * How a video track would cut into HLS segments if it were packaged without re-encoding, read from
 * its sample table: ffmpeg's HLS muxer ends a segment at the first keyframe at or after each
 * multiple of the segment length (from the first frame), so the keyframes fix every segment.
 */
export interface PackagedSegments {
  count: number;
  /** The longest segment, in seconds. */
  longestSeconds: number;
  /**
   * The highest video bitrate of any one segment, in bits per second (a last segment shorter than
   * half the segment length is left out: a keyframe's bits over a sliver of time).
   */
  peakBitrate: number;
}

export interface IsoHeader {
  tracks: IsoTrack[];
}

/** Reads `length` bytes at `offset`; may return fewer at the end of the object. */
export type RangeReader = (offset: number, length: number) => Promise<{ bytes: Uint8Array; objectSize: number }>;

const FIRST_READ_BYTES = 64 * 1024;
/** A moov of a two-hour phone video is a few MB; anything this large is not a header we want. */
const MAX_MOOV_BYTES = 64 * 1024 * 1024;
/** Top-level boxes to hop over before giving up (ftyp, free, wide, mdat, uuid, ... then moov). */
const MAX_TOP_LEVEL_BOXES = 64;
/** Fixed fields of a VisualSampleEntry after its box header: its child boxes (pasp, dvcC) follow. */
const VISUAL_SAMPLE_ENTRY_FIELDS = 78;

interface Box {
  type: string;
  /** Offset of the box's first byte (its header) in the buffer or object. */
  start: number;
  /** Offset of the payload. */
  payload: number;
  /** Offset one past the box's last byte. */
  end: number;
}

const ascii = (bytes: Uint8Array, at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));

/** The header of the box at `at`, or undefined when `bytes` does not hold a whole header there. */
function readBoxHeader(bytes: Uint8Array, at: number, base: number, objectSize: number): Box | undefined {
  if (at + 8 > bytes.length) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size32 = view.getUint32(at);
  const type = ascii(bytes, at + 4);
  if (!/^[\x20-\x7e]{4}$/.test(type)) return undefined;
  let size: number;
  let headerSize = 8;
  if (size32 === 1) {
    if (at + 16 > bytes.length) return undefined;
    size = Number(view.getBigUint64(at + 8));
    headerSize = 16;
  } else if (size32 === 0) {
    size = objectSize - (base + at);
  } else {
    size = size32;
  }
  if (size < headerSize) return undefined;
  return { type, start: base + at, payload: base + at + headerSize, end: base + at + size };
}

/** The child boxes of a container whose payload is `bytes[from, to)`. */
function children(bytes: Uint8Array, from: number, to: number): Box[] {
  const boxes: Box[] = [];
  let at = from;
  while (at + 8 <= to) {
    const box = readBoxHeader(bytes.subarray(0, to), at, 0, to);
    if (!box || box.end > to) break;
    boxes.push(box);
    at = box.end;
  }
  return boxes;
}

const child = (bytes: Uint8Array, parent: Box, type: string) => children(bytes, parent.payload, parent.end).find((box) => box.type === type);

function path(bytes: Uint8Array, parent: Box, types: string[]): Box | undefined {
  let current: Box | undefined = parent;
  for (const type of types) {
    current = current && child(bytes, current, type);
  }
  return current;
}

/** 16.16 fixed point. */
const fixed16 = (view: DataView, at: number) => view.getInt32(at) / 65536;

function rotationOf(bytes: Uint8Array, tkhd: Box): IsoTrack['rotation'] | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // tkhd: version/flags, then times and ids (20 bytes in version 0, 32 in version 1), then
  // reserved (8), layer, alternate_group, volume, reserved (2 each), matrix (9 x 4), width, height.
  const version = bytes[tkhd.payload] ?? 0;
  const matrixAt = tkhd.payload + 4 + (version === 1 ? 32 : 20) + 16;
  if (matrixAt + 36 > tkhd.end) return undefined;
  const a = fixed16(view, matrixAt);
  const b = fixed16(view, matrixAt + 4);
  const degrees = Math.round((Math.atan2(b, a) * 180) / Math.PI);
  return ((((Math.round(degrees / 90) * 90) % 360) + 360) % 360) as IsoTrack['rotation'];
}

/** The handler name: a C string (MP4) or a Pascal string (QuickTime), trimmed of NULs. */
function handlerName(bytes: Uint8Array, hdlr: Box): string | undefined {
  // version/flags (4), pre_defined (4), handler_type (4), reserved (12), name.
  const from = hdlr.payload + 24;
  if (from >= hdlr.end) return undefined;
  let raw = bytes.subarray(from, hdlr.end);
  if (raw[0] !== undefined && raw[0] === raw.length - 1 && raw[0] > 0) raw = raw.subarray(1);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(raw).replace(/\0.*$/s, '').trim();
  return text || undefined;
}

/** mdhd's packed ISO 639-2/T code: three 5-bit letters offset by 0x60. */
function languageOf(bytes: Uint8Array, mdhd: Box): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = bytes[mdhd.payload] ?? 0;
  const at = mdhd.payload + 4 + (version === 1 ? 28 : 16);
  if (at + 2 > mdhd.end) return undefined;
  const packed = view.getUint16(at) & 0x7fff;
  if (packed === 0) return undefined;
  const letters = [10, 5, 0].map((shift) => String.fromCharCode(((packed >> shift) & 0x1f) + 0x60));
  const code = letters.join('');
  return /^[a-z]{3}$/.test(code) ? code : undefined;
}

/** A `FullBox` table of `count` entries of `fields` 32-bit words each, after version/flags and the count. */
function table(bytes: Uint8Array, box: Box, fields: number, skip = 0): Uint32Array | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const countAt = box.payload + 4 + skip;
  if (countAt + 4 > box.end) return undefined;
  const count = view.getUint32(countAt);
  if (countAt + 4 + count * fields * 4 > box.end) return undefined;
  const out = new Uint32Array(count * fields);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(countAt + 4 + i * 4);
  return out;
}

/**
 * The segments a video track would make when packaged: sample times from `stts` (and `ctts` for
 * reordered frames), keyframes from `stss` (none listed: every sample is one), sizes from `stsz`,
 * in the track's timescale from `mdhd`. Undefined when a table is missing or does not add up.
 */
export function segmentsAsPackaged(bytes: Uint8Array, trak: Box, segmentSeconds: number): PackagedSegments | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mdhd = path(bytes, trak, ['mdia', 'mdhd']);
  const stbl = path(bytes, trak, ['mdia', 'minf', 'stbl']);
  if (!mdhd || !stbl) return undefined;
  const version = bytes[mdhd.payload] ?? 0;
  const timescaleAt = mdhd.payload + 4 + (version === 1 ? 16 : 8);
  if (timescaleAt + 4 > mdhd.end) return undefined;
  const timescale = view.getUint32(timescaleAt);
  const box = (type: string) => child(bytes, stbl, type);
  const sttsBox = box('stts');
  const stszBox = box('stsz');
  if (!timescale || !sttsBox || !stszBox || stszBox.payload + 12 > stszBox.end) return undefined;
  const stts = table(bytes, sttsBox, 2);
  const cttsBox = box('ctts');
  const ctts = cttsBox ? table(bytes, cttsBox, 2) : undefined;
  const stssBox = box('stss');
  const stss = stssBox ? table(bytes, stssBox, 1) : undefined;
  const uniformSize = view.getUint32(stszBox.payload + 4);
  const sampleCount = view.getUint32(stszBox.payload + 8);
  const sizes = uniformSize === 0 ? table(bytes, stszBox, 1, 4) : undefined;
  if (!stts || (uniformSize === 0 && (!sizes || sizes.length !== sampleCount)) || sampleCount === 0) return undefined;

  // Decode times, then presentation times (ctts offsets are signed in version 1, and in practice).
  const dts = new Float64Array(sampleCount);
  let at = 0;
  let sample = 0;
  for (let i = 0; i < stts.length && sample < sampleCount; i += 2) {
    for (let n = 0; n < stts[i]! && sample < sampleCount; n++) {
      dts[sample++] = at;
      at += stts[i + 1]!;
    }
  }
  if (sample !== sampleCount) return undefined;
  const end = at;
  const pts = Float64Array.from(dts);
  if (ctts) {
    sample = 0;
    for (let i = 0; i < ctts.length && sample < sampleCount; i += 2) {
      const offset = ctts[i + 1]! | 0;
      for (let n = 0; n < ctts[i]! && sample < sampleCount; n++) pts[sample++]! += offset;
    }
  }
  const keyframes = stss
    ? Array.from(stss, (number) => number - 1).filter((index) => index >= 0 && index < sampleCount)
    : Array.from({ length: sampleCount }, (_, i) => i);
  if (keyframes.length === 0 || keyframes[0] !== 0) return undefined;

  // Cuts at the first keyframe at or after each multiple of the segment length.
  const first = pts[0]!;
  const cuts: number[] = [0];
  let next = segmentSeconds * timescale;
  for (const index of keyframes.slice(1)) {
    if (pts[index]! - first >= next) {
      cuts.push(index);
      while (pts[index]! - first >= next) next += segmentSeconds * timescale;
    }
  }
  let maxPts = pts[0]!;
  for (const value of pts) if (value > maxPts) maxPts = value;
  const lastPts = maxPts + (end - dts[sampleCount - 1]!);
  let longest = 0;
  let peak = 0;
  for (let c = 0; c < cuts.length; c++) {
    const from = cuts[c]!;
    const to = cuts[c + 1] ?? sampleCount;
    const seconds = ((c + 1 < cuts.length ? pts[to]! : lastPts) - pts[from]!) / timescale;
    let bytesInSegment = 0;
    for (let i = from; i < to; i++) bytesInSegment += uniformSize || sizes![i]!;
    longest = Math.max(longest, seconds);
    const shortLast = c > 0 && c === cuts.length - 1 && seconds < segmentSeconds / 2;
    if (seconds > 0 && !shortLast) peak = Math.max(peak, (bytesInSegment * 8) / seconds);
  }
  return { count: cuts.length, longestSeconds: longest, peakBitrate: Math.ceil(peak) };
}

/** pasp and the Dolby Vision record among a visual sample entry's children. */
function visualEntryExtras(bytes: Uint8Array, entry: Box): Pick<IsoTrack, 'pixelAspect' | 'dolbyVision'> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const extras: Pick<IsoTrack, 'pixelAspect' | 'dolbyVision'> = {};
  for (const box of children(bytes, entry.payload + VISUAL_SAMPLE_ENTRY_FIELDS, entry.end)) {
    if (box.type === 'pasp' && box.payload + 8 <= box.end) {
      const numerator = view.getUint32(box.payload);
      const denominator = view.getUint32(box.payload + 4);
      if (numerator > 0 && denominator > 0) extras.pixelAspect = { numerator, denominator };
    } else if ((box.type === 'dvcC' || box.type === 'dvvC' || box.type === 'dvwC') && box.payload + 5 <= box.end) {
      // dv_version_major, dv_version_minor, then 7 bits profile, 6 bits level, 3 flags, then
      // 4 bits of dv_bl_signal_compatibility_id.
      const bits = view.getUint16(box.payload + 2);
      const profile = bits >> 9;
      const compatibility = (bytes[box.payload + 4]! >> 4) & 0x0f;
      extras.dolbyVision = { profile, compatibility };
    }
  }
  return extras;
}

function readTrack(bytes: Uint8Array, trak: Box, position: number, segmentSeconds: number): IsoTrack | undefined {
  const hdlr = path(bytes, trak, ['mdia', 'hdlr']);
  const tkhd = child(bytes, trak, 'tkhd');
  if (!hdlr || !tkhd || hdlr.payload + 12 > hdlr.end) return undefined;
  const rotation = rotationOf(bytes, tkhd);
  if (rotation === undefined) return undefined;
  const track: IsoTrack = { position, handler: ascii(bytes, hdlr.payload + 8), rotation };
  const name = handlerName(bytes, hdlr);
  if (name) track.name = name;
  const mdhd = path(bytes, trak, ['mdia', 'mdhd']);
  const language = mdhd && languageOf(bytes, mdhd);
  if (language) track.language = language;

  // The first sample entry: its four-cc names the codec; a visual one may carry pasp and dvcC.
  const stsd = path(bytes, trak, ['mdia', 'minf', 'stbl', 'stsd']);
  const entry = stsd && children(bytes, stsd.payload + 8, stsd.end)[0];
  if (entry) {
    track.codec = entry.type;
    if (track.handler === 'vide') Object.assign(track, visualEntryExtras(bytes, entry));
  }
  if (track.handler === 'vide') {
    const segments = segmentsAsPackaged(bytes, trak, segmentSeconds);
    if (segments) track.segmentsAsPackaged = segments;
  }
  return track;
}

/** Reads every track of a complete `moov` box. */
export function parseMovieBox(moovBytes: Uint8Array): IsoHeader | undefined {
  const moov = readBoxHeader(moovBytes, 0, 0, moovBytes.length);
  if (!moov || moov.type !== 'moov') return undefined;
  const traks = children(moovBytes, moov.payload, Math.min(moov.end, moovBytes.length)).filter((box) => box.type === 'trak');
  return { tracks: traks.flatMap((trak, index) => readTrack(moovBytes, trak, index + 1, SEGMENT_SECONDS) ?? []) };
}

/**
 * Finds and parses the `moov` box of an ISO base media file through `read`. Undefined when the
 * object is not such a file; read errors propagate (so a Lambda retries a throttled or failed GET
 * instead of guessing).
 */
export async function readIsoHeader(read: RangeReader): Promise<IsoHeader | undefined> {
  const first = await read(0, FIRST_READ_BYTES);
  const objectSize = first.objectSize;
  const firstBox = readBoxHeader(first.bytes, 0, 0, objectSize);
  // Every ISO media file starts with a box; `ftyp` for MP4, sometimes `wide`/`free`/`mdat` for MOV.
  if (!firstBox || !['ftyp', 'wide', 'free', 'skip', 'mdat', 'moov', 'pnot'].includes(firstBox.type)) return undefined;

  let at = 0;
  for (let hop = 0; hop < MAX_TOP_LEVEL_BOXES && at < objectSize; hop++) {
    let box = readBoxHeader(first.bytes, at, 0, objectSize);
    if (!box) {
      const header = await read(at, 16);
      box = readBoxHeader(header.bytes, 0, at, objectSize);
    }
    if (!box || box.end <= at) return undefined;
    if (box.type === 'moov') {
      const size = box.end - box.start;
      if (size > MAX_MOOV_BYTES || box.end > objectSize) return undefined;
      const moovBytes = box.end <= first.bytes.length ? first.bytes.subarray(box.start, box.end) : (await read(box.start, size)).bytes;
      if (moovBytes.length < size) return undefined;
      return parseMovieBox(moovBytes);
    }
    at = box.end;
  }
  return undefined;
}

/** Ranged GETs on one bucket. */
export function createS3RangeReader(deps: { s3: S3Client; bucket: string }, key: string): RangeReader {
  return async (offset, length) => {
    const object = await deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }));
    const bytes = object.Body ? await object.Body.transformToByteArray() : new Uint8Array();
    // `bytes 0-65535/1234567`; a 200 answer (a store without range support) has ContentLength.
    const total = /\/(\d+)$/.exec(object.ContentRange ?? '')?.[1];
    const objectSize = total ? Number(total) : (object.ContentLength ?? bytes.length);
    if (!object.ContentRange && offset > 0) {
      return { bytes: bytes.subarray(offset, offset + length), objectSize };
    }
    return { bytes: bytes.subarray(0, length), objectSize };
  };
}
