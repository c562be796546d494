/**
 * The AWS SDK clients, built once per process from config and passed to whatever needs them.
 * An endpoint override points a client at a local stand-in; nothing else differs.
 *
 * Every client is loaded at its first use, by a dynamic import that the bundles keep in a chunk
 * of its own (deploy/build.ts splits chunks): the API function never submits a job, reads SSM once
 * (at the first playback) and needs S3 only to sign an upload or delete a video, so listing,
 * showing and playing never load those SDKs; DynamoDB's loads at the first catalog read (about
 * 21 ms in the API bundle on 2 cores: the SDK core and the DynamoDB client), which the health check, the docs, the OpenAPI
 * document and the web page never make. The cold start parses and evaluates none of them.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { MediaConvertClient } from '@aws-sdk/client-mediaconvert';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { Config } from './config.ts';
import { loadOnce } from '../shared/load-once.ts';
import { WORKER_TOKEN_HEADER } from '../adapters/ffmpeg-worker/ffmpeg-worker-transcoder.ts';

export interface AwsClients {
  /** Built at the first call, then the same client every time. */
  s3: () => Promise<S3Client>;
  /** Built at the first call, then the same client every time. */
  dynamo: () => Promise<DynamoDBDocumentClient>;
  /** Built at the first call, then the same client every time. */
  mediaConvert: () => Promise<MediaConvertClient>;
  /** Reads the CloudFront signing key (a SecureString parameter) in AWS; built at the first call. */
  ssm: () => Promise<SSMClient>;
  /** Hands uploads to the fast-start function; built at the first call. */
  lambda: () => Promise<LambdaClient>;
}

export async function createS3Client(config: Pick<Config, 'AWS_REGION' | 'S3_ENDPOINT'>): Promise<S3Client> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  return new S3Client({
    region: config.AWS_REGION,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT, forcePathStyle: true } : {}),
    // Checksums only where S3 requires them: SDK >= 3.729 otherwise sends aws-chunked bodies and
    // signs an empty-body CRC32 into presigned PUTs, which S3-compatible stores such as
    // the local stand-in mishandle (test/deploy/local/s3-auth-proxy.test.ts shows the refusal).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * The SDK's logger middleware, after every call, makes copies of the input and the output with
 * sensitive members redacted and passes them to `logger.info?.(...)`; its default logger
 * (NoOpLogger) has an `info` that drops them, so every call paid for copies nobody reads: about a
 * sixth of the SDK's CPU per DynamoDB call (measured with --cpu-prof, a list page of 20). Without an
 * `info` the optional call skips the copies. Errors still reach `error`, and are dropped as before.
 */
const SILENT_LOGGER = { trace() {}, debug() {}, warn() {}, error() {} } as unknown as NonNullable<DynamoDBClientConfig['logger']>;

/** The catalog's client; `overrides` let the bench answer requests in-process (test/bench). */
export async function createDynamoDbClient(
  config: Pick<Config, 'AWS_REGION' | 'DYNAMODB_ENDPOINT'>,
  overrides: DynamoDBClientConfig = {},
): Promise<DynamoDBDocumentClient> {
  const [{ DynamoDBClient }, { DynamoDBDocumentClient }] = await Promise.all([import('@aws-sdk/client-dynamodb'), import('@aws-sdk/lib-dynamodb')]);
  const client = new DynamoDBClient({
    region: config.AWS_REGION,
    ...(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {}),
    logger: SILENT_LOGGER,
    ...overrides,
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** The local worker answers Probe only for its own stack: its token rides on every call. */
export function sendWorkerToken(client: MediaConvertClient, token: string): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      (args.request as { headers: Record<string, string> }).headers[WORKER_TOKEN_HEADER] = token;
      return next(args);
    },
    { step: 'build', name: 'localWorkerToken' },
  );
}

export function createAwsClients(config: Config): AwsClients {
  return {
    s3: loadOnce(() => createS3Client(config)),
    dynamo: loadOnce(() => createDynamoDbClient(config)),
    // MediaConvert accounts have a regional endpoint; DescribeEndpoints is throttled and not needed.
    mediaConvert: loadOnce(async () => {
      const { MediaConvertClient } = await import('@aws-sdk/client-mediaconvert');
      const client = new MediaConvertClient({
        region: config.AWS_REGION,
        ...(config.MEDIACONVERT_ENDPOINT ? { endpoint: config.MEDIACONVERT_ENDPOINT } : {}),
      });
      if (config.TRANSCODE_WORKER_TOKEN) sendWorkerToken(client, config.TRANSCODE_WORKER_TOKEN);
      return client;
    }),
    ssm: loadOnce(async () => {
      const { SSMClient } = await import('@aws-sdk/client-ssm');
      return new SSMClient({ region: config.AWS_REGION });
    }),
    lambda: loadOnce(async () => {
      const { LambdaClient } = await import('@aws-sdk/client-lambda');
      return new LambdaClient({ region: config.AWS_REGION });
    }),
  };
}
