/**
 * template.yaml (and the edge template it nests) read as CloudFormation reads them, checked for
 * the wiring a deployment depends on. Bundles and handlers: test/deploy/build.test.ts. Linting:
 * test/deploy/cfn-lint.test.ts.
 */
import t from 'tap';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { loadConfig, ConfigSchema } from '../../src/config.ts';
import { authConfigOf } from '../../routes/web/settings.ts';
import { VIDEO_TABLE_KEYS } from '../../src/video-catalog.ts';
import { USER_METADATA_BUCKET } from '../../src/transcoder/mediaconvert-transcoder.ts';
import { UPLOADS_PREFIX } from '../../src/video-storage.ts';
import type { MediaConvertJobStateChangeEvent } from '../../src/schemas/events.ts';
import { publicKeyParameterOf } from '../../deploy/keys.ts';
import { allowedOriginsOf, API_CORS } from '../../src/cors.ts';
import { PLAYER_CORS_POLICY } from '../../deploy/local/cloudfront.ts';
import { loadEventFixture } from '../helpers/fixtures.ts';
import {
  condition,
  evaluate,
  loadTemplate,
  matchesEventPattern,
  parameterValues,
  NO_VALUE,
  referencedIds,
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
  CloudFrontPublicKeyResource: 'K2JCJMDEHXQW5F',
  HttpApi: 'a1b2c3d4e5',
};

function context(parameters: Record<string, string> = {}, pseudo: Record<string, string> = {}): EvalContext {
  return {
    template,
    parameters: parameterValues(template, { CloudFrontPublicKey: publicKeyParameterOf(publicKey), ...parameters }),
    pseudo,
    resource: (id, attribute) => RESOURCE_VALUES[attribute ? `${id}.${attribute}` : id] ?? (attribute ? `${id}.${attribute}` : id),
  };
}

const functions = ofType(template, 'AWS::Serverless::Function');
const BUCKET_NAME = 'vod-prod-111122223333-eu-west-1';

t.test('the regional functions run nodejs22.x on arm64 with the same validated settings', async (t) => {
  t.equal(template.Globals?.Function?.Runtime, 'nodejs22.x');
  t.same(template.Globals?.Function?.Architectures, ['arm64']);
  t.same(functions.map(([id]) => id).sort(), ['ApiFunction', 'JobEventFunction', 'S3EventFunction']);
  const settings: Array<Record<string, string>> = [{}, { JwtIssuer: 'https://issuer.example.com', JwtAudience: 'vod', UseDedicatedQueue: 'true' }];
  for (const setting of settings) {
    const env = (evaluate(template.Globals!.Function!.Environment as Json, context(setting)) as { Variables: Record<string, string> }).Variables;
    for (const name of Object.keys(env)) {
      t.ok(name in ConfigSchema.properties, `${name} is a setting src/config.ts reads`);
    }
    const config = loadConfig(env);
    t.match(config, {
      BUCKET_NAME,
      TRANSCODER: 'mediaconvert',
      MEDIACONVERT_ENDPOINT: 'https://mediaconvert.eu-west-1.amazonaws.com',
      CDN_BASE_URL: 'https://d111111abcdef8.cloudfront.net',
      CLOUDFRONT_KEY_PAIR_ID: 'K2JCJMDEHXQW5F',
      CLOUDFRONT_PRIVATE_KEY_PARAMETER: '/vod/prod/cloudfront-private-key',
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
      AllowedHeaders: ['Content-Type', 'If-None-Match'],
      ExposedHeaders: ['ETag'],
      MaxAge: 3000,
    },
  ]);
  t.match(props.LifecycleConfiguration.Rules, [{ Status: 'Enabled', AbortIncompleteMultipartUpload: { DaysAfterInitiation: Number } }]);
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

t.test('every mention of the computed bucket name is the bucket\'s own name', async (t) => {
  const pattern = 'vod-${Stage}-${AWS::AccountId}-${AWS::Region}';
  t.equal((resources.MediaBucket!.Properties as any).BucketName['Fn::Sub'], pattern);
  const subs: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Fn::Sub' && typeof value === 'string' && value.includes('vod-$')) subs.push(value);
      walk(value);
    }
  };
  // The hosted UI's domain prefix (vod-<stage>-<account>) is the one other name of that shape.
  walk({ ...template, Resources: { ...template.Resources, UserPoolDomain: null } });
  t.equal((resources.UserPoolDomain!.Properties as any).Domain['Fn::Sub'], 'vod-${Stage}-${AWS::AccountId}');
  t.ok(subs.length > 10);
  for (const sub of subs) t.ok(sub.includes(pattern), sub);
});

