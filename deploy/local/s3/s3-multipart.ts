/**
 * Multipart upload for the S3 stand-in, answered by the verifying front itself (s3-auth-proxy.ts)
 * because s3rver 3.7's is incomplete: it has no ListParts, AbortMultipartUpload or
 * ListMultipartUploads, checks neither part sizes, order nor ETags at completion, reports the
 * completion as `ObjectCreated:Post` and gives the object a plain MD5 ETag. Here the operations
 * answer what S3 answers (codes, statuses, XML), per the S3 API reference:
 *
 * - CreateMultipartUpload   POST   /{bucket}/{key}?uploads
 * - UploadPart              PUT    /{bucket}/{key}?partNumber=N&uploadId=U
 * - ListParts               GET    /{bucket}/{key}?uploadId=U
 * - AbortMultipartUpload    DELETE /{bucket}/{key}?uploadId=U
 * - CompleteMultipartUpload POST   /{bucket}/{key}?uploadId=U
 * - ListMultipartUploads    GET    /{bucket}?uploads
 *
 * Parts live under `<directory>/.multipart/<uploadId>/`: `upload.json` (bucket, key, the object's
 * headers given at creation, initiation time), per part a data file `<N>-<uuid>.data` and its record `<N>.json`
 * (size, MD5, file name). Both are written atomically (the data with writeStreamAtomically, the
 * records with write-file-atomic), and a part counts as stored only once its record is in place,
 * after the whole body arrived and passed every check, so a crash mid-part never leaves half a part
 * that ListParts shows or a completion uses; `recoverMultipartStore` removes what such a crash left.
 * A completion writes the object to s3rver with one streamed internal PUT of the listed parts, so
 * the object is an ordinary s3rver object afterwards (GET, HEAD, ranges, delete).
 */
