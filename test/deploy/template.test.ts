/**
 * template.yaml (and the edge template it nests) read as CloudFormation reads them, checked for
 * the wiring a deployment depends on. Bundles and handlers: test/deploy/build.test.ts. Linting:
 * test/deploy/cfn-lint.test.ts.
 */
import t from 'tap';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { loadConfig, ConfigSchema } from '../../src/app/config.ts';
import { authConfigOf } from '../../routes/web/settings.ts';
import { VIDEO_TABLE_KEYS } from '../../src/adapters/dynamodb/video-catalog.ts';
import { USER_METADATA_BUCKET } from '../../src/adapters/mediaconvert/mediaconvert-transcoder.ts';
import { UPLOADS_PREFIX } from '../../src/domain/storage-layout.ts';
import type { MediaConvertJobStateChangeEvent } from '../../src/schemas/events.ts';
import { publicKeyParameterOf } from '../../deploy/keys.ts';
import { FAST_START_INVOCATION } from '../../deploy/local/stack.ts';
import { allowedOriginsOf, API_CORS } from '../../src/app/cors.ts';
import { PLAYER_CORS_POLICY } from '../../deploy/local/cloudfront/cloudfront.ts';
import { loadEventFixture } from '../helpers/fixtures.ts';
import {
  condition,
  evaluate,
  loadTemplate,
  matchesEventPattern,
  parameterFailures,
  parameterValues,
  NO_VALUE,
  referencedIds,
  ruleFailures,
  s3FilterMatches,
  type EvalContext,
  type Json,
  type Template,
} from './cfn.ts';

const template = await loadTemplate(new URL('../../template.yaml', import.meta.url));
const edgeTemplate = await loadTemplate(new URL('../../deploy/aws/edge-signer.yaml', import.meta.url));
const resources = template.Resources;
const ofType = (tpl: Template, type: string) => Object.entries(tpl.Resources).filter(([, resource]) => resource.Type === type);

const { publicKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});

/** What CloudFormation would hand back for the resources, in realistic shapes. */
const RESOURCE_VALUES: Record<string, string> = {
  VideosTable: 'vod-prod-VideosTable-1A2B3C',
  'MediaConvertRole.Arn': 'arn:aws:iam::111122223333:role/vod-prod-MediaConvertRole-1A2B3C',
  'TranscodeQueue.Arn': 'arn:aws:mediaconvert:eu-west-1:111122223333:queues/vod-prod-queue',
  UserPool: 'eu-west-1_AbCdEf123',
  UserPoolClient: '3ts5example1n6k1rqp2g6c7cr9',
  'Distribution.DomainName': 'd111111abcdef8.cloudfront.net',
  Distribution: 'EDFDVBD6EXAMPLE',
  PlaybackPublicKeyA: 'K2JCJMDEHXQW5F',
  PlaybackPublicKeyB: 'K3B7SLOTBEXAMPLE',
  HttpApi: 'a1b2c3d4e5',
  FastStartFunction: 'vod-prod-FastStartFunction-1A2B3C',
  'FastStartFunction.Arn': 'arn:aws:lambda:eu-west-1:111122223333:function:vod-prod-FastStartFunction-1A2B3C',
};

/** A layer version with ffmpeg, as a deployer passes it to turn fast start on. */
const FFMPEG_LAYER_ARN = 'arn:aws:lambda:eu-west-1:111122223333:layer:ffmpeg-arm64:3';
const FAST_START_ON = { FfmpegLayerArn: FFMPEG_LAYER_ARN };

function context(parameters: Record<string, string> = {}, pseudo: Record<string, string> = {}): EvalContext {
  return {
    template,
    parameters: parameterValues(template, { CloudFrontPublicKeyA: publicKeyParameterOf(publicKey), ...parameters }),
    pseudo,
    resource: (id, attribute) => RESOURCE_VALUES[attribute ? `${id}.${attribute}` : id] ?? (attribute ? `${id}.${attribute}` : id),
  };
}

const functions = ofType(template, 'AWS::Serverless::Function');
const BUCKET_NAME = 'vod-prod-111122223333-eu-west-1-1c2fa620';

t.test('the regional functions run nodejs22.x on arm64 with the same validated settings', async (t) => {
  t.equal(template.Globals?.Function?.Runtime, 'nodejs22.x');
  t.same(template.Globals?.Function?.Architectures, ['arm64']);
  t.same(functions.map(([id]) => id).sort(), ['ApiFunction', 'FastStartFunction', 'JobEventFunction', 'ReconcileFunction', 'S3EventFunction']);
  for (const [id, fn] of functions) {
    for (const name of Object.keys(fn.Properties.Environment?.Variables ?? {})) {
      t.ok(name in ConfigSchema.properties, `${id}: ${name} is a setting src/app/config.ts reads`);
    }
  }
  const settings: Array<Record<string, string>> = [{}, { JwtIssuer: 'https://issuer.example.com', JwtAudience: 'vod', UseDedicatedQueue: 'true' }];
  for (const setting of settings) {
    const env = (evaluate(template.Globals!.Function!.Environment as Json, context(setting)) as { Variables: Record<string, string> }).Variables;
    for (const name of Object.keys(env)) {
      t.ok(name in ConfigSchema.properties, `${name} is a setting src/app/config.ts reads`);
    }
    const config = loadConfig(env);
    t.match(config, {
      BUCKET_NAME,
      TRANSCODER: 'mediaconvert',
      MEDIACONVERT_ENDPOINT: 'https://mediaconvert.eu-west-1.amazonaws.com',
      CDN_BASE_URL: 'https://d111111abcdef8.cloudfront.net',
      CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F',
      CLOUDFRONT_PRIVATE_KEY_PARAMETER: '/vod/prod/cloudfront-private-key-1',
    });
    t.equal(config.S3_ENDPOINT, undefined, 'stand-in endpoints stay unset in AWS');
    if ('JwtIssuer' in setting) {
      t.match(config, { JWT_ISSUER: 'https://issuer.example.com', JWT_AUDIENCE: 'vod', JWT_JWKS_URL: 'https://issuer.example.com/.well-known/jwks.json' });
      t.equal(config.MEDIACONVERT_QUEUE_ARN, RESOURCE_VALUES['TranscodeQueue.Arn']);
    } else {
      t.match(config, {
        JWT_ISSUER: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123',
        JWT_AUDIENCE: '3ts5example1n6k1rqp2g6c7cr9',
        JWT_JWKS_URL: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123/.well-known/jwks.json',
      });
      t.equal(config.MEDIACONVERT_QUEUE_ARN, undefined, 'the Default queue');
    }
  }
});

t.test('the bucket is private, encrypted, TLS-only, and takes browser PUTs from known origins only', async (t) => {
  const bucket = resources.MediaBucket!;
  const props = evaluate(bucket.Properties, context({ AllowedOrigins: 'https://videos.example.com' })) as any;
  t.equal(props.BucketName, BUCKET_NAME);
  t.same(props.PublicAccessBlockConfiguration, {
    BlockPublicAcls: true,
    BlockPublicPolicy: true,
    IgnorePublicAcls: true,
    RestrictPublicBuckets: true,
  });
  t.same(props.OwnershipControls.Rules, [{ ObjectOwnership: 'BucketOwnerEnforced' }], 'no ACLs at all');
  t.ok(props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm);
  t.same(props.CorsConfiguration.CorsRules, [
    {
      AllowedMethods: ['PUT'],
      AllowedOrigins: ['https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com', 'https://videos.example.com'],
      AllowedHeaders: ['Content-Type', 'If-None-Match', 'Content-MD5'],
      ExposedHeaders: ['ETag'],
      MaxAge: 3000,
    },
  ]);
  t.match(props.LifecycleConfiguration.Rules, [{ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: Number } }]);
  // The rule is a backstop: it must never remove the parts of an upload the service still takes.
  const lifecycleSeconds = props.LifecycleConfiguration.Rules[0].AbortIncompleteMultipartUpload.DaysAfterInitiation * 86_400;
  t.ok(lifecycleSeconds > ConfigSchema.properties.MULTIPART_UPLOAD_TTL_SECONDS.maximum!, 'parts outlive the longest upload the service allows');
  t.equal(bucket.DeletionPolicy, 'Retain', 'videos survive a stack deletion');

  const policy = evaluate(resources.MediaBucketPolicy!.Properties, context()) as any;
  for (const statement of policy.PolicyDocument.Statement) {
    if (statement.Effect !== 'Allow') continue;
    t.notSame(statement.Principal, '*', `${statement.Sid}: no anonymous access`);
    t.notOk(JSON.stringify(statement.Principal).includes('"*"'), `${statement.Sid}: no wildcard principal`);
  }
  const cloudFront = policy.PolicyDocument.Statement.find((statement: any) => statement.Principal?.Service === 'cloudfront.amazonaws.com');
  t.same(
    { action: cloudFront.Action, resource: cloudFront.Resource, source: cloudFront.Condition.StringEquals['AWS:SourceArn'] },
    {
      action: 's3:GetObject',
      resource: 'arn:aws:s3:::MediaBucket/video-streams/*',
      source: 'arn:aws:cloudfront::111122223333:distribution/EDFDVBD6EXAMPLE',
    },
    'CloudFront reads video-streams/* for this distribution only (OAC), never uploads/',
  );
  t.match(policy.PolicyDocument.Statement, [{}, { Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }]);
});

