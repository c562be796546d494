/**
 * s3rver emits notifications close to S3's but not the same (s3rver 3.7): eventVersion 2.0, keys
 * not URL-encoded, `arn:aws:s3: : :bucket`. This turns one into what S3 itself sends, and applies
 * the bucket notification filter the SAM template declares (ObjectCreated under uploads/).
 */
import type { S3Event, S3EventRecord } from '../../../src/schemas/events.ts';
import { UPLOADS_PREFIX } from '../../../src/domain/storage-layout.ts';

/** S3 encodes keys like an HTML form: percent-encoding, spaces as '+', slashes kept. */
export const encodeS3Key = (key: string) =>
  key
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/%20/g, '+'))
    .join('/');

interface S3rverRecord {
  eventName: string;
  eventTime: string;
  awsRegion: string;
  s3: {
    s3SchemaVersion: string;
    configurationId?: string;
    bucket: { name: string };
    object: { key: string; size?: number; eTag?: string; sequencer: string };
  };
  [field: string]: unknown;
}

export function toAwsS3Event(event: { Records: S3rverRecord[] }, region: string): S3Event | undefined {
  const records: S3EventRecord[] = event.Records.filter(
    (record) => record.eventName.startsWith('ObjectCreated:') && record.s3.object.key.startsWith(UPLOADS_PREFIX),
  ).map((record) => ({
    ...record,
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: region,
    eventTime: record.eventTime,
    eventName: record.eventName,
    s3: {
      ...record.s3,
      configurationId: 'UploadCreated',
      bucket: { ...record.s3.bucket, arn: `arn:aws:s3:::${record.s3.bucket.name}` },
      object: {
        ...record.s3.object,
        key: encodeS3Key(record.s3.object.key),
        // S3 sequencers are fixed-width hex that sort by time; s3rver's is a bare ms timestamp.
        sequencer: record.s3.object.sequencer.padStart(16, '0'),
      },
    },
  }));
  return records.length > 0 ? { Records: records } : undefined;
}
