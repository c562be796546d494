/**
 * What the MediaConvert adapter must know about a source before CreateJob: its DISPLAY size (so
 * no rendition is planned above it, and portrait video gets portrait renditions) and whether it
 * has audio (a job that maps audio from a silent input fails). MediaConvert itself reports the
 * input only after the job started, so the adapter reads the container header here.
 *
 * Only ISO base media files are read (MP4, MOV, M4V, 3GP: what phones and cameras write). The
 * header is found with a few ranged GETs: the first 64 KiB, then box headers hop by hop past
 * `mdat` to the `moov` box wherever it is (cameras write it at the end), then `moov` itself.
 * The bytes of the media are never downloaded. Anything else (WebM, MKV, AVI, a text file) gives
 * `undefined`, and the adapter falls back to a plan that needs no probe (see buildJobSettings).
 *
 * Layout: ISO/IEC 14496-12 (box header, `tkhd` with its 3x3 matrix and 16.16 width/height, `hdlr`
 * handler types `vide`/`soun`, visual sample entries in `stsd`).
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';

export interface ProbedSource {
  /** Display width: the track's presentation size with its rotation applied. */
  width: number;
  /** Display height: the track's presentation size with its rotation applied. */
  height: number;
  /**
   * Rotation of the track's display matrix, atan2(b, a) in quarter turns: 0, 90, 180 or 270.
   * (Tools disagree on its sign; only whether the sides swap matters to the ladder.)
   */
  rotation: number;
  hasAudio: boolean;
  /** Sample entry four-character code of the video track, e.g. `avc1`, `hvc1`. */
  videoCodec: string;
}

/** Reads `length` bytes at `offset`; may return fewer at the end of the object. */
export type RangeReader = (offset: number, length: number) => Promise<{ bytes: Uint8Array; objectSize: number }>;

export type SourceProbe = (key: string) => Promise<ProbedSource | undefined>;

const FIRST_READ_BYTES = 64 * 1024;
/** A moov of a two-hour phone video is a few MB; anything this large is not a header we want. */
const MAX_MOOV_BYTES = 64 * 1024 * 1024;
/** Top-level boxes to hop over before giving up (ftyp, free, wide, mdat, uuid, ... then moov). */
const MAX_TOP_LEVEL_BOXES = 64;

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

const child = (bytes: Uint8Array, parent: Box, type: string) =>
  children(bytes, parent.payload, parent.end).find((box) => box.type === type);

function path(bytes: Uint8Array, parent: Box, types: string[]): Box | undefined {
  let current: Box | undefined = parent;
  for (const type of types) {
    current = current && child(bytes, current, type);
  }
  return current;
}

/** 16.16 fixed point. */
const fixed16 = (view: DataView, at: number) => view.getInt32(at) / 65536;

interface TrackInfo {
  handler: string;
  width: number;
  height: number;
  rotation: number;
  codec?: string;
  codedWidth?: number;
  codedHeight?: number;
}

function readTrack(bytes: Uint8Array, trak: Box): TrackInfo | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hdlr = path(bytes, trak, ['mdia', 'hdlr']);
  const tkhd = child(bytes, trak, 'tkhd');
  if (!hdlr || !tkhd || hdlr.payload + 12 > hdlr.end) return undefined;
  // hdlr: version/flags (4), pre_defined (4), handler_type (4).
  const handler = ascii(bytes, hdlr.payload + 8);

  // tkhd: version/flags, then times and ids (20 bytes in version 0, 32 in version 1), then
  // reserved (8), layer, alternate_group, volume, reserved (2 each), matrix (9 x 4), width, height.
  const version = bytes[tkhd.payload] ?? 0;
  const matrixAt = tkhd.payload + 4 + (version === 1 ? 32 : 20) + 16;
  if (matrixAt + 36 + 8 > tkhd.end) return undefined;
  const a = fixed16(view, matrixAt);
  const b = fixed16(view, matrixAt + 4);
  const degrees = Math.round((Math.atan2(b, a) * 180) / Math.PI);
  const rotation = (((Math.round(degrees / 90) * 90) % 360) + 360) % 360;
  const info: TrackInfo = {
    handler,
    width: Math.round(fixed16(view, matrixAt + 36)),
    height: Math.round(fixed16(view, matrixAt + 40)),
    rotation,
  };

  // The first visual sample entry: its four-cc names the codec, and its coded size is the
  // fallback when a muxer left the tkhd size at zero.
  const stsd = path(bytes, trak, ['mdia', 'minf', 'stbl', 'stsd']);
  if (handler === 'vide' && stsd && stsd.payload + 8 + 36 <= stsd.end) {
    const entry = stsd.payload + 8;
    info.codec = ascii(bytes, entry + 4);
    info.codedWidth = view.getUint16(entry + 32);
    info.codedHeight = view.getUint16(entry + 34);
  }
  return info;
}

/** Reads the display size and audio presence from a complete `moov` box. */
export function parseMovieBox(moovBytes: Uint8Array): ProbedSource | undefined {
  const moov = readBoxHeader(moovBytes, 0, 0, moovBytes.length);
  if (!moov || moov.type !== 'moov') return undefined;
  const tracks = children(moovBytes, moov.payload, Math.min(moov.end, moovBytes.length))
    .filter((box) => box.type === 'trak')
    .flatMap((trak) => readTrack(moovBytes, trak) ?? []);
  const video = tracks.find((track) => track.handler === 'vide');
  if (!video) return undefined;
  let width = video.width;
  let height = video.height;
  if (!(width > 0 && height > 0)) {
    width = video.codedWidth ?? 0;
    height = video.codedHeight ?? 0;
  }
  if (!(width > 0 && height > 0)) return undefined;
  const swap = video.rotation === 90 || video.rotation === 270;
  return {
    width: swap ? height : width,
    height: swap ? width : height,
    rotation: video.rotation,
    hasAudio: tracks.some((track) => track.handler === 'soun'),
    videoCodec: video.codec ?? 'unknown',
  };
}

/**
 * Finds and parses the `moov` box of an ISO base media file through `read`. Undefined when the
 * object is not such a file or has no usable video track; read errors propagate (so a Lambda
 * retries a throttled or failed GET instead of guessing).
 */
export async function probeIsoMedia(read: RangeReader): Promise<ProbedSource | undefined> {
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
      const moovBytes =
        box.end <= first.bytes.length ? first.bytes.subarray(box.start, box.end) : (await read(box.start, size)).bytes;
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
    const object = await deps.s3.send(
      new GetObjectCommand({ Bucket: deps.bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }),
    );
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

/** The probe the MediaConvert adapter uses: header of `s3://bucket/key`, or undefined. */
export function createS3SourceProbe(deps: { s3: S3Client; bucket: string }): SourceProbe {
  return (key) => probeIsoMedia(createS3RangeReader(deps, key));
}