t.test("every mention of the computed bucket name is the bucket's own name", async (t) => {
  const pattern = 'vod-${Stage}-${AWS::AccountId}-${AWS::Region}-${StackIdPart}';
  const stackIdPart = { 'Fn::Select': [0, { 'Fn::Split': ['-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }] }] };
  t.same(resources.MediaBucket!.Properties.BucketName['Fn::Sub'], [pattern, { StackIdPart: stackIdPart }]);
  const subs: Json[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Fn::Sub' && JSON.stringify(value).includes('vod-$')) subs.push(value as Json);
      walk(value);
    }
  };
  // The hosted UI's domain prefix (vod-<stage>-<account>) is the one other name of that shape.
  walk({ ...template, Resources: { ...template.Resources, UserPoolDomain: null } });
  t.equal(resources.UserPoolDomain!.Properties.Domain['Fn::Sub'], 'vod-${Stage}-${AWS::AccountId}');
  t.ok(subs.length > 10);
  for (const sub of subs) {
    t.ok(Array.isArray(sub) && typeof sub[0] === 'string' && sub[0].includes(pattern), JSON.stringify(sub));
    t.same(Array.isArray(sub) && sub[1], { StackIdPart: stackIdPart }, 'the same part of the stack id');
  }
});

t.test('a stage deployed again after sam delete does not collide with its retained bucket', async (t) => {
  // What sam delete leaves: exactly these (README, "Deleting the stack").
  const retained = Object.entries(resources)
    .filter(([, resource]) => resource.DeletionPolicy === 'Retain')
    .map(([id]) => id);
  t.same(retained.sort(), ['MediaBucket', 'UserPool', 'VideosTable']);
  // The bucket name is global; the table's is generated by CloudFormation; pool names need not be unique.
  t.notOk(resources.VideosTable!.Properties.TableName, "the table's name is CloudFormation's, new for each stack");
  t.notOk(resources.UserPool!.Properties.UserPoolId);

  // The same stack name, created again: a new stack id, so a new bucket name; an update keeps the id.
  const bucketName = (stackId: string, pseudo: Record<string, string> = {}, parameters: Record<string, string> = {}) =>
    (evaluate(resources.MediaBucket!.Properties, context(parameters, { 'AWS::StackId': stackId, ...pseudo })) as any).BucketName as string;
  const first = bucketName('arn:aws:cloudformation:eu-west-1:111122223333:stack/vod-prod/1c2fa620-982a-11e3-aff7-50e2416294e0');
  const again = bucketName('arn:aws:cloudformation:eu-west-1:111122223333:stack/vod-prod/7e41d9b0-3c55-11f1-8a3e-0a1b2c3d4e5f');
  t.equal(first, 'vod-prod-111122223333-eu-west-1-1c2fa620');
  t.equal(again, 'vod-prod-111122223333-eu-west-1-7e41d9b0');
  // Every place that names the bucket follows: the functions' setting, the roles, the CDN origin.
  const env = (
    evaluate(
      template.Globals!.Function!.Environment as Json,
      context({}, { 'AWS::StackId': 'arn:aws:cloudformation:eu-west-1:111122223333:stack/vod-prod/7e41d9b0-3c55-11f1-8a3e-0a1b2c3d4e5f' }),
    ) as any
  ).Variables;
  t.equal(env.BUCKET_NAME, again);

  // A valid bucket name at the longest stage and region names.
  const longest = bucketName(
    'arn:aws:cloudformation:ap-southeast-5:111122223333:stack/vod/ffffffff-ffff-1fff-bfff-ffffffffffff',
    { 'AWS::Region': 'ap-southeast-5' },
    { Stage: 'a'.repeat(16) },
  );
  t.ok(longest.length <= 63, `${longest.length} characters`);
  t.match(longest, /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
  t.match(template.Parameters!.Stage!.AllowedPattern, /\{0,15\}/, 'the stage is at most 16 characters');

  // The README says what the old bucket and table are then, and how to delete or carry them over.
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('**Deleting the stack**'), readme.indexOf('**Outside us-east-1.**'));
  t.match(section, /vod-<stage>-<account>-<region>-<8 hex digits>/);
  t.match(section, /aws s3 rb s3:\/\/<old BucketName> --force/);
  t.match(section, /aws s3 sync s3:\/\/<old BucketName> s3:\/\/<new BucketName>/);
});

t.test('only a source upload under uploads/ triggers the S3 event function', async (t) => {
  const { LambdaConfigurations } = resources.MediaBucket!.Properties.NotificationConfiguration;
  t.equal(LambdaConfigurations.length, 1);
  const [notification] = LambdaConfigurations;
  t.equal(notification.Event, 's3:ObjectCreated:*', 'PUT, POST, copy and multipart completion alike');
  t.same(notification.Function, { 'Fn::GetAtt': ['S3EventFunction', 'Arn'] });
  const rules = notification.Filter.S3Key.Rules;
  t.ok(rules.some((rule: any) => rule.Name === 'prefix' && rule.Value === UPLOADS_PREFIX));
  t.ok(s3FilterMatches(rules, 'uploads/01J9Z8Q4V6X7Y8Z9A0B1C2D3E4/source'));
  for (const key of [
    'video-streams/01J9Z8Q4V6X7Y8Z9A0B1C2D3E4/master.m3u8',
    'video-streams/x/1080p/master_1080p_00001.ts',
    'uploads/x/thumbnail.jpg',
    'other/uploads/x/source',
  ]) {
    t.notOk(s3FilterMatches(rules, key), `${key} does not trigger it`);
  }
  // S3 may invoke the function only for this bucket and account.
  const permission = evaluate(resources.S3EventPermission!.Properties, context()) as any;
  t.match(permission, { Principal: 's3.amazonaws.com', SourceArn: `arn:aws:s3:::${BUCKET_NAME}`, SourceAccount: '111122223333' });
  t.same(resources.MediaBucket!.DependsOn, 'S3EventPermission', 'the notification is created after S3 may invoke');
});

t.test("the EventBridge rule takes this stack's MediaConvert job events only", async (t) => {
  const rule = evaluate(resources.JobStateChangeRule!.Properties, context()) as any;
  t.same(rule.EventPattern.source, ['aws.mediaconvert']);
  t.same(rule.EventPattern['detail-type'], ['MediaConvert Job State Change']);
  t.ok(USER_METADATA_BUCKET in rule.EventPattern.detail.userMetadata, `matches on the userMetadata key the adapter sets (${USER_METADATA_BUCKET})`);
  for (const name of ['progressing', 'status-update', 'new-warning', 'complete', 'error']) {
    const event = await loadEventFixture<MediaConvertJobStateChangeEvent>(`eventbridge/mediaconvert-${name}`);
    const ours = structuredClone(event);
    ours.detail.userMetadata[USER_METADATA_BUCKET] = BUCKET_NAME;
    t.ok(matchesEventPattern(rule.EventPattern, ours as unknown as Json), `${name} of our job`);
    const theirs = structuredClone(event);
    theirs.detail.userMetadata[USER_METADATA_BUCKET] = 'vod-staging-111122223333-eu-west-1-9f3b2c10';
    t.notOk(matchesEventPattern(rule.EventPattern, theirs as unknown as Json), `${name} of another stack's job`);
    t.notOk(matchesEventPattern(rule.EventPattern, event as unknown as Json), `${name} of a job without the key`);
  }
  t.match(rule.Targets, [{ Arn: 'JobEventFunction.Arn', DeadLetterConfig: { Arn: 'FailedEventsQueue.Arn' } }]);
  t.match(evaluate(resources.JobEventPermission!.Properties, context()), { Principal: 'events.amazonaws.com', SourceArn: 'JobStateChangeRule.Arn' });
});

t.test('the reconciler runs every ReconcilePeriodMinutes, one run at a time, with the period in its settings', async (t) => {
  const fn = resources.ReconcileFunction!;
  const parameter = template.Parameters!.ReconcilePeriodMinutes!;
  t.equal(parameter.Default, 5);
  const periods = parameter.AllowedValues!.map(String);
  t.same(Object.keys(template.Mappings!.ReconcilePeriods!).sort(), [...periods].sort(), 'a mapping row for every allowed period');
  const events = Object.values<any>(fn.Properties.Events);
  t.equal(events.length, 1, 'the schedule is its only trigger');
  t.equal(events[0].Type, 'Schedule', 'an EventBridge rule: its target gets the "Scheduled Event" (test/lambda/reconcile.test.ts)');
  for (const minutes of periods) {
    const { Schedule: schedule } = evaluate(events[0].Properties, context({ ReconcilePeriodMinutes: minutes })) as { Schedule: string };
    t.equal(schedule, minutes === '1' ? 'rate(1 minute)' : `rate(${minutes} minutes)`, `${minutes}: EventBridge's rate, singular for one`);
    const env = {
      ...(evaluate(template.Globals!.Function!.Environment as Json, context({ ReconcilePeriodMinutes: minutes })) as any).Variables,
      ...(evaluate(fn.Properties.Environment, context({ ReconcilePeriodMinutes: minutes })) as any).Variables,
    };
    const config = loadConfig(env);
    t.equal(config.RECONCILE_PERIOD_SECONDS, Number(minutes) * 60, `${minutes}: RECONCILE_PERIOD_SECONDS agrees`);
    if (minutes === '5') {
      t.match(config, { RECONCILE_GRACE_SECONDS: 300, RECONCILE_SILENT_JOB_SECONDS: 6 * 3600, RECONCILE_MAX_ATTEMPTS: 5, RECONCILE_BACKOFF_SECONDS: 60 });
    }
  }
  t.equal(fn.Properties.ReservedConcurrentExecutions, 1, 'one run at a time, as the local timer');
  t.ok(fn.Properties.Timeout >= 60 && fn.Properties.Timeout <= 900, `a run may take ${fn.Properties.Timeout} s (Lambda allows 900)`);
  // A tick that finds the previous run still going waits at most a minute, then is dropped; a
  // failed run is not retried (the next tick runs anyway).
  t.same(fn.Properties.EventInvokeConfig, { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 });
  t.same(fn.Metadata.Bundle, { Entry: 'events/reconcile.ts', Build: 'npm run build' });
  t.equal(resources[fn.Properties.LoggingConfig.LogGroup.Ref]!.Type, 'AWS::Logs::LogGroup');
});

t.test('fast start is off without an ffmpeg layer, and with one the upload handler invokes it', async (t) => {
  const parameter = template.Parameters!.FfmpegLayerArn!;
  t.match(parameter, { Type: 'String', Default: '' }, 'off unless the deployer names a layer');
  const accepts = (value: string) => parameterFailures(template, { FfmpegLayerArn: value }).length === 0;
  t.ok(accepts(FFMPEG_LAYER_ARN), 'a layer version ARN');
  t.ok(accepts('arn:aws:lambda:us-east-1:123456789012:layer:ffmpeg:12'), "a public layer of another account's");
  t.same(
    [FFMPEG_LAYER_ARN.replace(/:3$/, ''), 'arn:aws:lambda:eu-west-1:111122223333:function:ffmpeg:3', 'ffmpeg', ' '].filter(accepts),
    [],
    'not an unversioned layer, a function or a name',
  );
  t.notOk(condition('FastStartEnabled', context()), 'the default: off');
  t.ok(condition('FastStartEnabled', context(FAST_START_ON)));

  // Everything of the fast start's exists only with the layer (cfn-lint checks the references to it).
  const own = Object.entries(resources)
    .filter(([id]) => id.startsWith('FastStart'))
    .map(([id, resource]) => [id, resource.Condition]);
  t.same(own.sort(), [
    ['FastStartFunction', 'FastStartEnabled'],
    ['FastStartInvokeConfig', 'FastStartEnabled'],
    ['FastStartLogGroup', 'FastStartEnabled'],
    ['FastStartRole', 'FastStartEnabled'],
  ]);

  const fn = resources.FastStartFunction!;
  t.same(fn.Metadata.Bundle, { Entry: 'events/fast-start.ts', Build: 'npm run build' });
  t.match(fn.Properties, { CodeUri: 'dist/fast-start', Handler: 'index.handler' });
  t.same(evaluate(fn.Properties.Layers, context(FAST_START_ON)), [FFMPEG_LAYER_ARN], "ffmpeg and ffprobe from the deployer's layer");
  t.notOk('Architectures' in fn.Properties, "arm64 from Globals, the layer's architecture");
  t.equal(fn.Properties.MemorySize, 3008, 'CPU in proportion to memory, for ffmpeg');
  t.equal(fn.Properties.Timeout, FAST_START_INVOCATION.timeoutSeconds, 'the handler fits its work to the time left; the local stack gives it as long');
  t.same(fn.Properties.EphemeralStorage, { Size: 2048 }, '/tmp for the segments not yet uploaded');
  t.notOk(fn.Properties.Events, 'invoked by the upload handler only');
  t.notOk('Environment' in fn.Properties, "Globals' settings only: it invokes nothing");
  t.same(fn.Properties.Role, { 'Fn::GetAtt': ['FastStartRole', 'Arn'] });

  // Useful only before MediaConvert makes the video playable: not retried, not kept waiting.
  const invokeConfig = resources.FastStartInvokeConfig!.Properties;
  t.same(invokeConfig.FunctionName, { Ref: 'FastStartFunction' });
  t.equal(invokeConfig.MaximumRetryAttempts, FAST_START_INVOCATION.retries, 'not retried, in AWS as in the local stack');
  t.equal(invokeConfig.MaximumEventAgeInSeconds, FAST_START_INVOCATION.maxEventAgeSeconds, 'dropped after as long, in AWS as in the local stack');
  t.ok(invokeConfig.MaximumEventAgeInSeconds <= fn.Properties.Timeout, 'no older than a run of the function lasts: MediaConvert is about as quick');
  t.notOk(invokeConfig.DestinationConfig, 'a lost fast start is nothing to redrive');

  const bucketArn = `arn:aws:s3:::${BUCKET_NAME}`;
  t.same(
    grantsOf('FastStartRole', FAST_START_ON),
    {
      OwnLogs: { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: ['FastStartLogGroup.Arn'], condition: undefined },
      Catalog: { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: ['VideosTable.Arn'], condition: undefined },
      ReadSources: { actions: ['s3:GetObject'], resources: [`${bucketArn}/uploads/*`], condition: undefined },
      ProbeMedia: { actions: ['mediaconvert:Probe'], resources: ['*'], condition: undefined },
      ReadStreams: { actions: ['s3:GetObject'], resources: [`${bucketArn}/video-streams/*`], condition: undefined },
      WriteStreams: { actions: ['s3:PutObject'], resources: [`${bucketArn}/video-streams/*`], condition: undefined },
    },
    'reads the source and the streams, writes the streams only, updates the record only',
  );

  // The upload handler: the function's name to invoke and the right to, both only with the layer.
  const s3Event = resources.S3EventFunction!;
  const settingsOf = (parameters: Record<string, string>) => {
    const settings = context(parameters);
    const env = {
      ...(evaluate(template.Globals!.Function!.Environment as Json, settings) as any).Variables,
      ...(evaluate(s3Event.Properties.Environment, settings) as any).Variables,
    };
    const config: Record<string, unknown> = loadConfig(env);
    return { env, config };
  };
  const on = settingsOf(FAST_START_ON);
  t.equal(on.env.FAST_START_FUNCTION_NAME, RESOURCE_VALUES.FastStartFunction, 'on: the function to invoke');
  t.equal(on.config.FAST_START_FUNCTION_NAME, RESOURCE_VALUES.FastStartFunction, 'a setting src/app/config.ts reads');
  const off = settingsOf({});
  t.equal(off.env.FAST_START_FUNCTION_NAME, '', 'off: declared empty');
  t.equal(off.config.FAST_START_FUNCTION_NAME, undefined, 'which is unset');
  t.notOk('FAST_START_FUNCTION_NAME' in (template.Globals!.Function!.Environment as any).Variables, 'not in Globals, where the function would name itself');
  t.same(
    grantsOf('S3EventRole', FAST_START_ON).StartFastStart,
    { actions: ['lambda:InvokeFunction'], resources: [RESOURCE_VALUES['FastStartFunction.Arn']], condition: undefined },
    'on: invokes the fast-start function, and no other',
  );
  t.notOk('StartFastStart' in grantsOf('S3EventRole'), 'off: invokes nothing');
  t.same(
    Object.keys(grantsOf('S3EventRole', FAST_START_ON)).filter((sid) => !(sid in grantsOf('S3EventRole'))),
    ['StartFastStart'],
    'the layer adds that grant and nothing else',
  );
});

t.test('the table has the keys and indexes src/adapters/dynamodb/video-catalog.ts queries', async (t) => {
  const table = resources.VideosTable!.Properties;
  const sortByName = <T extends { AttributeName?: string; IndexName?: string }>(items: T[]) =>
    [...items].sort((a, b) => String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName)));
  t.same(sortByName(table.AttributeDefinitions), sortByName(VIDEO_TABLE_KEYS.AttributeDefinitions as any[]));
  t.same(table.KeySchema, VIDEO_TABLE_KEYS.KeySchema);
  t.same(sortByName(table.GlobalSecondaryIndexes), sortByName(VIDEO_TABLE_KEYS.GlobalSecondaryIndexes as any[]));
  t.equal(table.BillingMode, 'PAY_PER_REQUEST');
  t.same(table.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
});

/** MediaConvert actions authorised on a job's ARN (and, for CreateJob, its queue's). */
const JOB_ACTIONS = new Set(['mediaconvert:CreateJob', 'mediaconvert:GetJob', 'mediaconvert:CancelJob']);

/** Every Allow statement of every policy in both templates, with where it is. */
function allowStatements(tpl: Template): Array<{ where: string; statement: any }> {
  const found: Array<{ where: string; statement: any }> = [];
  for (const [id, resource] of Object.entries(tpl.Resources)) {
    const documents: any[] = [];
    if (resource.Type === 'AWS::IAM::Role') documents.push(...(resource.Properties.Policies ?? []).map((policy: any) => policy.PolicyDocument));
    if (resource.Type === 'AWS::S3::BucketPolicy' || resource.Type === 'AWS::SQS::QueuePolicy') documents.push(resource.Properties.PolicyDocument);
    for (const document of documents) {
      // A statement under a condition (`!If [Condition, statement, !Ref AWS::NoValue]`) is checked as written.
      const written = document.Statement.flatMap((statement: any) => (statement['Fn::If'] ? statement['Fn::If'].slice(1) : [statement]));
      for (const statement of written) {
        if (statement.Effect === 'Allow') found.push({ where: `${id}/${statement.Sid ?? '?'}`, statement });
      }
    }
  }
  return found;
}

t.test('every policy statement names its own resources: no "*" resource (but for Probe, which has none), no wildcard action', async (t) => {
  const parameterNames = new Set(['Stage', 'CloudFrontPrivateKeyParameterPrefix', 'BucketName', 'FunctionName']);
  const statements = [...allowStatements(template), ...allowStatements(edgeTemplate)];
  t.ok(statements.length >= 20, `${statements.length} statements`);
  for (const { where, statement } of statements) {
    const resourcesOf = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
    const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
    for (const action of actions) t.notMatch(action, /\*/, `${where}: ${action} is one action`);
    for (const resource of resourcesOf) {
      // Probe reads a file; it acts on no MediaConvert resource (no job, queue, preset), so IAM
      // takes only "*" for it (Service Authorization Reference: no resource type for Probe).
      if (where.endsWith('Role/ProbeMedia') && resource === '*' && actions.join() === 'mediaconvert:Probe') continue;
      t.not(resource, '*', `${where}: not "*"`);
      // A job is created by the CreateJob call itself, so it has no ARN to name beforehand: the
      // account's jobs in this region is as narrow as IAM can say (CreateJob names the queue too).
      if (actions.every((action: string) => JOB_ACTIONS.has(action)) && JSON.stringify(resource).endsWith(':jobs/*"}')) continue;
      const ids = [...referencedIds(resource)];
      const own = ids.filter((id) => (template.Resources[id] || edgeTemplate.Resources[id] || parameterNames.has(id)) && id !== 'AWS::AccountId');
      t.ok(own.length > 0, `${where}: ${JSON.stringify(resource)} names a resource of this stack`);
    }
  }
  // The ones that reach beyond a bucket prefix, spelled out.
  for (const role of ['S3EventRole', 'ReconcileRole']) {
    const submit = statements.find(({ where }) => where === `${role}/SubmitJobs`)!.statement;
    t.match(evaluate(submit, context()), {
      Resource: ['arn:aws:mediaconvert:eu-west-1:111122223333:queues/Default', 'arn:aws:mediaconvert:eu-west-1:111122223333:jobs/*'],
    });
    const passRole = statements.find(({ where }) => where === `${role}/PassTheJobRole`)!.statement;
    t.same(passRole.Condition, { StringEquals: { 'iam:PassedToService': 'mediaconvert.amazonaws.com' } }, `${role}: the job role, to MediaConvert only`);
  }
});

/**
 * The IAM action each AWS SDK command in src/ needs. A command added to src/ fails the tests below
 * until it is listed here and granted to every function that runs it.
 */
const IAM_ACTION_OF_COMMAND: Record<string, string> = {
  GetCommand: 'dynamodb:GetItem',
  PutCommand: 'dynamodb:PutItem',
  UpdateCommand: 'dynamodb:UpdateItem',
  DeleteCommand: 'dynamodb:DeleteItem',
  QueryCommand: 'dynamodb:Query',
  GetObjectCommand: 's3:GetObject',
  // S3 authorises HEAD as GET.
  HeadObjectCommand: 's3:GetObject',
  // Signed into upload URLs: the URL carries the signer's permission.
  PutObjectCommand: 's3:PutObject',
  ListObjectsV2Command: 's3:ListBucket',
  // Multipart uploads: creating, part URLs and completing are PutObject (AWS's action list for S3).
  CreateMultipartUploadCommand: 's3:PutObject',
  UploadPartCommand: 's3:PutObject',
  CompleteMultipartUploadCommand: 's3:PutObject',
  ListPartsCommand: 's3:ListMultipartUploadParts',
  AbortMultipartUploadCommand: 's3:AbortMultipartUpload',
  ListMultipartUploadsCommand: 's3:ListBucketMultipartUploads',
  DeleteObjectsCommand: 's3:DeleteObject',
  ProbeCommand: 'mediaconvert:Probe',
  CreateJobCommand: 'mediaconvert:CreateJob',
  GetJobCommand: 'mediaconvert:GetJob',
  ListJobsCommand: 'mediaconvert:ListJobs',
  CancelJobCommand: 'mediaconvert:CancelJob',
  GetParameterCommand: 'ssm:GetParameter',
  // The upload handler starting the fast start (an asynchronous invoke).
  InvokeCommand: 'lambda:InvokeFunction',
};

/** The domain operations in src/domain/video-service.ts the events and the reconciler share. */
const SOURCE_UPLOADED = [
  'GetCommand',
  'UpdateCommand', // claim, intent, job, failure
  'ProbeCommand',
  'GetObjectCommand', // inspect: Probe and the MP4 header's ranged GETs
  'ListJobsCommand',
  'CreateJobCommand', // find the job an earlier try made, or submit one
  'ListObjectsV2Command',
  'DeleteObjectsCommand', // a late upload of a deleted video
];
const JOB_STATE_CHANGE = [
  'GetCommand',
  'UpdateCommand', // progress, ready, failed
  'GetObjectCommand', // the master playlist at COMPLETE
  'ListObjectsV2Command',
  'DeleteObjectsCommand', // outputs of a deleted video's job
];

/** What each function's code sends. */
const COMMANDS_OF_FUNCTION: Record<string, string[]> = {
  // routes/: create (with its upload URL), read and list by both indexes, playback's signing key,
  // DELETE (a tombstone, the job canceled, the objects removed).
  ApiFunction: [
    'PutCommand',
    'PutObjectCommand',
    'GetCommand',
    'QueryCommand',
    'GetParameterCommand',
    'UpdateCommand',
    'CancelJobCommand',
    'ListObjectsV2Command',
    'DeleteObjectsCommand',
    // uploads in parts: create, sign parts, list the stored ones, complete, cancel
    'CreateMultipartUploadCommand',
    'UploadPartCommand',
    'ListPartsCommand',
    'CompleteMultipartUploadCommand',
    'AbortMultipartUploadCommand',
  ],
  // With fast start on, each upload's record is handed to FastStartFunction.
  S3EventFunction: [...SOURCE_UPLOADED, 'InvokeCommand'],
  JobEventFunction: JOB_STATE_CHANGE,
  // events/fast-start.ts: the record, the source inspected (Probe, the MP4 header's ranged GETs)
  // and read by ffmpeg through a pre-signed GET, segments and playlists written, the master read back.
  FastStartFunction: ['GetCommand', 'UpdateCommand', 'ProbeCommand', 'GetObjectCommand', 'PutObjectCommand'],
  // src/domain/reconciler.ts: both of the above, plus its index queries, whether a source is stored, the
  // transcoder's word on a job, cancels, the bucket sample and tombstones removed at last.
  ReconcileFunction: [
    ...SOURCE_UPLOADED,
    ...JOB_STATE_CHANGE,
    'QueryCommand',
    'GetJobCommand',
    'CancelJobCommand',
    'DeleteCommand',
    // abandoned uploads in parts, and uploads no video awaits
    'ListMultipartUploadsCommand',
    'AbortMultipartUploadCommand',
  ],
};

/** The SDK commands src/ and the event handlers send (`new XCommand(`), by reading the code. */
async function commandsInSource(): Promise<Set<string>> {
  const commands = new Set<string>();
  for (const folder of ['src', 'events']) {
    const root = new URL(`../../${folder}/`, import.meta.url);
    for (const file of await readdir(root, { recursive: true })) {
      if (!file.endsWith('.ts')) continue;
      for (const match of (await readFile(new URL(file, root), 'utf8')).matchAll(/\bnew (\w+Command)\(/g)) commands.add(match[1]!);
    }
  }
  return commands;
}

const roleOf = (functionId: string) => (resources[functionId]!.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

interface Grant {
  actions: string[];
  resources: string[];
  condition: unknown;
}

const grantsOf = (roleId: string, parameters: Record<string, string> = {}): Record<string, Grant> =>
  Object.fromEntries(
    (evaluate(resources[roleId]!.Properties.Policies, context(parameters)) as any[])
      .flatMap((policy) => policy.PolicyDocument.Statement)
      .map((statement: any) => [
        statement.Sid,
        { actions: [statement.Action].flat() as string[], resources: [statement.Resource].flat() as string[], condition: statement.Condition },
      ]),
  );

t.test('every AWS call in src/ and events/ has its IAM action, and some function runs it', async (t) => {
  const sent = await commandsInSource();
  t.ok(sent.size >= 10, `${sent.size} commands`);
  for (const command of sent) t.ok(command in IAM_ACTION_OF_COMMAND, `${command} has an IAM action listed here`);
  const run = new Set(Object.values(COMMANDS_OF_FUNCTION).flat());
  t.same(
    [...sent].filter((command) => !run.has(command)),
    [],
    'every command is run by a function',
  );
  t.same(
    [...run].filter((command) => !sent.has(command)),
    [],
    'no function is said to run a command src/ no longer sends',
  );
});

t.test("each role grants exactly the actions its function's code calls", async (t) => {
  t.same(Object.keys(COMMANDS_OF_FUNCTION).sort(), functions.map(([id]) => id).sort());
  for (const [functionId, commands] of Object.entries(COMMANDS_OF_FUNCTION)) {
    const expected = new Set(['logs:CreateLogStream', 'logs:PutLogEvents', ...commands.map((command) => IAM_ACTION_OF_COMMAND[command]!)]);
    // CreateJob names the role the job runs as.
    if (commands.includes('CreateJobCommand')) expected.add('iam:PassRole');
    // Invoked asynchronously with failures kept in the queue (their EventInvokeConfig).
    if (['S3EventFunction', 'JobEventFunction'].includes(functionId)) expected.add('sqs:SendMessage');
    // With fast start on: the most any role holds.
    const granted = new Set(Object.values(grantsOf(roleOf(functionId), FAST_START_ON)).flatMap((grant) => grant.actions));
    t.same([...granted].sort(), [...expected].sort(), `${functionId} (${roleOf(functionId)})`);
  }
});

t.test('each role holds what its function does and nothing more', async (t) => {
  const grants = (roleId: string) => grantsOf(roleId);
  const bucketArn = `arn:aws:s3:::${BUCKET_NAME}`;
  const bothPrefixes = [`${bucketArn}/uploads/*`, `${bucketArn}/video-streams/*`];
  const prefixCondition = { StringLike: { 's3:prefix': ['uploads/*', 'video-streams/*'] } };
  const jobs = 'arn:aws:mediaconvert:eu-west-1:111122223333:jobs/*';
  const defaultQueue = 'arn:aws:mediaconvert:eu-west-1:111122223333:queues/Default';
  t.match(grants('MediaConvertRole'), {
    ReadSources: { actions: ['s3:GetObject'], resources: [`${bucketArn}/uploads/*`] },
    WriteStreams: { actions: ['s3:PutObject'], resources: [`${bucketArn}/video-streams/*`] },
  });
  t.same(Object.keys(grants('MediaConvertRole')), ['ReadSources', 'WriteStreams']);
  const mediaConvertTrust = resources.MediaConvertRole!.Properties.AssumeRolePolicyDocument.Statement[0];
  t.same(mediaConvertTrust.Principal, { Service: 'mediaconvert.amazonaws.com' });

  const s3Event = grants('S3EventRole');
  t.same(Object.keys(s3Event).sort(), [
    'Catalog',
    'DeleteVideoObjects',
    'FindJobs',
    'KeepFailedEvents',
    'ListVideoObjects',
    'OwnLogs',
    'PassTheJobRole',
    'ProbeMedia',
    'ProbeSources',
    'SubmitJobs',
  ]);
  t.same(s3Event.ProbeSources!.resources, [`${bucketArn}/uploads/*`]);
  t.same(s3Event.ProbeMedia, { actions: ['mediaconvert:Probe'], resources: ['*'], condition: undefined }, 'Probe has no resource to scope it to');
  t.same(s3Event.FindJobs!.resources, [defaultQueue], 'ListJobs on the queue findJob names');
  t.same(grantsOf('S3EventRole', { UseDedicatedQueue: 'true' }).FindJobs!.resources, [RESOURCE_VALUES['TranscodeQueue.Arn']], "or the stack's own queue");

  const jobEvent = grants('JobEventRole');
  t.same(Object.keys(jobEvent).sort(), ['Catalog', 'DeleteVideoObjects', 'KeepFailedEvents', 'ListVideoObjects', 'OwnLogs', 'ReadPlaylists']);
  t.same(jobEvent.ReadPlaylists!.resources, [`${bucketArn}/video-streams/*.m3u8`]);

  const api = grants('ApiRole');
  t.same(api.PresignUploads, { actions: ['s3:PutObject'], resources: [`${bucketArn}/uploads/*`], condition: undefined });
  t.same(api.SigningKey, {
    actions: ['ssm:GetParameter'],
    resources: ['arn:aws:ssm:eu-west-1:111122223333:parameter/vod/prod/cloudfront-private-key-1'],
    condition: undefined,
  });
  t.same(api.MultipartUploads, {
    actions: ['s3:ListMultipartUploadParts', 's3:AbortMultipartUpload'],
    resources: [`${bucketArn}/uploads/*`],
    condition: undefined,
  });
  t.same(api.CancelJobs, { actions: ['mediaconvert:CancelJob'], resources: [jobs], condition: undefined });
  const custom = evaluate(resources.ApiRole!.Properties.Policies, context({ CloudFrontPrivateKeyParameterPrefix: '/keys/vod' })) as any[];
  t.ok(JSON.stringify(custom).includes('parameter/keys/vod-1"'), 'a custom parameter prefix is the one granted');

  // A deleted video's objects go wherever its deletion runs: both folders, nothing else.
  for (const role of ['ApiRole', 'S3EventRole', 'JobEventRole', 'ReconcileRole']) {
    t.same(
      grants(role).DeleteVideoObjects,
      { actions: ['s3:DeleteObject'], resources: bothPrefixes, condition: undefined },
      `${role}: deletes in both folders`,
    );
    t.same(grants(role).ListVideoObjects!.resources, [bucketArn], `${role}: lists this bucket`);
  }
  for (const role of ['ApiRole', 'S3EventRole', 'JobEventRole', 'ReconcileRole']) {
    t.same(grants(role).ListVideoObjects!.condition, prefixCondition, `${role}: lists the two folders only`);
  }

  const reconcile = grants('ReconcileRole');
  t.same(Object.keys(reconcile).sort(), [
    'AbortUploads',
    'Catalog',
    'DeleteVideoObjects',
    'DueVideos',
    'FindJobs',
    'ListUploads',
    'ListVideoObjects',
    'OwnLogs',
    'PassTheJobRole',
    'ProbeMedia',
    'ReadPlaylists',
    'ReadSources',
    'SubmitJobs',
    'WatchJobs',
  ]);
  t.same(reconcile.Catalog, {
    actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    resources: ['VideosTable.Arn'],
    condition: undefined,
  });
  t.same(
    reconcile.DueVideos,
    { actions: ['dynamodb:Query'], resources: ['VideosTable.Arn/index/byStatus'], condition: undefined },
    'the status index only: never a scan',
  );
  t.same(reconcile.ReadSources!.resources, [`${bucketArn}/uploads/*`]);
  t.same(reconcile.ReadPlaylists!.resources, [`${bucketArn}/video-streams/*.m3u8`]);
  t.same(reconcile.AbortUploads, { actions: ['s3:AbortMultipartUpload'], resources: [`${bucketArn}/uploads/*`], condition: undefined });
  t.same(reconcile.ListUploads, { actions: ['s3:ListBucketMultipartUploads'], resources: [bucketArn], condition: undefined });
  t.same(reconcile.WatchJobs, { actions: ['mediaconvert:GetJob', 'mediaconvert:CancelJob'], resources: [jobs], condition: undefined });
  t.same(reconcile.FindJobs!.resources, [defaultQueue]);
  t.same(reconcile.ProbeMedia!.resources, ['*']);
});

t.test('every function logs to a log group of its own with a retention', async (t) => {
  for (const [id, fn] of functions) {
    const logGroup = fn.Properties.LoggingConfig?.LogGroup?.Ref;
    t.ok(resources[logGroup]?.Type === 'AWS::Logs::LogGroup', `${id} logs to ${logGroup}`);
    const role = resources[fn.Properties.Role['Fn::GetAtt'][0]]!;
    const logs = role.Properties.Policies[0].PolicyDocument.Statement.find((statement: any) => statement.Sid === 'OwnLogs');
    t.same(logs.Resource, { 'Fn::GetAtt': [logGroup, 'Arn'] }, `${id} writes to that group only`);
  }
  for (const tpl of [template, edgeTemplate]) {
    for (const [id, group] of ofType(tpl, 'AWS::Logs::LogGroup')) t.same(group.Properties.RetentionInDays, { Ref: 'LogRetentionDays' }, id);
  }
});

t.test("the HTTP API's access logs go to a log group of this stack under /aws/vendedlogs/", async (t) => {
  const api = resources.HttpApi!.Properties;
  t.same(api.AccessLogSettings.DestinationArn, { 'Fn::GetAtt': ['ApiAccessLogGroup', 'Arn'] });
  const group = resources.ApiAccessLogGroup!;
  const name = (stackName: string) => (evaluate(group.Properties, context({}, { 'AWS::StackName': stackName })) as any).LogGroupName as string;
  t.ok(name('vod-prod').startsWith('/aws/vendedlogs/'), name('vod-prod'));
  t.not(name('vod-prod'), name('vod-staging'), 'one group per stack');
  t.match(name('vod-prod'), /^[.\-_/#A-Za-z0-9]{1,512}$/, 'a valid log group name');
  t.notOk(group.DeletionPolicy, 'deleted with the stack, so a stack created again under the same name can create it again');
});

t.test('the HTTP API: JWT on every route but the public ones', async (t) => {
  const api = resources.HttpApi!.Properties;
  t.equal(api.Auth.DefaultAuthorizer, 'Jwt');
  t.equal(api.Auth.Authorizers.Jwt.IdentitySource, '$request.header.Authorization');
  const events = Object.values<any>(resources.ApiFunction!.Properties.Events);
  const publicRoutes = events
    .filter((event) => event.Properties.Auth?.Authorizer === 'NONE')
    .map((event) => `${event.Properties.Method} ${event.Properties.Path}`);
  t.same(
    publicRoutes.sort(),
    ['GET /', 'GET /assets/{proxy+}', 'GET /config.json', 'GET /docs', 'GET /docs/{proxy+}', 'GET /health', 'GET /openapi.json'],
    'public: health, openapi.json, docs, the web page (with its assets and sign-in config)',
  );
  const defaultRoute = events.filter((event) => event.Properties.Path === undefined);
  t.equal(defaultRoute.length, 1, '$default takes everything else');
  t.notOk(defaultRoute[0].Properties.Auth, 'with the default (JWT) authorizer');
  const withIssuer = evaluate(api.Auth.Authorizers.Jwt.JwtConfiguration, context({ JwtIssuer: 'https://issuer.example.com', JwtAudience: 'vod' }));
  t.same(withIssuer, { issuer: 'https://issuer.example.com', audience: ['vod'] });
  const cognito = evaluate(api.Auth.Authorizers.Jwt.JwtConfiguration, context());
  t.same(cognito, { issuer: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123', audience: ['3ts5example1n6k1rqp2g6c7cr9'] });
  t.ok(condition('CreateUserPool', context()), 'no issuer given: a user pool is created');
  t.notOk(condition('CreateUserPool', context({ JwtIssuer: 'https://issuer.example.com' })));
});

t.test('a template rule refuses JwtIssuer without JwtAudience before anything is deployed', async (t) => {
  t.same(template.Rules?.JwtAudienceWithIssuer, {
    RuleCondition: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'JwtIssuer' }, ''] }] },
    Assertions: [
      {
        Assert: { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'JwtAudience' }, ''] }] },
        AssertDescription: 'JwtAudience is required when JwtIssuer is set (the `aud` the API expects in its tokens).',
      },
    ],
  });
  const issuer = 'https://issuer.example.com';
  t.same(ruleFailures(context()), [], 'the defaults (a Cognito pool of this stack) pass');
  t.same(ruleFailures(context({ JwtIssuer: issuer, JwtAudience: 'vod' })), [], 'an issuer with its audience passes');
  t.same(ruleFailures(context({ JwtAudience: 'vod' })), [], "an audience without an issuer is ignored (the pool's client is the audience)");
  t.same(ruleFailures(context({ JwtIssuer: issuer })), [
    'JwtAudienceWithIssuer: JwtAudience is required when JwtIssuer is set (the `aud` the API expects in its tokens).',
  ]);
  t.same(
    ruleFailures(context({ JwtIssuer: issuer, JwtJwksUrl: `${issuer}/keys` })),
    ruleFailures(context({ JwtIssuer: issuer })),
    'a JWKS URL does not stand in for it',
  );

  // Whatever passes the rules gives the authorizer and the app an audience.
  const settings: Array<Record<string, string>> = [{}, { JwtIssuer: issuer }, { JwtAudience: 'vod' }, { JwtIssuer: issuer, JwtAudience: 'vod' }];
  const accepted = settings.filter((parameters) => ruleFailures(context(parameters)).length === 0);
  t.equal(accepted.length, 3);
  for (const parameters of accepted) {
    const jwt = evaluate(resources.HttpApi!.Properties.Auth.Authorizers.Jwt.JwtConfiguration, context(parameters)) as any;
    t.ok(
      jwt.audience.every((audience: string) => audience !== ''),
      `${JSON.stringify(parameters)}: audience ${jwt.audience}`,
    );
    const env = (evaluate(template.Globals!.Function!.Environment as Json, context(parameters)) as any).Variables;
    t.not(loadConfig(env).JWT_AUDIENCE, '');
  }
});

