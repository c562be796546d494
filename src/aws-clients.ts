/**
 * The AWS SDK clients, built once per process from config and passed to whatever needs them.
 * An endpoint override points a client at a local stand-in; nothing else differs.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MediaConvertClient } from '@aws-sdk/client-mediaconvert';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Config } from './config.ts';

export interface AwsClients {
  s3: S3Client;
  dynamo: DynamoDBDocumentClient;
  mediaConvert: MediaConvertClient;
  /** Reads the CloudFront signing key (a SecureString parameter) in AWS. */
  ssm: SSMClient;
}

export function createS3Client(config: Pick<Config, 'AWS_REGION' | 'S3_ENDPOINT'>): S3Client {
  return new S3Client({
    region: config.AWS_REGION,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT, forcePathStyle: true } : {}),
    // Checksums only where S3 requires them: SDK >= 3.729 otherwise sends aws-chunked bodies and
    // signs an empty-body CRC32 into presigned PUTs, which S3-compatible stores mishandle (FACTS.md).
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function createAwsClients(config: Config): AwsClients {
  const dynamoClient = new DynamoDBClient({
    region: config.AWS_REGION,
    ...(config.DYNAMODB_ENDPOINT ? { endpoint: config.DYNAMODB_ENDPOINT } : {}),
  });
  return {
    s3: createS3Client(config),
    dynamo: DynamoDBDocumentClient.from(dynamoClient, {
      marshallOptions: { removeUndefinedValues: true },
    }),
    // MediaConvert accounts have a regional endpoint; DescribeEndpoints is throttled and not needed.
    mediaConvert: new MediaConvertClient({
      region: config.AWS_REGION,
      ...(config.MEDIACONVERT_ENDPOINT ? { endpoint: config.MEDIACONVERT_ENDPOINT } : {}),
    }),
    ssm: new SSMClient({ region: config.AWS_REGION }),
  };
}
