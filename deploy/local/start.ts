/** `npm start`: the whole service on this machine, until Ctrl-C. */
import { loadLocalSettings } from './settings.ts';
import { startLocalStack } from './stack.ts';

const settings = loadLocalSettings(process.env);
// App settings (upload and playback limits, LOG_LEVEL) pass through from the environment.
const passThrough = Object.fromEntries(
  [
    'WEB_ASSETS_DIR',
    'MAX_UPLOAD_BYTES',
    'UPLOAD_URL_TTL_SECONDS',
    'MULTIPART_THRESHOLD_BYTES',
    'MULTIPART_PART_BYTES',
    'MULTIPART_UPLOAD_TTL_SECONDS',
    'PLAYBACK_URL_TTL_SECONDS',
    'PLAYBACK_URL_MARGIN_SECONDS',
    'CATALOG_CACHE_MS',
    'RECONCILE_PERIOD_SECONDS',
    'RECONCILE_GRACE_SECONDS',
    'RECONCILE_SILENT_JOB_SECONDS',
    'RECONCILE_MAX_ATTEMPTS',
    'RECONCILE_BACKOFF_SECONDS',
    'CORS_ALLOWED_ORIGINS',
    'RATE_LIMIT_MAX',
    'RATE_LIMIT_WINDOW_SECONDS',
  ].flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])),
);
const stack = await startLocalStack({
  dataDir: settings.DATA_DIR,
  ports: {
    api: settings.PORT,
    cdn: settings.CDN_PORT,
    issuer: settings.ISSUER_PORT,
    s3: settings.S3_PORT,
    dynamodb: settings.DYNAMODB_PORT,
    transcoder: settings.TRANSCODER_PORT,
  },
  transcodeConcurrency: settings.TRANSCODE_CONCURRENCY,
  ...(settings.TRANSCODE_SPEED_LIMIT ? { transcodeSpeedLimit: settings.TRANSCODE_SPEED_LIMIT } : {}),
  settings: passThrough,
  logLevel: process.env.LOG_LEVEL ?? 'info',
});

process.stdout.write(
  [
    '',
    'Video on demand, local stack',
    `  Web page        ${stack.apiUrl}/`,
    `  API             ${stack.apiUrl}   (Swagger UI: ${stack.apiUrl}/docs)`,
    `  CloudFront      ${stack.cdnUrl}   (signed URLs and cookies checked; key pair ${stack.config.CLOUDFRONT_KEY_PAIR_ID})`,
    `  S3 stand-in     ${stack.s3Url}   bucket ${stack.config.BUCKET_NAME}`,
    `  DynamoDB        ${stack.dynamoDbUrl}   table ${stack.config.TABLE_NAME}`,
    `  JWT issuer      ${stack.issuerUrl}`,
    `  ffmpeg worker   ${stack.transcoderUrl}`,
    `  data            ${settings.DATA_DIR}`,
    '  a token:        npm run token -- <userId>',
    '',
  ].join('\n') + '\n',
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    stack.logger.info({ signal }, 'stopping; interrupted transcodes resume at the next start');
    stack.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        stack.logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  });
}
