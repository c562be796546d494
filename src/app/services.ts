/**
 * The composition root: config + AWS clients → the services routes and event handlers use.
 * Every runtime (API Lambda, event Lambdas, local stack, tests) builds them here, once.
 */
import { tmpdir } from 'node:os';
import type { Config } from './config.ts';
import { createAwsClients, type AwsClients } from './aws-clients.ts';
import { loadOnce } from '../shared/load-once.ts';
import { createVideoCatalog } from '../adapters/dynamodb/video-catalog.ts';
import { createVideoStorage } from '../adapters/s3/video-storage.ts';
import { createVideoService, type VideoService } from '../domain/video-service.ts';
import { createTokenVerifier, type TokenVerifier } from '../adapters/cognito/token-verifier.ts';
import type { Transcoder } from '../domain/ports/transcoder.ts';
import { createFfmpegWorkerTranscoder } from '../adapters/ffmpeg-worker/ffmpeg-worker-transcoder.ts';
import { createPlaybackSigner, inlinePrivateKey, privateKeyFromSsm } from '../adapters/cloudfront/playback-signer.ts';
import { type PlaybackSigner } from '../domain/ports/playback-signer.ts';
import type { ReconcileReport } from '../domain/reconciler.ts';
import type { Logger } from '../shared/logger.ts';
import { createLambdaEventInvoker, type EventInvoker } from '../adapters/lambda/event-invoker.ts';

export interface Services {
  videos: VideoService;
  /** Hands an upload's S3 notification to the fast-start function (FAST_START_FUNCTION_NAME); absent when fast start is off. */
  requestFastStart?: EventInvoker;
  tokens: TokenVerifier;
  /** One reconciler run (src/domain/reconciler.ts), logging to `logger`. */
  reconcile(logger: Logger): Promise<ReconcileReport>;
}

function createTranscoder(config: Config, clients: AwsClients): Transcoder {
  // Both runtimes inspect sources alike: MediaConvert's Probe (the local worker answers it when
  // MEDIACONVERT_ENDPOINT points there) and the MP4 header. Loaded at the first upload event (a
  // chunk of its own): the API function never inspects a source nor submits a job.
  const inspector = loadOnce(async () => {
    const { createSourceInspector } = await import('../adapters/mediaconvert/source-inspector.ts');
    return createSourceInspector({ mediaConvert: clients.mediaConvert, s3: clients.s3, bucket: config.BUCKET_NAME });
  });
  const inspect = async (sourceKey: string) => (await inspector())(sourceKey);
  if (config.TRANSCODER === 'ffmpeg-worker') {
    return createFfmpegWorkerTranscoder({ endpoint: config.TRANSCODE_WORKER_URL!, token: config.TRANSCODE_WORKER_TOKEN!, inspect });
  }
  const mediaConvert = loadOnce(async () => {
    const [{ createMediaConvertTranscoder }, client] = await Promise.all([
      import('../adapters/mediaconvert/mediaconvert-transcoder.ts'),
      clients.mediaConvert(),
    ]);
    return createMediaConvertTranscoder({
      client,
      roleArn: config.MEDIACONVERT_ROLE_ARN!,
      bucket: config.BUCKET_NAME,
      inspect,
      ...(config.MEDIACONVERT_QUEUE_ARN ? { queueArn: config.MEDIACONVERT_QUEUE_ARN } : {}),
    });
  });
  return {
    inspect,
    submit: async (request) => (await mediaConvert()).submit(request),
    getJob: async (jobId) => (await mediaConvert()).getJob(jobId),
    findJob: async (videoId, since) => (await mediaConvert()).findJob(videoId, since),
    cancel: async (jobId) => (await mediaConvert()).cancel(jobId),
  };
}

function createPlayback(config: Config, clients: AwsClients): PlaybackSigner {
  return createPlaybackSigner({
    cdnBaseUrl: config.CDN_BASE_URL,
    keyPairId: config.CLOUDFRONT_KEY_PAIR_ID,
    // loadConfig guarantees exactly one of the two.
    privateKey: config.CLOUDFRONT_PRIVATE_KEY
      ? inlinePrivateKey(config.CLOUDFRONT_PRIVATE_KEY)
      : privateKeyFromSsm(clients.ssm, config.CLOUDFRONT_PRIVATE_KEY_PARAMETER!),
    ttlSeconds: config.PLAYBACK_URL_TTL_SECONDS,
    marginSeconds: config.PLAYBACK_URL_MARGIN_SECONDS,
  });
}

export function createServices(config: Config, clients: AwsClients = createAwsClients(config)): Services {
  const catalog = createVideoCatalog({ dynamo: clients.dynamo, tableName: config.TABLE_NAME });
  const storage = createVideoStorage({ s3: clients.s3, bucket: config.BUCKET_NAME });
  const transcoder = createTranscoder(config, clients);
  // Loaded at the first fast start: only the fast-start function (and the local stack) runs ffmpeg.
  const ffmpegFastStarter = loadOnce(async () => {
    const [{ createFfmpegFastStarter }, s3] = await Promise.all([import('../adapters/ffmpeg-hls/fast-start.ts'), clients.s3()]);
    return createFfmpegFastStarter({ s3, bucket: config.BUCKET_NAME, workRoot: tmpdir() });
  });
  const videos = createVideoService({
    catalog,
    storage,
    transcoder,
    fastStarter: { publish: async (request) => (await ffmpegFastStarter()).publish(request) },
    playback: createPlayback(config, clients),
    maxUploadBytes: config.MAX_UPLOAD_BYTES,
    uploadUrlTtlSeconds: config.UPLOAD_URL_TTL_SECONDS,
    multipart: {
      thresholdBytes: config.MULTIPART_THRESHOLD_BYTES,
      partBytes: config.MULTIPART_PART_BYTES,
      uploadTtlSeconds: config.MULTIPART_UPLOAD_TTL_SECONDS,
    },
    catalogCacheMs: config.CATALOG_CACHE_MS,
  });
  const fastStartFunction = config.FAST_START_FUNCTION_NAME;
  return {
    videos,
    ...(fastStartFunction ? { requestFastStart: createLambdaEventInvoker({ lambda: clients.lambda, functionName: fastStartFunction }) } : {}),
    async reconcile(logger) {
      // Loaded at the first run: only the reconciler's function (and the local timer) runs it.
      const { createReconciler, RUN_LIMITS } = await import('../domain/reconciler.ts');
      return createReconciler({
        videos,
        catalog,
        storage,
        transcoder,
        logger,
        settings: {
          graceSeconds: config.RECONCILE_GRACE_SECONDS,
          silentJobSeconds: config.RECONCILE_SILENT_JOB_SECONDS,
          uploadUrlTtlSeconds: config.UPLOAD_URL_TTL_SECONDS,
          maxAttempts: config.RECONCILE_MAX_ATTEMPTS,
          backoffSeconds: config.RECONCILE_BACKOFF_SECONDS,
          playbackLifetime: { ttlSeconds: config.PLAYBACK_URL_TTL_SECONDS, marginSeconds: config.PLAYBACK_URL_MARGIN_SECONDS },
          ...RUN_LIMITS,
        },
      })();
    },
    tokens: createTokenVerifier({
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      jwksUrl: config.JWT_JWKS_URL,
    }),
  };
}