import http, { type IncomingMessage } from 'node:http';
import { createHash, randomBytes, randomUUID, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
// The SDK's own XML reader and writer (a dependency of @aws-sdk/client-s3): the stand-in then reads
// what the SDK writes, and writes what it reads, the same way.
import { parseXML, XmlNode } from '@aws-sdk/xml-builder';
import type S3rver from 's3rver';
import writeFileAtomic from 'write-file-atomic';
import { writeStreamAtomically } from '../stream-file-atomic.ts';
import {
  badChecksum,
  badDigest,
  entityTooSmall,
  invalidArgument,
  invalidDigest,
  invalidRequest,
  invalidPart,
  invalidPartOrder,
  malformedXml,
  noSuchBucket,
  noSuchUpload,
  notImplemented,
  S3ErrorResponse,
} from './s3-errors.ts';

/** S3's limits (Amazon S3 multipart upload limits). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_NUMBER = 10_000;
const DEFAULT_MAX_PARTS = 1000;
const DEFAULT_MAX_UPLOADS = 1000;
/** A CompleteMultipartUpload body lists at most 10,000 parts; a few hundred bytes each is plenty. */
const MAX_COMPLETE_BODY_BYTES = 4 * 1024 * 1024;

const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
/** The one account of the stand-in, as owner and initiator of every upload. */
const LOCAL_OWNER = { ID: '0000000000000000000000000000000000000000000000000000000000000000', DisplayName: 'local' };

export const MULTIPART_FOLDER = '.multipart';
const UPLOAD_RECORD = 'upload.json';
const UPLOAD_ID = /^[A-Za-z0-9_-]{48}$/;
const PART_RECORD = /^(\d+)\.json$/;
/** A removed upload's folder is renamed to this first, so it disappears whole even if removal stops. */
const REMOVED_PREFIX = '.removed-';

interface UploadRecord {
  bucket: string;
  key: string;
  initiated: string;
  /** The object's headers given at creation (OBJECT_HEADERS, x-amz-meta-*), applied at completion. */
  headers: Record<string, string>;
}

/** The headers S3 (and s3rver) keep with an object, besides its x-amz-meta-* metadata. */
const OBJECT_HEADERS = new Set(['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'content-type', 'expires']);

interface PartRecord {
  partNumber: number;
  size: number;
  /** Lower-case hex MD5 of the part: its ETag without quotes. */
  md5: string;
  lastModified: string;
  /** The part's data file, beside the record. */
  file: string;
}

/** A request body as the front checks it (Content-Length, payload hash), not yet asked for. */
export interface CheckedBody {
  stream: Transform;
  /**
   * Lets the client send the body (answers `Expect: 100-continue`); called once the request has
   * passed every check that needs no body, so a refused part is never sent, as with S3.
   */
  proceed(): void;
}

/** An answer the front sends as it is: S3's status, headers and XML body. */
export interface MultipartAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Which multipart operation a request is, if any. */
export type MultipartOperation =
  'CreateMultipartUpload' | 'UploadPart' | 'ListParts' | 'AbortMultipartUpload' | 'CompleteMultipartUpload' | 'ListMultipartUploads';

export function multipartOperationOf(method: string, url: string): MultipartOperation | undefined {
  const { bucket, key, query } = splitTarget(url);
  if (!bucket) return undefined;
  if (key === undefined) return method === 'GET' && query.has('uploads') ? 'ListMultipartUploads' : undefined;
  if (method === 'POST' && query.has('uploads')) return 'CreateMultipartUpload';
  if (!query.has('uploadId')) return undefined;
  switch (method) {
    case 'PUT':
      return 'UploadPart';
    case 'GET':
      return 'ListParts';
    case 'DELETE':
      return 'AbortMultipartUpload';
    case 'POST':
      return 'CompleteMultipartUpload';
    default:
      return undefined;
  }
}

/**
 * Which object is being completed from parts, with the ETag S3 gives it. The front marks the key
 * around its internal PUT; s3rver's store (s3-atomic-store.ts) then records the multipart ETag,
 * so GET/HEAD and s3rver's notification carry it, and LocalS3.onEvent relabels that notification.
 */
export class CompletingUploads {
  private readonly byObject = new Map<string, { etag: string; size: number }>();

  /** Marks the object until the returned function is called. */
  begin(bucket: string, key: string, etag: string, size: number): () => void {
    const id = `${bucket}/${key}`;
    const mark = { etag, size };
    this.byObject.set(id, mark);
    return () => {
      if (this.byObject.get(id) === mark) this.byObject.delete(id);
    };
  }

  /**
   * The ETag (without quotes) for an object s3rver has just stored, when it is the completion of a
   * multipart upload: same key and same size as marked (a PUT racing the completion on that key
   * with another size keeps its own MD5).
   */
  etagOf(bucket: string, key: string, size: number): string | undefined {
    const mark = this.byObject.get(`${bucket}/${key}`);
    return mark && mark.size === size ? mark.etag : undefined;
  }
}

/** A multipart ETag ends in `-<part count>`; an MD5 never does. */
const MULTIPART_ETAG = /^[0-9a-f]{32}-\d+$/;

interface S3rverEventRecord {
  eventName: string;
  s3: { object: { eTag?: string } };
}

/**
 * s3rver names every PUT `ObjectCreated:Put`; the internal PUT of a completion carries the
 * multipart ETag (CompletingUploads), and S3 names that event `ObjectCreated:CompleteMultipartUpload`.
 */
export function relabelMultipartCompletion<Event extends { Records: unknown[] }>(event: Event): Event {
  return {
    ...event,
    Records: event.Records.map((record) => {
      const s3rverRecord = record as S3rverEventRecord;
      return s3rverRecord.eventName === 'ObjectCreated:Put' && MULTIPART_ETAG.test(s3rverRecord.s3?.object?.eTag ?? '')
        ? { ...s3rverRecord, eventName: 'ObjectCreated:CompleteMultipartUpload' }
        : record;
    }),
  };
}

export interface MultipartUploadsOptions {
  /** The stand-in's data directory; parts go to its `.multipart` folder. */
  directory: string;
  /** s3rver, which the completed object is written to. */
  upstream: { host: string; port: number };
  agent: http.Agent;
  completing: CompletingUploads;
}

export interface MultipartUploads {
  /**
   * Answers one verified multipart request; an S3ErrorResponse thrown is the answer S3 would give.
   */
  handle(operation: MultipartOperation, req: IncomingMessage, body: CheckedBody): Promise<MultipartAnswer>;
}

export function createMultipartUploads(options: MultipartUploadsOptions): MultipartUploads {
  const root = path.join(options.directory, MULTIPART_FOLDER);
  const uploadDir = (uploadId: string) => path.join(root, uploadId);

  async function readUpload(uploadId: string | null, bucket: string, key: string | undefined): Promise<UploadRecord> {
    if (!uploadId || !UPLOAD_ID.test(uploadId)) throw noSuchUpload(uploadId ?? '');
    let upload: UploadRecord;
    try {
      upload = JSON.parse(await readFile(path.join(uploadDir(uploadId), UPLOAD_RECORD), 'utf8')) as UploadRecord;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw noSuchUpload(uploadId);
      throw error;
    }
    // An upload id belongs to one bucket and key: a part URL of one upload is no use for another.
    if (upload.bucket !== bucket || upload.key !== key) throw noSuchUpload(uploadId);
    return upload;
  }

  async function readParts(uploadId: string): Promise<PartRecord[]> {
    const dir = uploadDir(uploadId);
    const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') throw noSuchUpload(uploadId);
      throw error;
    });
    const parts = await Promise.all(
      names
        .filter((name) => PART_RECORD.test(name))
        .map(async (name) => {
          try {
            return JSON.parse(await readFile(path.join(dir, name), 'utf8')) as PartRecord;
          } catch (error) {
            // Aborted or completed while listing.
            if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
            throw error;
          }
        }),
    );
    return parts.filter((part) => part !== undefined).sort((a, b) => a.partNumber - b.partNumber);
  }

  /** Removes an upload's folder: renamed away first, so it vanishes whole; removed after. */
  async function removeUpload(uploadId: string): Promise<void> {
    const removed = path.join(root, `${REMOVED_PREFIX}${randomUUID()}`);
    try {
      await rename(uploadDir(uploadId), removed);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw noSuchUpload(uploadId);
      throw error;
    }
    await rm(removed, { recursive: true, force: true });
  }

  function upstreamRequest(method: string, target: string, headers: http.OutgoingHttpHeaders = {}, body?: Readable) {
    return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const request = http.request(
        { host: options.upstream.host, port: options.upstream.port, method, path: target, headers, agent: options.agent },
        (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.on('end', () => resolve({ status: answer.statusCode ?? 0, headers: answer.headers, body: Buffer.concat(chunks).toString('utf8') }));
          answer.on('error', reject);
        },
      );
      request.on('error', reject);
      if (body) pipeline(body, request).catch(reject);
      else request.end();
    });
  }

  async function checkBucketExists(bucket: string): Promise<void> {
    const answer = await upstreamRequest('HEAD', `/${encodeURIComponent(bucket)}`);
    if (answer.status === 404) throw noSuchBucket(bucket);
    if (answer.status !== 200) throw new Error(`s3rver answered ${answer.status} to HEAD /${bucket}`);
  }

  async function createMultipartUpload(req: IncomingMessage, bucket: string, key: string, body: CheckedBody): Promise<MultipartAnswer> {
    await checkBucketExists(bucket);
    await drain(req, body);
    const uploadId = randomBytes(36).toString('base64url');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if ((OBJECT_HEADERS.has(name) || name.startsWith('x-amz-meta-')) && typeof value === 'string') headers[name] = value;
    }
    const upload: UploadRecord = { bucket, key, initiated: new Date().toISOString(), headers };
    await mkdir(uploadDir(uploadId), { recursive: true });
    // The record is the upload: a folder without it (a crash right here) is swept at start.
    await writeFileAtomic(path.join(uploadDir(uploadId), UPLOAD_RECORD), JSON.stringify(upload));
    return xmlAnswer(result('InitiateMultipartUploadResult').c(text('Bucket', bucket)).c(text('Key', key)).c(text('UploadId', uploadId)));
  }

  async function uploadPart(req: IncomingMessage, bucket: string, key: string, query: URLSearchParams, body: CheckedBody): Promise<MultipartAnswer> {
    if (req.headers['x-amz-copy-source'] !== undefined) throw notImplemented('UploadPartCopy is not implemented by the local S3 stand-in.');
    const partNumberText = query.get('partNumber') ?? '';
    const partNumber = Number(partNumberText);
    if (!/^\d+$/.test(partNumberText) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw invalidArgument(`Part number must be an integer between 1 and ${MAX_PART_NUMBER}, inclusive`, {
        ArgumentName: 'partNumber',
        ArgumentValue: partNumberText,
      });
    }
    const expectedMd5 = contentMd5Of(req);
    const checksum = declaredChecksumOf(req, query);
    const uploadId = query.get('uploadId')!;
    await readUpload(uploadId, bucket, key);
    const dir = uploadDir(uploadId);
    const file = `${partNumber}-${randomUUID()}.data`;
    const md5 = createHash('md5');
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        md5.update(chunk);
        checksum?.update(chunk);
        size += chunk.length;
        callback(null, chunk);
      },
      flush(callback: TransformCallback) {
        // Checked before the file is complete, so a part that fails it is never recorded.
        if (expectedMd5 && !md5.copy().digest().equals(expectedMd5)) {
          callback(badDigest(expectedMd5.toString('base64'), md5.copy().digest('base64')));
          return;
        }
        if (checksum && checksum.digest() !== checksum.expected) {
          callback(badChecksum(checksum.algorithm));
          return;
        }
        callback();
      },
    });
    try {
      body.proceed();
      await writeStreamAtomically(path.join(dir, file), req, body.stream, measure);
    } catch (error) {
      // The upload was aborted or completed while this part streamed in.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw noSuchUpload(uploadId);
      throw error;
    }
    const part: PartRecord = { partNumber, size, md5: md5.digest('hex'), lastModified: new Date().toISOString(), file };
    const recordPath = path.join(dir, `${partNumber}.json`);
    const previous = await readFile(recordPath, 'utf8').then(
      (text) => (JSON.parse(text) as PartRecord).file,
      () => undefined,
    );
    try {
      // The commit: from here on the part is stored, and a part of the same number before it is not.
      await writeFileAtomic(recordPath, JSON.stringify(part));
    } catch (error) {
      await rm(path.join(dir, file), { force: true });
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw noSuchUpload(uploadId);
      throw error;
    }
    if (previous && previous !== file) await rm(path.join(dir, previous), { force: true });
    return { status: 200, headers: { etag: `"${part.md5}"`, 'content-length': '0' }, body: '' };
  }

  async function listParts(req: IncomingMessage, bucket: string, key: string, query: URLSearchParams, body: CheckedBody): Promise<MultipartAnswer> {
    const uploadId = query.get('uploadId')!;
    const upload = await readUpload(uploadId, bucket, key);
    await drain(req, body);
    const maxParts = integerParameter(query, 'max-parts', DEFAULT_MAX_PARTS, 'Provided max-parts not an integer or within integer range');
    const marker = integerParameter(query, 'part-number-marker', 0, 'Provided part-number-marker not an integer or within integer range');
    const after = (await readParts(uploadId)).filter((part) => part.partNumber > marker);
    const page = after.slice(0, Math.min(maxParts, DEFAULT_MAX_PARTS));
    const truncated = after.length > page.length;
    const document = result('ListPartsResult')
      .c(text('Bucket', bucket))
      .c(text('Key', upload.key))
      .c(text('UploadId', uploadId))
      .c(owner('Initiator'))
      .c(owner('Owner'))
      .c(text('StorageClass', 'STANDARD'))
      .c(text('PartNumberMarker', String(marker)))
      .c(text('NextPartNumberMarker', String(page.at(-1)?.partNumber ?? 0)))
      .c(text('MaxParts', String(maxParts)))
      .c(text('IsTruncated', String(truncated)));
    for (const part of page) {
      document.c(
        new XmlNode('Part')
          .c(text('PartNumber', String(part.partNumber)))
          .c(text('LastModified', part.lastModified))
          .c(text('ETag', `"${part.md5}"`))
          .c(text('Size', String(part.size))),
      );
    }
    return xmlAnswer(document);
  }

  async function abortMultipartUpload(req: IncomingMessage, bucket: string, key: string, query: URLSearchParams, body: CheckedBody): Promise<MultipartAnswer> {
    const uploadId = query.get('uploadId')!;
    await readUpload(uploadId, bucket, key);
    await drain(req, body);
    await removeUpload(uploadId);
    return { status: 204, headers: {}, body: '' };
  }

  async function listMultipartUploads(req: IncomingMessage, bucket: string, query: URLSearchParams, body: CheckedBody): Promise<MultipartAnswer> {
    if (query.get('delimiter')) throw notImplemented('ListMultipartUploads with a delimiter is not implemented by the local S3 stand-in.');
    await checkBucketExists(bucket);
    await drain(req, body);
    const prefix = query.get('prefix') ?? '';
    const keyMarker = query.get('key-marker') ?? '';
    const uploadIdMarker = query.get('upload-id-marker') ?? '';
    const maxUploads = integerParameter(query, 'max-uploads', DEFAULT_MAX_UPLOADS, 'Provided max-uploads not an integer or within integer range');
    const names = await readdir(root).catch(() => [] as string[]);
    const uploads: Array<UploadRecord & { uploadId: string }> = [];
    for (const uploadId of names.filter((name) => UPLOAD_ID.test(name))) {
      const upload = await readFile(path.join(uploadDir(uploadId), UPLOAD_RECORD), 'utf8').then(
        (text) => JSON.parse(text) as UploadRecord,
        () => undefined, // aborted, completed or never recorded
      );
      if (upload && upload.bucket === bucket && upload.key.startsWith(prefix)) uploads.push({ ...upload, uploadId });
    }
    // S3 lists by key, and the uploads of one key by initiation time.
    uploads.sort((a, b) => compare(a.key, b.key) || compare(a.initiated, b.initiated) || compare(a.uploadId, b.uploadId));
    let start = 0;
    if (keyMarker) {
      start = uploads.findIndex((upload) => compare(upload.key, keyMarker) > 0);
      if (start === -1) start = uploads.length;
      if (uploadIdMarker) {
        // Resume inside the marker's key, after the marker's upload.
        const markerIndex = uploads.findIndex((upload) => upload.key === keyMarker && upload.uploadId === uploadIdMarker);
        if (markerIndex !== -1) start = markerIndex + 1;
      }
    }
    const page = uploads.slice(start, start + Math.min(maxUploads, DEFAULT_MAX_UPLOADS));
    const truncated = start + page.length < uploads.length;
    const document = result('ListMultipartUploadsResult')
      .c(text('Bucket', bucket))
      .c(text('KeyMarker', keyMarker))
      .c(text('UploadIdMarker', uploadIdMarker))
      .c(text('NextKeyMarker', page.at(-1)?.key ?? ''))
      .c(text('NextUploadIdMarker', page.at(-1)?.uploadId ?? ''))
      .c(text('Prefix', prefix))
      .c(text('MaxUploads', String(maxUploads)))
      .c(text('IsTruncated', String(truncated)));
    for (const upload of page) {
      document.c(
        new XmlNode('Upload')
          .c(text('Key', upload.key))
          .c(text('UploadId', upload.uploadId))
          .c(owner('Initiator'))
          .c(owner('Owner'))
          .c(text('StorageClass', 'STANDARD'))
          .c(text('Initiated', upload.initiated)),
      );
    }
    return xmlAnswer(document);
  }

  async function completeMultipartUpload(
    req: IncomingMessage,
    bucket: string,
    key: string,
    query: URLSearchParams,
    body: CheckedBody,
  ): Promise<MultipartAnswer> {
    const uploadId = query.get('uploadId')!;
    const upload = await readUpload(uploadId, bucket, key);
    const xml = await readBody(req, body, MAX_COMPLETE_BODY_BYTES);
    const listed = listedParts(xml);
    const stored = new Map((await readParts(uploadId)).map((part) => [part.partNumber, part]));
    const parts: PartRecord[] = [];
    for (const [index, { partNumber, etag }] of listed.entries()) {
      if (index > 0 && partNumber <= listed[index - 1]!.partNumber) throw invalidPartOrder(uploadId, partNumber);
      const part = stored.get(partNumber);
      // S3 ignores the quotes of the ETags it is given.
      if (!part || part.md5 !== etag.replace(/"/g, '').toLowerCase()) throw invalidPart(uploadId, partNumber, etag);
      parts.push(part);
    }
    for (const part of parts.slice(0, -1)) {
      if (part.size < MIN_PART_SIZE) throw entityTooSmall(part.size, MIN_PART_SIZE, part.partNumber, `"${part.md5}"`);
    }
    const size = parts.reduce((total, part) => total + part.size, 0);
    const etag = `${createHash('md5')
      .update(Buffer.concat(parts.map((part) => Buffer.from(part.md5, 'hex'))))
      .digest('hex')}-${parts.length}`;

    const dir = uploadDir(uploadId);
    const headers: http.OutgoingHttpHeaders = { ...upload.headers, 'content-length': size };
    const end = options.completing.begin(bucket, key, etag, size);
    try {
      const answer = await upstreamRequest(
        'PUT',
        `/${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`,
        headers,
        Readable.from(concatenateFiles(parts.map((part) => path.join(dir, part.file)))),
      );
      if (answer.status !== 200) throw new Error(`s3rver answered ${answer.status} to the PUT completing upload ${uploadId}: ${answer.body}`);
    } finally {
      end();
    }
    // The object exists; the upload and every part, listed or not, go (as in S3).
    await removeUpload(uploadId).catch((error: unknown) => {
      if (!(error instanceof S3ErrorResponse)) throw error;
    });
    const location = `http://${req.headers.host ?? 'localhost'}/${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
    return xmlAnswer(
      result('CompleteMultipartUploadResult')
        .c(text('Location', location))
        .c(text('Bucket', bucket))
        .c(text('Key', key))
        .c(text('ETag', `"${etag}"`)),
    );
  }

  return {
    async handle(operation, req, body) {
      const { bucket, key, query } = splitTarget(req.url ?? '/');
      switch (operation) {
        case 'ListMultipartUploads':
          return listMultipartUploads(req, bucket, query, body);
        case 'CreateMultipartUpload':
          return createMultipartUpload(req, bucket, key!, body);
        case 'UploadPart':
          return uploadPart(req, bucket, key!, query, body);
        case 'ListParts':
          return listParts(req, bucket, key!, query, body);
        case 'AbortMultipartUpload':
          return abortMultipartUpload(req, bucket, key!, query, body);
        case 'CompleteMultipartUpload':
          return completeMultipartUpload(req, bucket, key!, query, body);
      }
    },
  };
}

/**
 * The store is a folder beside s3rver's buckets (the stand-in's data stays in one directory), and
 * s3rver takes every folder there for a bucket: ListBuckets would show `.multipart`, and requests
 * to that "bucket" would write into the store. No S3 bucket name starts with a dot; s3rver is
 * told this one does not exist.
 */
export function hideMultipartStoreFromS3rver(server: S3rver): void {
  const store = (server as unknown as { store: { getBucket(name: string): Promise<unknown> } }).store;
  if (typeof store?.getBucket !== 'function') throw new Error('s3rver changed: its filesystem store no longer has getBucket (see s3-multipart.ts)');
  const getBucket = store.getBucket.bind(store);
  store.getBucket = async (name) => (name === MULTIPART_FOLDER ? null : getBucket(name));
}

/**
 * Removes what a crash left in the multipart store: writes of parts and records that never
 * finished, part data no record names (written, not committed), upload folders without their
 * record, and folders of removed uploads. Run before the front serves, so nothing is in progress.
 */
export async function recoverMultipartStore(directory: string): Promise<void> {
  const root = path.join(directory, MULTIPART_FOLDER);
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    const dir = path.join(root, name);
    const entries = await readdir(dir).catch(() => undefined);
    if (!UPLOAD_ID.test(name) || !entries || !entries.includes(UPLOAD_RECORD)) {
      await rm(dir, { recursive: true, force: true });
      continue;
    }
    const referenced = new Set<string>();
    for (const entry of entries.filter((entry) => PART_RECORD.test(entry))) {
      const part = await readFile(path.join(dir, entry), 'utf8').then(
        (text) => JSON.parse(text) as PartRecord,
        () => undefined,
      );
      if (part) referenced.add(part.file);
    }
    const leftovers = entries.filter((entry) => entry !== UPLOAD_RECORD && !PART_RECORD.test(entry) && !referenced.has(entry));
    await Promise.all(leftovers.map((entry) => rm(path.join(dir, entry), { force: true })));
  }
}

/** `/{bucket}/{key}?{query}`, path-style, the key decoded (the front checked it is decodable). */
function splitTarget(url: string): { bucket: string; key: string | undefined; query: URLSearchParams } {
  const queryStart = url.indexOf('?');
  const target = queryStart === -1 ? url : url.slice(0, queryStart);
  const query = new URLSearchParams(queryStart === -1 ? '' : url.slice(queryStart + 1));
  const slash = target.indexOf('/', 1);
  const bucket = decodeURIComponent(target.slice(1, slash === -1 ? undefined : slash));
  const rawKey = slash === -1 ? '' : target.slice(slash + 1);
  return { bucket, key: rawKey === '' ? undefined : decodeURIComponent(rawKey), query };
}

/** The parts a CompleteMultipartUpload body lists, in its order. */
function listedParts(xml: string): Array<{ partNumber: number; etag: string }> {
  let document: unknown;
  try {
    document = parseXML(xml);
  } catch {
    throw malformedXml();
  }
  const root = (document as { CompleteMultipartUpload?: { Part?: unknown } } | undefined)?.CompleteMultipartUpload;
  const listed = root?.Part === undefined ? [] : Array.isArray(root.Part) ? root.Part : [root.Part];
  // S3 answers MalformedXML for an empty list too.
  if (listed.length === 0) throw malformedXml();
  return listed.map((part: { PartNumber?: unknown; ETag?: unknown }) => {
    const partNumber = Number(part.PartNumber);
    if (typeof part.PartNumber !== 'string' || !Number.isInteger(partNumber) || typeof part.ETag !== 'string') throw malformedXml();
    return { partNumber, etag: part.ETag };
  });
}

/** Content-MD5, when sent: base64 of 16 bytes, or S3's InvalidDigest. */
function contentMd5Of(req: IncomingMessage): Buffer | undefined {
  const value = req.headers['content-md5'];
  if (value === undefined) return undefined;
  const header = Array.isArray(value) ? value.join(',') : value;
  const digest = Buffer.from(header, 'base64');
  if (digest.length !== 16 || digest.toString('base64') !== header.trim()) throw invalidDigest(header);
  return digest;
}

/**
 * An `x-amz-checksum-<algorithm>` the part declares, as a header or (pre-signed) in the query: S3
 * checks it, and a pre-signed URL from an SDK client left at its default checksum setting carries
 * the CRC32 of an empty body, which S3 refuses for any real part. CRC32C and CRC64NVME have no
 * implementation in node and are refused rather than passed unchecked.
 */
/** Headers named like a checksum that carry none: the algorithm or type chosen for an upload. */
const NOT_A_CHECKSUM = new Set(['x-amz-checksum-algorithm', 'x-amz-checksum-type']);

function declaredChecksumOf(
  req: IncomingMessage,
  query: URLSearchParams,
): { algorithm: string; expected: string; update(chunk: Buffer): void; digest(): string } | undefined {
  const declared = Object.keys(req.headers)
    .filter((name) => name.startsWith('x-amz-checksum-') && !NOT_A_CHECKSUM.has(name))
    .map((name) => [name, String(req.headers[name])] as const);
  query.forEach((value, name) => {
    if (name.toLowerCase().startsWith('x-amz-checksum-') && !NOT_A_CHECKSUM.has(name.toLowerCase())) declared.push([name.toLowerCase(), value]);
  });
  if (declared.length === 0) return undefined;
  if (declared.length > 1) throw invalidRequest('Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  const [name, expected] = declared[0]!;
  const algorithm = name.slice('x-amz-checksum-'.length).toUpperCase();
  if (algorithm === 'CRC32') {
    let value = 0;
    return {
      algorithm,
      expected,
      update: (chunk) => (value = crc32(chunk, value)),
      digest: () => {
        const bytes = Buffer.alloc(4);
        bytes.writeUInt32BE(value >>> 0);
        return bytes.toString('base64');
      },
    };
  }
  if (algorithm === 'SHA1' || algorithm === 'SHA256') {
    const hash: Hash = createHash(algorithm.toLowerCase());
    return { algorithm, expected, update: (chunk) => hash.update(chunk), digest: () => hash.copy().digest('base64') };
  }
  throw notImplemented(`The local S3 stand-in does not check ${name}; use a client with requestChecksumCalculation WHEN_REQUIRED.`);
}

function integerParameter(query: URLSearchParams, name: string, fallback: number, message: string): number {
  const value = query.get(name);
  if (value === null) return fallback;
  if (!/^\d{1,9}$/.test(value)) throw invalidArgument(message, { ArgumentName: name, ArgumentValue: value });
  return Number(value);
}

/** S3 orders keys by their UTF-8 bytes. */
const compare = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function* concatenateFiles(files: string[]): AsyncGenerator<Buffer> {
  for (const file of files) yield* createReadStream(file) as AsyncIterable<Buffer>;
}

/** Reads a small body through the front's checks. */
async function readBody(req: IncomingMessage, body: CheckedBody, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  body.proceed();
  await pipeline(req, body.stream, async (checked: AsyncIterable<Buffer>) => {
    for await (const chunk of checked) {
      length += chunk.length;
      if (length > limit) throw malformedXml();
      chunks.push(chunk);
    }
  });
  return Buffer.concat(chunks).toString('utf8');
}

/** Consumes a body the operation has no use for (still checked against its signature). */
async function drain(req: IncomingMessage, body: CheckedBody): Promise<void> {
  body.proceed();
  await pipeline(req, body.stream, async (checked: AsyncIterable<Buffer>) => {
    for await (const _chunk of checked);
  });
}

const text = (name: string, value: string) => XmlNode.of(name, value);
const result = (name: string) => new XmlNode(name).a('xmlns', S3_XMLNS);
const owner = (name: string) => new XmlNode(name).c(text('ID', LOCAL_OWNER.ID)).c(text('DisplayName', LOCAL_OWNER.DisplayName));

function xmlAnswer(document: XmlNode): MultipartAnswer {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n${document.toString()}`;
  return { status: 200, headers: { 'content-type': 'application/xml', 'content-length': String(Buffer.byteLength(body)) }, body };
}