t.test('the user pool outlives the stack: kept on deletion and on replacement', async (t) => {
  const pool = resources.UserPool!;
  t.equal(pool.DeletionPolicy, 'Retain', "sam delete keeps the accounts (a user's sub owns their videos)");
  t.equal(pool.UpdateReplacePolicy, 'Retain', 'an update that replaces the pool keeps the old one');
  t.equal(pool.Condition, 'CreateUserPool');
  // Nothing else of the pool's is retained: the client and the domain go with the stack, so a
  // stack created again can take the domain prefix again.
  for (const id of ['UserPoolClient', 'UserPoolDomain']) t.notOk(resources[id]!.DeletionPolicy, `${id} is deleted with the stack`);
});

t.test("the HTTP API's CORS is the app's own policy for the configured origins, with no credentials", async (t) => {
  const api = resources.HttpApi!.Properties;
  const origins = 'https://videos.example.com,http://localhost:5173';
  const cors = evaluate(api.CorsConfiguration, context({ AllowedOrigins: origins })) as any;
  t.same(cors, {
    AllowOrigins: ['https://videos.example.com', 'http://localhost:5173'],
    AllowCredentials: API_CORS.allowCredentials,
    AllowMethods: API_CORS.allowMethods,
    AllowHeaders: API_CORS.allowHeaders,
    ExposeHeaders: API_CORS.exposeHeaders,
    MaxAge: API_CORS.maxAgeSeconds,
  });
  t.equal(cors.AllowCredentials, false);
  const env = (evaluate(template.Globals!.Function!.Environment as Json, context({ AllowedOrigins: origins })) as any).Variables;
  t.same(allowedOriginsOf(loadConfig(env)), [], "the function loads no CORS plugin: API Gateway answers CORS and drops the backend's CORS headers");
  t.same(evaluate(api.CorsConfiguration, context()), NO_VALUE, 'no AllowedOrigins: no CORS configuration (same origin only)');
  t.same(allowedOriginsOf(loadConfig((evaluate(template.Globals!.Function!.Environment as Json, context()) as any).Variables)), []);
  t.equal(
    template.Parameters!.AllowedOrigins!.AllowedPattern,
    ConfigSchema.properties.CORS_ALLOWED_ORIGINS.pattern,
    'the parameter accepts exactly what the app setting accepts',
  );
  const pattern = new RegExp(template.Parameters!.AllowedOrigins!.AllowedPattern!);
  for (const refused of ['*', 'https://*.example.com', 'https://videos.example.com/', 'https://videos.example.com/app', 'videos.example.com']) {
    t.notOk(pattern.test(refused), `AllowedOrigins refuses ${refused}`);
  }
});

