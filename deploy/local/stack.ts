/**
 * The whole system on one machine: the same app and event handlers that run in AWS, with
 * stand-ins for S3 (s3rver), DynamoDB (dynalite), MediaConvert (the ffmpeg worker), EventBridge
 * and S3 notifications (durable outboxes delivering AWS-shaped events), Cognito (a local JWT
 * issuer) and CloudFront (a signature-checking front that runs the Lambda@Edge manifest signer).
 * Everything lives under one data directory, so a restart keeps every video.
 * `npm start` runs it (deploy/local/start.ts); the tests start it on ephemeral ports.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { loadConfig, type Config } from '../../src/app/config.ts';
import { createAwsClients, createS3Client } from '../../src/app/aws-clients.ts';
import { createServices, type Services } from '../../src/app/services.ts';
import { startApiServer } from '../../src/app/server.ts';
import type { S3Event } from '../../src/schemas/events.ts';
import type { ReconcileReport } from '../../src/domain/reconciler.ts';
import { redactingDestination, type LogDestination } from '../../src/shared/redact.ts';
import { createS3UploadHandler } from '../../events/s3-upload.ts';
import { createJobStateChangeHandler } from '../../events/job-state-change.ts';
import { createFastStartHandler } from '../../events/fast-start.ts';
import { startLocalS3, LOCAL_S3_ACCESS_KEY, LOCAL_S3_SECRET_KEY } from './s3/s3-server.ts';
import { startLocalDynamoDb } from './dynamodb/dynamodb-server.ts';
import { startLocalIssuer, issueToken, LOCAL_AUDIENCE, LOCAL_ISSUER } from './cognito/issuer.ts';
import { createEventOutbox, type RetryPolicy } from './event-outbox.ts';
import { toAwsS3Event } from './s3/s3-notifications.ts';
import { crashArmed } from './crash-points.ts';
import { createTranscodeWorker, type TranscodeJobEvent } from './mediaconvert/worker.ts';
import { loadCloudFrontKeyPair, startLocalCloudFront } from './cloudfront/cloudfront.ts';
import { createManifestSigner } from '../../edge/manifest-signer.ts';
import { loadWorkerToken, startTranscodeWorkerServer } from './mediaconvert/server.ts';

export const LOCAL_BUCKET = 'vod-local';
export const LOCAL_TABLE = 'vod-videos';
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT_ID = '000000000000';

export interface LocalStackPorts {
  api: number;
  cdn: number;
  issuer: number;
  s3: number;
  dynamodb: number;
  transcoder: number;
}

/**
 * How Lambda runs the fast-start function (template.yaml: FastStartFunction's Timeout, and
 * FastStartInvokeConfig's MaximumRetryAttempts and MaximumEventAgeInSeconds;
 * test/deploy/template.test.ts holds them equal): the local stack runs its handler the same way.
 */
export const FAST_START_INVOCATION = { timeoutSeconds: 300, retries: 0, maxEventAgeSeconds: 300 } as const;
export const FAST_START_TIMEOUT_SECONDS = FAST_START_INVOCATION.timeoutSeconds;

/** `npm start`'s ports; tests pass 0 everywhere for ephemeral ones. */
export const DEFAULT_PORTS: LocalStackPorts = { api: 3000, cdn: 3001, issuer: 3002, s3: 3003, dynamodb: 3004, transcoder: 3005 };

export interface LocalStackOptions {
  dataDir: string;
  ports?: Partial<LocalStackPorts>;
  transcodeConcurrency?: number;
  /** The worker transcodes at most this many times real time (none by default; see src/adapters/ffmpeg-hls/ffmpeg-ladder.ts). */
  transcodeSpeedLimit?: number;
  /** Settings passed through to the app as environment variables would be (e.g. MAX_UPLOAD_BYTES). */
  settings?: Record<string, string>;
  logLevel?: Config['LOG_LEVEL'];
  /** How event deliveries are retried (tests shorten the waits). */
  eventRetry?: RetryPolicy;
  /** Where every part's log lines go, redacted (src/shared/redact.ts); stdout by default. */
  logDestination?: LogDestination;
}