t.test('only a source upload under uploads/ triggers the S3 event function', async (t) => {
  const { LambdaConfigurations } = (resources.MediaBucket!.Properties as any).NotificationConfiguration;
  t.equal(LambdaConfigurations.length, 1);
  const [notification] = LambdaConfigurations;
  t.equal(notification.Event, 's3:ObjectCreated:*', 'PUT, POST, copy and multipart completion alike');
  t.same(notification.Function, { 'Fn::GetAtt': ['S3EventFunction', 'Arn'] });
  const rules = notification.Filter.S3Key.Rules;
  t.ok(rules.some((rule: any) => rule.Name === 'prefix' && rule.Value === UPLOADS_PREFIX));
  t.ok(s3FilterMatches(rules, 'uploads/01J9Z8Q4V6X7Y8Z9A0B1C2D3E4/source'));
  for (const key of ['video-streams/01J9Z8Q4V6X7Y8Z9A0B1C2D3E4/master.m3u8', 'video-streams/x/1080p/master_1080p_00001.ts', 'uploads/x/thumbnail.jpg', 'other/uploads/x/source']) {
    t.notOk(s3FilterMatches(rules, key), `${key} does not trigger it`);
  }
  // S3 may invoke the function only for this bucket and account.
  const permission = evaluate(resources.S3EventPermission!.Properties, context()) as any;
  t.match(permission, { Principal: 's3.amazonaws.com', SourceArn: `arn:aws:s3:::${BUCKET_NAME}`, SourceAccount: '111122223333' });
  t.same(resources.MediaBucket!.DependsOn, 'S3EventPermission', 'the notification is created after S3 may invoke');
});

t.test('the EventBridge rule takes this stack\'s MediaConvert job events only', async (t) => {
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
    theirs.detail.userMetadata[USER_METADATA_BUCKET] = 'vod-staging-111122223333-eu-west-1';
    t.notOk(matchesEventPattern(rule.EventPattern, theirs as unknown as Json), `${name} of another stack's job`);
    t.notOk(matchesEventPattern(rule.EventPattern, event as unknown as Json), `${name} of a job without the key`);
  }
  t.match(rule.Targets, [{ Arn: 'JobEventFunction.Arn', DeadLetterConfig: { Arn: 'FailedEventsQueue.Arn' } }]);
  t.match(evaluate(resources.JobEventPermission!.Properties, context()), { Principal: 'events.amazonaws.com', SourceArn: 'JobStateChangeRule.Arn' });
});

t.test('the table has the keys and indexes src/video-catalog.ts queries', async (t) => {
  const table = resources.VideosTable!.Properties as any;
  const sortByName = <T extends { AttributeName?: string; IndexName?: string }>(items: T[]) =>
    [...items].sort((a, b) => String(a.AttributeName ?? a.IndexName).localeCompare(String(b.AttributeName ?? b.IndexName)));
  t.same(sortByName(table.AttributeDefinitions), sortByName(VIDEO_TABLE_KEYS.AttributeDefinitions as any[]));
  t.same(table.KeySchema, VIDEO_TABLE_KEYS.KeySchema);
  t.same(sortByName(table.GlobalSecondaryIndexes), sortByName(VIDEO_TABLE_KEYS.GlobalSecondaryIndexes as any[]));
  t.equal(table.BillingMode, 'PAY_PER_REQUEST');
  t.same(table.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true });
});

