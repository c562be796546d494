/**
 * The event functions as AWS runs them, against a local test stack: their `handler` exports build
 * their services from the environment, set here as template.yaml sets it (TRANSCODER is
 * mediaconvert), with MediaConvert an HTTP stand-in that records the CreateJob the SDK sends and
 * passes Probe to the local worker. Import the handlers after this has run.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Test } from 'tap';
import { createAwsClients } from '../../src/app/aws-clients.ts';
import { createVideoCatalog } from '../../src/adapters/dynamodb/video-catalog.ts';
import type { LocalStack } from '../../deploy/local/stack.ts';
import { startFakeMediaConvert } from './fake-mediaconvert.ts';

export const ROLE_ARN = 'arn:aws:iam::000000000000:role/vod-test-MediaConvertRole-1A2B3C';

export async function startAwsHandlers(t: Test, stack: LocalStack, environment: Record<string, string> = {}) {
  const mediaConvert = await startFakeMediaConvert(t, undefined, { probeUpstream: { url: stack.transcoderUrl, token: stack.config.TRANSCODE_WORKER_TOKEN! } });
  // template.yaml's settings for the event functions, with the stand-ins' endpoints.
  for (const [name, value] of Object.entries(stack.config)) {
    if (value !== undefined) process.env[name] = String(value);
  }
  process.env.TRANSCODER = 'mediaconvert';
  process.env.MEDIACONVERT_ENDPOINT = mediaConvert.url;
  process.env.MEDIACONVERT_ROLE_ARN = ROLE_ARN;
  delete process.env.TRANSCODE_WORKER_URL;
  Object.assign(process.env, environment);

  const bucket = stack.config.BUCKET_NAME;
  const clients = createAwsClients(stack.config);
  const s3 = await clients.s3();
  const catalog = createVideoCatalog({ dynamo: clients.dynamo, tableName: stack.config.TABLE_NAME });

  /**
   * A video awaiting its upload, with its source already in the bucket. The source goes in first,
   * while no record exists, so the local stack's own S3 notification finds nothing to start and
   * the job under test is the one the test's handler invocation submits.
   */
  async function uploadedVideo(file: string, ownerId: string): Promise<string> {
    const videoId = randomUUID();
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `uploads/${videoId}/source`, Body: await readFile(file), ContentType: 'video/mp4' }));
    await stack.idle();
    await catalog.create({
      videoId,
      title: 'An upload',
      ownerId,
      filename: 'clip.mp4',
      contentType: 'video/mp4',
      sizeBytes: 1,
      createdAt: new Date().toISOString(),
    });
    return videoId;
  }

  return { mediaConvert, bucket, s3, catalog, uploadedVideo };
}