export interface LocalStack {
  apiUrl: string;
  /** The CloudFront stand-in: every manifest URL the API hands out points here. */
  cdnUrl: string;
  s3Url: string;
  dynamoDbUrl: string;
  issuerUrl: string;
  transcoderUrl: string;
  config: Config;
  services: Services;
  api: FastifyInstance;
  logger: Logger;
  /** A bearer token for `userId` from the local issuer. */
  token(userId: string, options?: Parameters<typeof issueToken>[2]): Promise<string>;
  /** Resolves once no event is waiting and no transcode is queued or running. */
  idle(): Promise<void>;
  /** One reconciler run now (the stack also runs it every RECONCILE_PERIOD_SECONDS). */
  reconcile(): Promise<ReconcileReport>;
  stop(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const ports = { ...DEFAULT_PORTS, ...options.ports };
  const logDestination = options.logDestination ?? process.stdout;
  const logger = pino({ level: options.logLevel ?? 'info', base: { service: 'local-stack' } }, redactingDestination(logDestination));
  const dataDir = options.dataDir;
  await mkdir(dataDir, { recursive: true });

  // The SDK's default credential chain reads these: s3rver accepts only this access key, and
  // dynalite any. Set here so a developer's real AWS credentials never reach a stand-in.
  process.env.AWS_ACCESS_KEY_ID = LOCAL_S3_ACCESS_KEY;
  process.env.AWS_SECRET_ACCESS_KEY = LOCAL_S3_SECRET_KEY;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;

  const stoppers: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const stopOne of stoppers.reverse()) {
      await stopOne().catch((error: unknown) => logger.error({ err: error }, 'error while stopping'));
    }
    stoppers.length = 0;
  };

  try {
    const s3 = await startLocalS3({
      directory: join(dataDir, 's3'),
      port: ports.s3,
      bucket: LOCAL_BUCKET,
      onInternalError: (error) => logger.error({ part: 's3', err: error }, 'S3 stand-in front failed a request'),
    });
    stoppers.push(() => s3.close());
    const dynamoDb = await startLocalDynamoDb({
      directory: join(dataDir, 'dynamodb'),
      port: ports.dynamodb,
      tableName: LOCAL_TABLE,
      region: LOCAL_REGION,
    });
    stoppers.push(() => dynamoDb.close());
    const issuer = await startLocalIssuer({ dir: join(dataDir, 'issuer'), port: ports.issuer });
    stoppers.push(() => issuer.close());
    // CloudFront: the key group trusts one key pair kept in the data dir; the origin-request
    // function is the Lambda@Edge handler's own code, reading playlists from the S3 stand-in.
    const cloudFrontKeys = await loadCloudFrontKeyPair(join(dataDir, 'cloudfront'));
    const cdnS3 = await createS3Client({ AWS_REGION: LOCAL_REGION, S3_ENDPOINT: s3.url });
    const cdn = await startLocalCloudFront({
      port: ports.cdn,
      s3Client: cdnS3,
      bucket: LOCAL_BUCKET,
      region: LOCAL_REGION,
      trustedKeys: [cloudFrontKeys],
      edgeHandler: createManifestSigner({ s3: cdnS3, secureCookies: false }),
      logger: logger.child({ part: 'cloudfront' }),
    });
    stoppers.push(() => cdn.close());

    // MediaConvert's stand-in reports through the EventBridge stand-in, as MediaConvert does.
    let deliverJobEvent: (event: TranscodeJobEvent) => Promise<unknown> = async () => {
      throw new Error('event handlers not wired yet');
    };
    const jobEvents = createEventOutbox<TranscodeJobEvent>({
      name: 'eventbridge',
      dir: join(dataDir, 'events', 'eventbridge'),
      deliver: (event) => deliverJobEvent(event),
      logger,
      ...(options.eventRetry ? { retry: options.eventRetry } : {}),
    });
    // The worker lists renditions at COMPLETE, like MediaConvert: fast start is the fast-start handler's.
    const worker = createTranscodeWorker({
      s3: await createS3Client({ AWS_REGION: LOCAL_REGION, S3_ENDPOINT: s3.url }),
      bucket: LOCAL_BUCKET,
      dataDir: join(dataDir, 'transcoder'),
      concurrency: options.transcodeConcurrency ?? 1,
      ...(options.transcodeSpeedLimit ? { speedLimit: options.transcodeSpeedLimit } : {}),
      region: LOCAL_REGION,
      accountId: LOCAL_ACCOUNT_ID,
      publish: (event) => jobEvents.publish(event),
      logger: logger.child({ part: 'transcoder' }),
    });
    // The worker takes requests only from this stack: a secret made once per data directory.
    const workerToken = await loadWorkerToken(dataDir);
    const workerServer = await startTranscodeWorkerServer({
      worker,
      token: workerToken,
      host: '127.0.0.1',
      port: ports.transcoder,
      logger: logger.child({ part: 'transcoder' }),
    });
    stoppers.push(() => workerServer.close());
    stoppers.push(() => worker.stop());

    const config = loadConfig({
      AWS_REGION: LOCAL_REGION,
      BUCKET_NAME: LOCAL_BUCKET,
      TABLE_NAME: LOCAL_TABLE,
      S3_ENDPOINT: s3.url,
      DYNAMODB_ENDPOINT: dynamoDb.url,
      TRANSCODER: 'ffmpeg-worker',
      TRANSCODE_WORKER_URL: workerServer.url,
      TRANSCODE_WORKER_TOKEN: workerToken,
      // The worker stands in for MediaConvert's Probe too: sources are inspected as in AWS.
      MEDIACONVERT_ENDPOINT: workerServer.url,
      JWT_ISSUER: LOCAL_ISSUER,
      JWT_AUDIENCE: LOCAL_AUDIENCE,
      JWT_JWKS_URL: issuer.jwksUrl,
      CDN_BASE_URL: cdn.url,
      CLOUDFRONT_KEY_PAIR_ID: cloudFrontKeys.keyPairId,
      CLOUDFRONT_PRIVATE_KEY: cloudFrontKeys.privateKeyPem,
      // The web page signs in through the issuer's stand-in for Cognito's hosted UI.
      AUTH_AUTHORIZE_URL: issuer.authorizeUrl,
      AUTH_TOKEN_URL: issuer.tokenUrl,
      AUTH_CLIENT_ID: issuer.clientId,
      AUTH_LOGOUT_URL: issuer.logoutUrl,
      LOG_LEVEL: options.logLevel ?? 'info',
      ...options.settings,
    });
    const services = createServices(config, createAwsClients(config));

    // The same handler code the Lambdas run, fed AWS-shaped events. The upload handler hands each
    // upload to the fast-start function as Lambda's asynchronous invocation does: queued durably,
    // run at once, each run with the function's time, retries and maximum event age (template.yaml).
    const fastStartStop = new AbortController();
    const onFastStart = createFastStartHandler(services.videos, logger.child({ part: 'fast-start' }), fastStartStop.signal);
    const fastStartInvocations = createEventOutbox<S3Event>({
      name: 'lambda-fast-start',
      dir: join(dataDir, 'events', 'fast-start'),
      deliver: (event) => {
        const deadline = Date.now() + FAST_START_TIMEOUT_SECONDS * 1000;
        return onFastStart(event, { getRemainingTimeInMillis: () => deadline - Date.now() });
      },
      logger,
      // Not retried, as in AWS: a failed fast start leaves the video to its ladder (a crash still
      // redelivers at the next start: the invocation is on disk until its handler has returned,
      // unless it is older than Lambda would keep it).
      retry: { retries: FAST_START_INVOCATION.retries, minTimeoutMs: 0, factor: 1 },
      maxEventAgeSeconds: FAST_START_INVOCATION.maxEventAgeSeconds,
    });
    const onUploadCreated = createS3UploadHandler(services.videos, (event) => fastStartInvocations.publish(event));
    const onJobStateChange = createJobStateChangeHandler(services.videos);
    deliverJobEvent = onJobStateChange;
    const uploadEvents = createEventOutbox<S3Event>({
      name: 's3-notifications',
      dir: join(dataDir, 'events', 's3'),
      deliver: onUploadCreated,
      logger,
      ...(options.eventRetry ? { retry: options.eventRetry } : {}),
    });
    s3.onEvent((event) => {
      const notification = toAwsS3Event(event, LOCAL_REGION);
      if (!notification) return;
      // The chaos test's 'after-upload-200': the S3 front dies once the 200 is sent; until then
      // the notification must not become durable, or the hand-off under test would not be cut.
      if (crashArmed('after-upload-200')) return;
      uploadEvents.publish(notification).catch((error: unknown) => logger.error({ err: error }, 'could not record an S3 notification'));
    });
    stoppers.push(() => uploadEvents.stop());
    stoppers.push(() => jobEvents.stop());
    stoppers.push(async () => {
      fastStartStop.abort(new Error('the local stack is stopping'));
      await fastStartInvocations.stop();
    });

    // Resume what a previous run left: undelivered events first, then interrupted transcodes.
    await uploadEvents.start();
    await fastStartInvocations.start();
    await jobEvents.start();
    await worker.start();

    const { fastify: api, url: apiUrl } = await startApiServer({ config, services, host: '127.0.0.1', port: ports.api, logDestination });
    stoppers.push(() => api.close());

    // The reconciler, as the template's schedule runs it in AWS: one run at a time, every period.
    const reconcileLogger = logger.child({ part: 'reconciler' });
    let reconciling: Promise<ReconcileReport> | undefined;
    const reconcile = () =>
      (reconciling ??= services.reconcile(reconcileLogger).finally(() => {
        reconciling = undefined;
      }));
    const reconcileTimer = setInterval(() => {
      reconcile().catch((error: unknown) => reconcileLogger.error({ err: error }, 'reconciler run failed; the next one tries again'));
    }, config.RECONCILE_PERIOD_SECONDS * 1000);
    reconcileTimer.unref();
    stoppers.push(async () => {
      clearInterval(reconcileTimer);
      await reconciling?.catch(() => undefined);
    });

    return {
      apiUrl,
      cdnUrl: cdn.url,
      s3Url: s3.url,
      dynamoDbUrl: dynamoDb.url,
      issuerUrl: issuer.url,
      transcoderUrl: workerServer.url,
      config,
      services,
      api,
      logger,
      token: (userId, tokenOptions) => issueToken(issuer.keys, userId, tokenOptions),
      async idle() {
        // Each stage only feeds the next: upload events submit jobs, jobs publish job events.
        await uploadEvents.idle();
        await fastStartInvocations.idle();
        await worker.idle();
        await jobEvents.idle();
      },
      reconcile,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