/** Every Allow statement of every policy in both templates, with where it is. */
function allowStatements(tpl: Template): Array<{ where: string; statement: any }> {
  const found: Array<{ where: string; statement: any }> = [];
  for (const [id, resource] of Object.entries(tpl.Resources)) {
    const documents: any[] = [];
    if (resource.Type === 'AWS::IAM::Role') documents.push(...(resource.Properties.Policies ?? []).map((policy: any) => policy.PolicyDocument));
    if (resource.Type === 'AWS::S3::BucketPolicy' || resource.Type === 'AWS::SQS::QueuePolicy') documents.push(resource.Properties.PolicyDocument);
    for (const document of documents) {
      for (const statement of document.Statement) {
        if (statement.Effect === 'Allow') found.push({ where: `${id}/${statement.Sid ?? '?'}`, statement });
      }
    }
  }
  return found;
}

t.test('every policy statement names its own resources: no "*" resource (but for Probe, which has none), no wildcard action', async (t) => {
  const parameterNames = new Set(['Stage', 'CloudFrontPrivateKeyParameter', 'BucketName', 'FunctionName']);
  const statements = [...allowStatements(template), ...allowStatements(edgeTemplate)];
  t.ok(statements.length >= 20, `${statements.length} statements`);
  for (const { where, statement } of statements) {
    const resourcesOf = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
    const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
    for (const action of actions) t.notMatch(action, /\*/, `${where}: ${action} is one action`);
    for (const resource of resourcesOf) {
      // Probe reads a file; it acts on no MediaConvert resource (no job, queue, preset), so IAM
      // takes only "*" for it (Service Authorization Reference: no resource type for Probe).
      if (where === 'S3EventRole/ProbeMedia' && resource === '*' && actions.join() === 'mediaconvert:Probe') continue;
      t.not(resource, '*', `${where}: not "*"`);
      // A job is created by the CreateJob call itself, so it has no ARN to name beforehand: the
      // account's jobs in this region is as narrow as IAM can say (the queue is named too).
      if (where === 'S3EventRole/SubmitJobs' && JSON.stringify(resource).endsWith(':jobs/*"}')) continue;
      const ids = [...referencedIds(resource)];
      const own = ids.filter((id) => (template.Resources[id] || edgeTemplate.Resources[id] || parameterNames.has(id)) && id !== 'AWS::AccountId');
      t.ok(own.length > 0, `${where}: ${JSON.stringify(resource)} names a resource of this stack`);
    }
  }
  // The two that reach beyond a bucket prefix, spelled out.
  const submit = statements.find(({ where }) => where === 'S3EventRole/SubmitJobs')!.statement;
  t.match(evaluate(submit, context()), { Resource: ['arn:aws:mediaconvert:eu-west-1:111122223333:queues/Default', 'arn:aws:mediaconvert:eu-west-1:111122223333:jobs/*'] });
  const passRole = statements.find(({ where }) => where === 'S3EventRole/PassTheJobRole')!.statement;
  t.same(passRole.Condition, { StringEquals: { 'iam:PassedToService': 'mediaconvert.amazonaws.com' } }, 'the job role, to MediaConvert only');
});

