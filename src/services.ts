/**
 * The composition root: config + AWS clients → the services routes and event handlers use.
 * Every runtime (API Lambda, event Lambdas, local stack, tests) builds them here, once.
 */
import type { Config } from './config.ts';
import { createAwsClients, type AwsClients } from './aws-clients.ts';
import { createVideoCatalog } from './video-catalog.ts';
import { createVideoStorage } from './video-storage.ts';
import { createVideoService, type VideoService } from './video-service.ts';
import { createTokenVerifier, type TokenVerifier } from './auth.ts';
import type { Transcoder } from './transcoder/transcoder.ts';
import { createMediaConvertTranscoder } from './transcoder/mediaconvert-transcoder.ts';
import { createFfmpegWorkerTranscoder } from './transcoder/ffmpeg-worker-transcoder.ts';

export interface Services {
  videos: VideoService;
  tokens: TokenVerifier;
}

function createTranscoder(config: Config, clients: AwsClients): Transcoder {
  if (config.TRANSCODER === 'ffmpeg-worker') {
    return createFfmpegWorkerTranscoder({ endpoint: config.TRANSCODE_WORKER_URL! });
  }
  return createMediaConvertTranscoder({
    client: clients.mediaConvert,
    roleArn: config.MEDIACONVERT_ROLE_ARN!,
    bucket: config.BUCKET_NAME,
    ...(config.MEDIACONVERT_QUEUE_ARN ? { queueArn: config.MEDIACONVERT_QUEUE_ARN } : {}),
  });
}

export function createServices(config: Config, clients: AwsClients = createAwsClients(config)): Services {
  const catalog = createVideoCatalog({ dynamo: clients.dynamo, tableName: config.TABLE_NAME });
  const storage = createVideoStorage({ s3: clients.s3, bucket: config.BUCKET_NAME });
  return {
    videos: createVideoService({
      catalog,
      storage,
      transcoder: createTranscoder(config, clients),
      maxUploadBytes: config.MAX_UPLOAD_BYTES,
      uploadUrlTtlSeconds: config.UPLOAD_URL_TTL_SECONDS,
    }),
    tokens: createTokenVerifier({
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      jwksUrl: config.JWT_JWKS_URL,
    }),
  };
}