t.test("the distribution's CORS is the CDN stand-in's: any origin, never credentials", async (t) => {
  const config = (evaluate(resources.PlayerCorsPolicy!.Properties, context()) as any).ResponseHeadersPolicyConfig.CorsConfig;
  const unwrapped = Object.fromEntries(
    Object.entries(config)
      .filter(([name]) => name !== 'OriginOverride')
      .map(([name, value]) => [name, (value as { Items?: unknown }).Items ?? value]),
  );
  t.same(unwrapped, PLAYER_CORS_POLICY);
});

t.test('no CORS setting anywhere in the templates allows credentials with *', async (t) => {
  const found: string[] = [];
  const visit = (node: unknown, path: string) => {
    if (Array.isArray(node)) return node.forEach((item, index) => visit(item, `${path}[${index}]`));
    if (!node || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    const credentials = record.AllowCredentials ?? record.AccessControlAllowCredentials;
    if (credentials !== undefined) {
      const origins = JSON.stringify(record.AllowOrigins ?? record.AllowedOrigins ?? record.AccessControlAllowOrigins);
      found.push(path);
      t.notOk(credentials === true && origins.includes('"*"'), `${path}: credentials ${String(credentials)} with ${origins}`);
    }
    for (const [key, value] of Object.entries(record)) visit(value, `${path}.${key}`);
  };
  // As written (every branch of every condition), and as deployed with and without AllowedOrigins.
  for (const [name, tpl] of [
    ['template.yaml', template],
    ['edge-signer.yaml', edgeTemplate],
  ] as const)
    visit(tpl.Resources, name);
  for (const origins of ['', 'https://videos.example.com']) visit(evaluate(template.Resources, context({ AllowedOrigins: origins })), 'deployed');
  t.ok(found.length >= 2, `CORS settings checked: ${[...new Set(found)].join(', ')}`);
});

t.test("API Gateway throttles every route by the template's parameters", async (t) => {
  const api = resources.HttpApi!.Properties;
  t.same(evaluate(api.DefaultRouteSettings, context()), { ThrottlingBurstLimit: '200', ThrottlingRateLimit: '100' }, 'defaults: 100 req/s, bursts of 200');
  t.same(evaluate(api.DefaultRouteSettings, context({ ApiThrottlingRateLimit: '20', ApiThrottlingBurstLimit: '40' })), {
    ThrottlingBurstLimit: '40',
    ThrottlingRateLimit: '20',
  });
  const env = (evaluate(template.Globals!.Function!.Environment as Json, context()) as any).Variables;
  t.equal(loadConfig(env).RATE_LIMIT_MAX, 0, "the app's per-process limit is off: API Gateway throttles");
  for (const name of ['ApiThrottlingRateLimit', 'ApiThrottlingBurstLimit']) {
    t.equal(template.Parameters![name]!.Type, 'Number', `${name} is a number`);
  }
});

t.test("the page signs in through the pool's hosted UI once WebAppUrl is known", async (t) => {
  const pageUrl = 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/';
  const resolve = (parameters: Record<string, string>) => ({
    env: (evaluate(template.Globals!.Function!.Environment as Json, context(parameters)) as any).Variables as Record<string, string>,
    client: evaluate(resources.UserPoolClient!.Properties, context(parameters)) as any,
  });
  const first = resolve({});
  t.equal(authConfigOf(loadConfig(first.env)), null, 'first deployment: the page says sign-in is not set up');
  t.notOk(first.client.CallbackURLs);
  const second = resolve({ WebAppUrl: pageUrl });
  t.same(authConfigOf(loadConfig(second.env)), {
    authorizeUrl: 'https://UserPoolDomain.auth.eu-west-1.amazoncognito.com/oauth2/authorize',
    tokenUrl: 'https://UserPoolDomain.auth.eu-west-1.amazoncognito.com/oauth2/token',
    clientId: '3ts5example1n6k1rqp2g6c7cr9',
    scopes: 'openid',
    logoutUrl: 'https://UserPoolDomain.auth.eu-west-1.amazoncognito.com/logout',
  });
  t.match(second.client, { AllowedOAuthFlows: ['code'], CallbackURLs: [pageUrl], LogoutURLs: [pageUrl], AllowedOAuthFlowsUserPoolClient: true });
  t.notOk('GenerateSecret' in second.client && second.client.GenerateSecret, 'a public client (PKCE), as the page is');
  t.match(pageUrl, new RegExp(template.Parameters!.WebAppUrl!.AllowedPattern!));
  t.equal(evaluate(template.Outputs!.PageUrl!.Value, context()), pageUrl, 'the PageUrl output is the value to pass');
  t.notOk(condition('EnableHostedUi', context({ WebAppUrl: pageUrl, JwtIssuer: 'https://issuer.example.com' })), 'not with an issuer of your own');
});

t.test('CloudFront: OAC origin, the key group on every behavior, playlists uncached through the edge signer', async (t) => {
  const config = evaluate(resources.Distribution!.Properties, context({}, { 'AWS::Region': 'us-east-1' })) as any;
  const { DistributionConfig: distribution } = config;
  t.match(distribution.Origins, [
    {
      Id: 'media',
      DomainName: 'vod-prod-111122223333-us-east-1-1c2fa620.s3.us-east-1.amazonaws.com',
      S3OriginConfig: { OriginAccessIdentity: '' },
      OriginAccessControlId: 'OriginAccessControl.Id',
    },
  ]);
  const behaviors = [distribution.DefaultCacheBehavior, ...distribution.CacheBehaviors];
  for (const behavior of behaviors) {
    t.same(behavior.TrustedKeyGroups, ['PlaybackKeyGroup'], `${behavior.PathPattern ?? 'default'}: signed requests only`);
    t.equal(behavior.ViewerProtocolPolicy, 'https-only');
    t.equal(behavior.ResponseHeadersPolicyId, 'PlayerCorsPolicy', 'CORS headers for players');
  }
  const [playlists, segments] = distribution.CacheBehaviors;
  t.equal(playlists.PathPattern, 'video-streams/*.m3u8', 'playlists first: CloudFront takes the first matching pattern');
  t.equal(playlists.CachePolicyId, '4135ea2d-6df8-44a3-9df3-4b5a84be39ad', 'managed CachingDisabled');
  t.same(playlists.LambdaFunctionAssociations, [{ EventType: 'origin-request', IncludeBody: false, LambdaFunctionARN: 'EdgeSigner.Outputs.VersionArn' }]);
  const forwarded = resources.PlaylistOriginRequestPolicy!.Properties.OriginRequestPolicyConfig.QueryStringsConfig;
  t.same(forwarded.QueryStrings.slice(0, 3), ['Policy', 'Signature', 'Key-Pair-Id'], "the signer sees the viewer's signing query");
  t.equal(segments.PathPattern, 'video-streams/*');
  const segmentKey = resources.SegmentsCachePolicy!.Properties.CachePolicyConfig.ParametersInCacheKeyAndForwardedToOrigin;
  t.same(segmentKey.QueryStringsConfig, { QueryStringBehavior: 'none' }, 'one cache entry per segment whoever signed');
  const cors = resources.PlayerCorsPolicy!.Properties.ResponseHeadersPolicyConfig.CorsConfig;
  t.match(cors, { AccessControlAllowMethods: { Items: ['GET', 'HEAD'] }, AccessControlAllowCredentials: false });

  // The public key parameter becomes a PEM CloudFront accepts, the same key npm run keys made.
  const encoded = (evaluate(resources.PlaybackPublicKeyA!.Properties, context()) as any).PublicKeyConfig.EncodedKey;
  t.equal(createPublicKey(encoded).export({ type: 'spki', format: 'pem' }), publicKey);
  t.ok(
    encoded.split('\n').every((line: string) => line.length <= 64),
    'PEM lines of at most 64 characters',
  );
});

t.test('the signing key rotates through two slots: trusted before it signs, never changed in place', async (t) => {
  const newKey = () =>
    publicKeyParameterOf(
      generateKeyPairSync('rsa', {
        modulusLength: 2048,
        publicKeyEncoding: { type: 'spki', format: 'pem' },
        privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      }).publicKey,
    );
  const [key1, key2, key3] = [publicKeyParameterOf(publicKey), newKey(), newKey()];
  const slots = ['PlaybackPublicKeyA', 'PlaybackPublicKeyB'] as const;

  /** What a deployment with these parameters gives: its public keys, the key group, what the API signs with and may read. */
  const deploy = (parameters: Record<string, string>) => {
    const settings = context(parameters);
    const keys = Object.fromEntries(
      slots
        .filter((id) => condition(resources[id]!.Condition!, settings))
        .map((id) => [id, (evaluate(resources[id]!.Properties, settings) as any).PublicKeyConfig]),
    ) as Record<string, { Name: string; CallerReference: string; EncodedKey: string }>;
    const config = loadConfig((evaluate(template.Globals!.Function!.Environment as Json, settings) as any).Variables);
    const statements = (evaluate(resources.ApiRole!.Properties.Policies, settings) as any[]).flatMap((policy) => policy.PolicyDocument.Statement);
    const outputs = evaluate(template.Outputs as Json, settings) as Record<string, { Value: string }>;
    return {
      refused: [...parameterFailures(template, settings.parameters), ...ruleFailures(settings)],
      keys,
      trusted: (evaluate(resources.PlaybackKeyGroup!.Properties, settings) as any).KeyGroupConfig.Items as string[],
      signer: config.CLOUDFRONT_KEY_PAIR_ID,
      privateKey: config.CLOUDFRONT_PRIVATE_KEY_PARAMETER!,
      readable: [statements.find((statement) => statement.Sid === 'SigningKey').Resource].flat() as string[],
      outputs: { keyPairId: outputs.CloudFrontKeyPairId!.Value, privateKey: outputs.PrivateKeyParameterName!.Value },
    };
  };
  const arn = (version: number) => `arn:aws:ssm:eu-west-1:111122223333:parameter/vod/prod/cloudfront-private-key-${version}`;
  const [A, B] = [RESOURCE_VALUES.PlaybackPublicKeyA, RESOURCE_VALUES.PlaybackPublicKeyB];

  // The README's procedure, twice round, as the parameters of each `sam deploy`.
  const steps: Array<[string, Record<string, string>]> = [
    ['first deployment: slot A, version 1', {}],
    ['1. the new key in slot B, version 2', { CloudFrontPublicKeyB: key2 }],
    ['2. signing with slot B', { CloudFrontPublicKeyB: key2, CloudFrontSigningSlot: 'B' }],
    ['3. slot A emptied', { CloudFrontPublicKeyA: '', CloudFrontPublicKeyB: key2, CloudFrontSigningSlot: 'B' }],
    [
      '1. the next key in slot A, version 3',
      { CloudFrontPublicKeyA: key3, CloudFrontKeyVersionA: '3', CloudFrontPublicKeyB: key2, CloudFrontSigningSlot: 'B' },
    ],
    ['2. signing with slot A', { CloudFrontPublicKeyA: key3, CloudFrontKeyVersionA: '3', CloudFrontPublicKeyB: key2 }],
    ['3. slot B emptied', { CloudFrontPublicKeyA: key3, CloudFrontKeyVersionA: '3' }],
  ];
  const deployments = steps.map(([, parameters]) => deploy(parameters));

  // Exact lists: which keys the group trusts, which one signs, which private keys the API may read.
  const summary = ({ trusted, signer, privateKey, readable }: ReturnType<typeof deploy>) => ({ trusted, signer, privateKey, readable });
  const names = (index: number) => Object.fromEntries(Object.entries(deployments[index]!.keys).map(([id, key]) => [id, key.Name]));
  t.same(summary(deployments[0]!), { trusted: [A], signer: A, privateKey: '/vod/prod/cloudfront-private-key-1', readable: [arn(1)] });
  t.same(names(0), { PlaybackPublicKeyA: 'vod-prod-playback-1' }, 'slot B empty: one key, alone in the group');
  t.same(summary(deployments[1]!), { trusted: [A, B], signer: A, privateKey: '/vod/prod/cloudfront-private-key-1', readable: [arn(1), arn(2)] });
  t.same(names(1), { PlaybackPublicKeyA: 'vod-prod-playback-1', PlaybackPublicKeyB: 'vod-prod-playback-2' }, 'both slots filled: both keys in the group');
  t.same(summary(deployments[2]!), { trusted: [A, B], signer: B, privateKey: '/vod/prod/cloudfront-private-key-2', readable: [arn(1), arn(2)] });
  t.same(summary(deployments[3]!), { trusted: [B], signer: B, privateKey: '/vod/prod/cloudfront-private-key-2', readable: [arn(2)] });
  t.same(names(3), { PlaybackPublicKeyB: 'vod-prod-playback-2' });
  t.same(summary(deployments[4]!), { trusted: [A, B], signer: B, privateKey: '/vod/prod/cloudfront-private-key-2', readable: [arn(3), arn(2)] });
  t.same(names(4), { PlaybackPublicKeyA: 'vod-prod-playback-3', PlaybackPublicKeyB: 'vod-prod-playback-2' });
  t.same(summary(deployments[5]!), { trusted: [A, B], signer: A, privateKey: '/vod/prod/cloudfront-private-key-3', readable: [arn(3), arn(2)] });
  t.same(summary(deployments[6]!), { trusted: [A], signer: A, privateKey: '/vod/prod/cloudfront-private-key-3', readable: [arn(3)] });

  for (const [index, deployment] of deployments.entries()) {
    const step = steps[index]![0];
    t.same(deployment.refused, [], `${step}: passes the parameters' constraints and the template's rules`);
    t.ok(deployment.trusted.includes(deployment.signer), `${step}: the signing key is in the key group`);
    t.ok(
      deployment.readable.some((resource) => resource.endsWith(`:parameter${deployment.privateKey}`)),
      `${step}: the API may read its private key`,
    );
    t.same(deployment.outputs, { keyPairId: deployment.signer, privateKey: deployment.privateKey }, `${step}: the outputs name the signing key`);
    for (const [id, key] of Object.entries(deployment.keys)) {
      const version = steps[index]![1][`CloudFrontKeyVersion${id.slice(-1)}`] ?? { PlaybackPublicKeyA: '1', PlaybackPublicKeyB: '2' }[id];
      t.equal(key.Name, `vod-prod-playback-${version}`, `${step}: ${id}'s name carries its version`);
      t.equal(key.CallerReference, key.Name);
    }
    const keyNames = Object.values(deployment.keys).map((key) => key.Name);
    t.equal(new Set(keyNames).size, keyNames.length, `${step}: no two keys share a name`);
    if (index === 0) continue;
    const before = deployments[index - 1]!;
    t.ok(before.trusted.includes(deployment.signer), `${step}: the signing key was trusted by the deployment before`);
    t.ok(deployment.trusted.includes(before.signer), `${step}: URLs signed before still play`);
    for (const id of slots) {
      if (before.keys[id] && deployment.keys[id])
        t.same(deployment.keys[id], before.keys[id], `${step}: ${id} is left as it was (CloudFront cannot update a key)`);
    }
  }
  t.equal(
    createPublicKey(deployments[1]!.keys.PlaybackPublicKeyB!.EncodedKey).export({ type: 'spki', format: 'pem' }),
    createPublicKey(deploy({ CloudFrontPublicKeyA: key2 }).keys.PlaybackPublicKeyA!.EncodedKey).export({ type: 'spki', format: 'pem' }),
    'slot B rebuilds the PEM as slot A does',
  );

  // What CloudFormation refuses before it touches anything.
  t.same(deploy({ CloudFrontSigningSlot: 'B' }).refused, [
    'SigningSlotBHasKey: CloudFrontPublicKeyB is required while CloudFrontSigningSlot is B (the signing key must be trusted).',
  ]);
  t.same(deploy({ CloudFrontPublicKeyA: '' }).refused, [
    'SigningSlotAHasKey: CloudFrontPublicKeyA is required while CloudFrontSigningSlot is A (the signing key must be trusted).',
  ]);
  t.match(deploy({ CloudFrontPublicKeyB: key1 }).refused, [/^KeySlotsDiffer: The two key slots need different keys/]);
  // A version has one slot, so the next version can only go where the current key is not.
  t.same(deploy({ CloudFrontPublicKeyA: key2, CloudFrontKeyVersionA: '2' }).refused, [
    'CloudFrontKeyVersionA: slot A takes odd key versions (npm run keys puts each version in its slot)',
  ]);
  t.same(deploy({ CloudFrontPublicKeyB: key2, CloudFrontKeyVersionB: '3' }).refused, [
    'CloudFrontKeyVersionB: slot B takes even key versions (npm run keys puts each version in its slot)',
  ]);
  t.same(deploy({ CloudFrontPublicKeyB: key2, CloudFrontKeyVersionB: '1' }).refused.length, 1, 'two slots never share a version');
  const accepts = (name: string, value: string) => parameterFailures(template, { [name]: value }).length === 0;
  t.same(['1', '3', '9', '11', '123456789'].filter((value) => accepts('CloudFrontKeyVersionA', value)).length, 5, 'slot A: odd versions');
  t.same(
    ['0', '2', '01', '1a', '', '1234567891'].filter((value) => accepts('CloudFrontKeyVersionA', value)),
    [],
  );
  t.same(['2', '8', '10', '12', '123456780'].filter((value) => accepts('CloudFrontKeyVersionB', value)).length, 5, 'slot B: even versions');
  t.same(
    ['0', '1', '02', '11', '', '1234567890'].filter((value) => accepts('CloudFrontKeyVersionB', value)),
    [],
  );
  for (const name of ['CloudFrontPublicKeyA', 'CloudFrontPublicKeyB']) {
    t.match(key2, new RegExp(template.Parameters![name]!.AllowedPattern!), `${name} takes what npm run keys prints`);
    t.match('', new RegExp(template.Parameters![name]!.AllowedPattern!), `${name} may be empty`);
  }
});

t.test('the edge signer is in the shape Lambda@Edge accepts', async (t) => {
  const fn = edgeTemplate.Resources.ManifestSignerFunction!;
  t.equal(fn.Type, 'AWS::Serverless::Function');
  t.notOk(edgeTemplate.Globals, 'no Globals (they could bring environment variables)');
  t.notOk('Environment' in fn.Properties, 'no environment variables');
  t.notOk('Layers' in fn.Properties || 'VpcConfig' in fn.Properties || 'ProvisionedConcurrencyConfig' in fn.Properties);
  t.equal(fn.Properties.AutoPublishAlias, 'live', 'a numbered version on every change');
  t.same(edgeTemplate.Outputs?.VersionArn?.Value, { Ref: 'ManifestSignerFunction.Version' }, 'CloudFront gets the version ARN, not $LATEST or the alias');
  t.same(fn.Properties.Architectures, ['x86_64'], 'Lambda@Edge refuses arm64');
  t.match(fn.Properties.Runtime, /^nodejs2\d\.x$/);
  t.ok(fn.Properties.MemorySize >= 128 && fn.Properties.MemorySize <= 10240, 'memory within the origin-request range');
  t.ok(fn.Properties.Timeout >= 1 && fn.Properties.Timeout <= 30, 'origin-request triggers may run 30 s at most');
  const trust = edgeTemplate.Resources.ManifestSignerRole!.Properties.AssumeRolePolicyDocument.Statement[0];
  t.same([...trust.Principal.Service].sort(), ['edgelambda.amazonaws.com', 'lambda.amazonaws.com']);
  t.equal(trust.Action, 'sts:AssumeRole');

  // Nested here only in us-east-1; elsewhere the association takes the ARN deployed there.
  t.equal(resources.EdgeSigner!.Condition, 'CreateEdgeSigner');
  t.equal(resources.EdgeSigner!.Properties.Location, 'deploy/aws/edge-signer.yaml');
  t.ok(condition('CreateEdgeSigner', context({}, { 'AWS::Region': 'us-east-1' })));
  t.notOk(condition('CreateEdgeSigner', context({}, { 'AWS::Region': 'eu-west-1' })), 'never created outside us-east-1');
  const elsewhere = 'arn:aws:lambda:us-east-1:111122223333:function:vod-prod-manifest-signer:3';
  const association = (region: string, parameters: Record<string, string>) =>
    (evaluate(resources.Distribution!.Properties, context(parameters, { 'AWS::Region': region })) as any).DistributionConfig.CacheBehaviors[0]
      .LambdaFunctionAssociations;
  t.same(association('eu-west-1', { EdgeSignerVersionArn: elsewhere }), [{ EventType: 'origin-request', IncludeBody: false, LambdaFunctionARN: elsewhere }]);
  t.equal(association('eu-west-1', {}), undefined, 'until it is deployed, no association (README)');
  t.match(elsewhere, new RegExp(template.Parameters!.EdgeSignerVersionArn!.AllowedPattern!), 'the parameter accepts a us-east-1 version ARN');
  t.notMatch(elsewhere.replace(':3', ''), new RegExp(template.Parameters!.EdgeSignerVersionArn!.AllowedPattern!), 'but not an unversioned one');
});

t.test('outputs: the API URL, the CDN domain and the bucket', async (t) => {
  const outputs = evaluate(template.Outputs as Json, context()) as Record<string, { Value: string }>;
  t.equal(outputs.ApiUrl?.Value, 'https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com');
  t.equal(outputs.CdnDomain?.Value, 'd111111abcdef8.cloudfront.net');
  t.equal(outputs.BucketName?.Value, 'MediaBucket');
});