t.test('each role holds what its function does and nothing more', async (t) => {
  const grants = (roleId: string) =>
    Object.fromEntries(
      (evaluate(resources[roleId]!.Properties.Policies, context()) as any[])
        .flatMap((policy) => policy.PolicyDocument.Statement)
        .map((statement: any) => [statement.Sid, { actions: [statement.Action].flat(), resources: [statement.Resource].flat() }]),
    );
  const bucketArn = `arn:aws:s3:::${BUCKET_NAME}`;
  t.match(grants('MediaConvertRole'), {
    ReadSources: { actions: ['s3:GetObject'], resources: [`${bucketArn}/uploads/*`] },
    WriteStreams: { actions: ['s3:PutObject'], resources: [`${bucketArn}/video-streams/*`] },
  });
  t.same(Object.keys(grants('MediaConvertRole')), ['ReadSources', 'WriteStreams']);
  const mediaConvertTrust = (resources.MediaConvertRole!.Properties as any).AssumeRolePolicyDocument.Statement[0];
  t.same(mediaConvertTrust.Principal, { Service: 'mediaconvert.amazonaws.com' });
  t.same(Object.keys(grants('S3EventRole')).sort(), ['Catalog', 'KeepFailedEvents', 'OwnLogs', 'PassTheJobRole', 'ProbeMedia', 'ProbeSources', 'SubmitJobs']);
  t.same(grants('S3EventRole').ProbeSources.resources, [`${bucketArn}/uploads/*`]);
  t.same(grants('S3EventRole').ProbeMedia, { actions: ['mediaconvert:Probe'], resources: ['*'] }, 'Probe has no resource to scope it to');
  t.same(Object.keys(grants('JobEventRole')).sort(), ['Catalog', 'KeepFailedEvents', 'OwnLogs', 'ReadPlaylists']);
  t.same(grants('JobEventRole').ReadPlaylists.resources, [`${bucketArn}/video-streams/*.m3u8`]);
  const api = grants('ApiRole');
  t.same(api.PresignUploads, { actions: ['s3:PutObject'], resources: [`${bucketArn}/uploads/*`] });
  t.same(api.SigningKey, { actions: ['ssm:GetParameter'], resources: ['arn:aws:ssm:eu-west-1:111122223333:parameter/vod/prod/cloudfront-private-key'] });
  const custom = evaluate(resources.ApiRole!.Properties.Policies, context({ CloudFrontPrivateKeyParameter: '/keys/vod' })) as any[];
  t.ok(JSON.stringify(custom).includes('parameter/keys/vod"'), 'a custom parameter name is the one granted');
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

t.test('the HTTP API: JWT on every route but the public ones', async (t) => {
  const api = resources.HttpApi!.Properties as any;
  t.equal(api.Auth.DefaultAuthorizer, 'Jwt');
  t.equal(api.Auth.Authorizers.Jwt.IdentitySource, '$request.header.Authorization');
  const events = Object.values(resources.ApiFunction!.Properties.Events) as any[];
  const publicRoutes = events.filter((event) => event.Properties.Auth?.Authorizer === 'NONE').map((event) => `${event.Properties.Method} ${event.Properties.Path}`);
  t.same(
    publicRoutes.sort(),
    ['GET /', 'GET /assets/{proxy+}', 'GET /config.json', 'GET /docs', 'GET /docs/{proxy+}', 'GET /health', 'GET /openapi.json'],
    'DESIGN.md: health, openapi.json, docs, the web page (with its assets and sign-in config)',
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

t.test("the HTTP API's CORS is the app's own policy for the configured origins, with no credentials", async (t) => {
  const api = resources.HttpApi!.Properties as any;
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
  t.same(allowedOriginsOf(loadConfig(env)), cors.AllowOrigins, 'the app allows the same origins (its answers when API Gateway passes them on)');
  t.same(evaluate(api.CorsConfiguration, context()), NO_VALUE, 'no AllowedOrigins: no CORS configuration (same origin only)');
  t.same(allowedOriginsOf(loadConfig((evaluate(template.Globals!.Function!.Environment as Json, context()) as any).Variables)), []);
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
      t.notOk(credentials === true && origins.includes('"*"'), `${path}: credentials ${credentials} with ${origins}`);
    }
    for (const [key, value] of Object.entries(record)) visit(value, `${path}.${key}`);
  };
  // As written (every branch of every condition), and as deployed with and without AllowedOrigins.
  for (const [name, tpl] of [['template.yaml', template], ['edge-signer.yaml', edgeTemplate]] as const) visit(tpl.Resources, name);
  for (const origins of ['', 'https://videos.example.com']) visit(evaluate(template.Resources as unknown as Json, context({ AllowedOrigins: origins })), 'deployed');
  t.ok(found.length >= 2, `CORS settings checked: ${[...new Set(found)].join(', ')}`);
});

t.test('API Gateway throttles every route by the template\'s parameters', async (t) => {
  const api = resources.HttpApi!.Properties as any;
  t.same(evaluate(api.DefaultRouteSettings, context()), { ThrottlingBurstLimit: '200', ThrottlingRateLimit: '100' }, 'defaults: 100 req/s, bursts of 200');
  t.same(
    evaluate(api.DefaultRouteSettings, context({ ApiThrottlingRateLimit: '20', ApiThrottlingBurstLimit: '40' })),
    { ThrottlingBurstLimit: '40', ThrottlingRateLimit: '20' },
  );
  const env = (evaluate(template.Globals!.Function!.Environment as Json, context()) as any).Variables;
  t.equal(loadConfig(env).RATE_LIMIT_MAX, 0, "the app's per-process limit is off: API Gateway throttles");
  for (const name of ['ApiThrottlingRateLimit', 'ApiThrottlingBurstLimit']) {
    t.equal(template.Parameters![name]!.Type, 'Number', `${name} is a number`);
  }
});

t.test('the page signs in through the pool\'s hosted UI once WebAppUrl is known', async (t) => {
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
  t.equal((evaluate(template.Outputs!.PageUrl!.Value, context()) as string), pageUrl, 'the PageUrl output is the value to pass');
  t.notOk(condition('EnableHostedUi', context({ WebAppUrl: pageUrl, JwtIssuer: 'https://issuer.example.com' })), 'not with an issuer of your own');
});

t.test('CloudFront: OAC origin, the key group on every behavior, playlists uncached through the edge signer', async (t) => {
  const config = evaluate(resources.Distribution!.Properties, context({}, { 'AWS::Region': 'us-east-1' })) as any;
  const { DistributionConfig: distribution } = config;
  t.match(distribution.Origins, [{ Id: 'media', DomainName: 'vod-prod-111122223333-us-east-1.s3.us-east-1.amazonaws.com', S3OriginConfig: { OriginAccessIdentity: '' }, OriginAccessControlId: 'OriginAccessControl.Id' }]);
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
  const forwarded = (resources.PlaylistOriginRequestPolicy!.Properties as any).OriginRequestPolicyConfig.QueryStringsConfig;
  t.same(forwarded.QueryStrings.slice(0, 3), ['Policy', 'Signature', 'Key-Pair-Id'], 'the signer sees the viewer\'s signing query');
  t.equal(segments.PathPattern, 'video-streams/*');
  const segmentKey = (resources.SegmentsCachePolicy!.Properties as any).CachePolicyConfig.ParametersInCacheKeyAndForwardedToOrigin;
  t.same(segmentKey.QueryStringsConfig, { QueryStringBehavior: 'none' }, 'one cache entry per segment whoever signed');
  const cors = (resources.PlayerCorsPolicy!.Properties as any).ResponseHeadersPolicyConfig.CorsConfig;
  t.match(cors, { AccessControlAllowMethods: { Items: ['GET', 'HEAD'] }, AccessControlAllowCredentials: false });

  // The public key parameter becomes a PEM CloudFront accepts, the same key npm run keys made.
  const encoded = (evaluate(resources.CloudFrontPublicKeyResource!.Properties, context()) as any).PublicKeyConfig.EncodedKey;
  t.equal(createPublicKey(encoded).export({ type: 'spki', format: 'pem' }), publicKey);
  t.ok(encoded.split('\n').every((line: string) => line.length <= 64), 'PEM lines of at most 64 characters');
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
  const trust = (edgeTemplate.Resources.ManifestSignerRole!.Properties as any).AssumeRolePolicyDocument.Statement[0];
  t.same([...trust.Principal.Service].sort(), ['edgelambda.amazonaws.com', 'lambda.amazonaws.com']);
  t.equal(trust.Action, 'sts:AssumeRole');

  // Nested here only in us-east-1; elsewhere the association takes the ARN deployed there.
  t.equal(resources.EdgeSigner!.Condition, 'CreateEdgeSigner');
  t.equal(resources.EdgeSigner!.Properties.Location, 'deploy/aws/edge-signer.yaml');
  t.ok(condition('CreateEdgeSigner', context({}, { 'AWS::Region': 'us-east-1' })));
  t.notOk(condition('CreateEdgeSigner', context({}, { 'AWS::Region': 'eu-west-1' })), 'never created outside us-east-1');
  const elsewhere = 'arn:aws:lambda:us-east-1:111122223333:function:vod-prod-manifest-signer:3';
  const association = (region: string, parameters: Record<string, string>) =>
    (evaluate(resources.Distribution!.Properties, context(parameters, { 'AWS::Region': region })) as any).DistributionConfig.CacheBehaviors[0].LambdaFunctionAssociations;
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
