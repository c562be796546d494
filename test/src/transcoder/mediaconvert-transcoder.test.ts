import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { MediaConvertClient } from '@aws-sdk/client-mediaconvert';
import { LADDER, SEGMENT_SECONDS, AUDIO_BITRATE } from '../../../src/ladder.ts';
import {
  buildJobSettings,
  createMediaConvertTranscoder,
} from '../../../src/transcoder/mediaconvert-transcoder.ts';

const VIDEO_ID = '01J9Z8Q4V6X7Y8Z9A0B1C2D3E4';
const JOB_ID = '1671477617078-2886ye';
const ROLE_ARN = 'arn:aws:iam::111122223333:role/MediaConvertRole';
const QUEUE_ARN = 'arn:aws:mediaconvert:us-east-1:111122223333:queues/Default';

interface CapturedRequest {
  method: string | undefined;
  url: string | undefined;
  headers: IncomingHttpHeaders;
  body: any;
}

/**
 * A stand-in for the MediaConvert REST endpoint: records what the real SDK puts on the wire and
 * answers CreateJob the way the service does (201, lowerCamelCase JSON, the job under `job`).
 */
async function startFakeMediaConvert(t: Test, respond?: (body: any) => unknown) {
  const requests: CapturedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      const answer = respond?.(body) ?? {
        job: {
          id: JOB_ID,
          arn: `arn:aws:mediaconvert:us-east-1:111122223333:jobs/${JOB_ID}`,
          createdAt: 1671477617,
          role: body.role,
          queue: body.queue ?? QUEUE_ARN,
          status: 'SUBMITTED',
          userMetadata: body.userMetadata,
          settings: body.settings,
        },
      };
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const client = new MediaConvertClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'fake-secret' },
  });
  t.teardown(() => client.destroy());
  return { client, requests };
}

const request = {
  videoId: VIDEO_ID,
  sourceKey: `uploads/${VIDEO_ID}/source`,
  outputPrefix: `video-streams/${VIDEO_ID}/`,
  clientRequestToken: `transcode-${VIDEO_ID}-0055AED6DCD90281E5`,
};

t.test('submit sends one signed CreateJob and returns the job id MediaConvert assigned', async (t) => {
  const { client, requests } = await startFakeMediaConvert(t);
  const transcoder = createMediaConvertTranscoder({
    client,
    roleArn: ROLE_ARN,
    bucket: 'vod-bucket',
    queueArn: QUEUE_ARN,
  });

  const submission = await transcoder.submit(request);

  t.same(submission, { jobId: JOB_ID });
  t.equal(requests.length, 1);
  const [sent] = requests;
  t.equal(sent?.method, 'POST');
  t.equal(sent?.url, '/2017-08-29/jobs');
  t.match(sent?.headers.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/mediaconvert\/aws4_request/);
  t.equal(sent?.body.role, ROLE_ARN);
  t.equal(sent?.body.queue, QUEUE_ARN);
  t.equal(sent?.body.clientRequestToken, request.clientRequestToken);
  t.same(sent?.body.userMetadata, { videoId: VIDEO_ID });
});

t.test('submit leaves the queue out when none is configured, so the Default queue is used', async (t) => {
  const { client, requests } = await startFakeMediaConvert(t);
  const transcoder = createMediaConvertTranscoder({ client, roleArn: ROLE_ARN, bucket: 'vod-bucket' });

  await transcoder.submit(request);

  t.notOk('queue' in (requests[0]?.body ?? {}));
});

t.test('the job reads the upload and writes an HLS group under the video prefix', async (t) => {
  const { client, requests } = await startFakeMediaConvert(t);
  await createMediaConvertTranscoder({ client, roleArn: ROLE_ARN, bucket: 'vod-bucket' }).submit(request);

  const settings = requests[0]?.body.settings;
  t.equal(settings.inputs.length, 1);
  const [input] = settings.inputs;
  t.equal(input.fileInput, `s3://vod-bucket/uploads/${VIDEO_ID}/source`);
  t.equal(input.videoSelector.rotate, 'AUTO', 'rotated phone video comes out upright');
  t.same(Object.values(input.audioSelectors), [{ defaultSelection: 'DEFAULT' }]);

  t.equal(settings.outputGroups.length, 1);
  const [group] = settings.outputGroups;
  t.equal(group.outputGroupSettings.type, 'HLS_GROUP_SETTINGS');
  t.match(group.outputGroupSettings.hlsGroupSettings, {
    destination: `s3://vod-bucket/video-streams/${VIDEO_ID}/master`,
    segmentLength: SEGMENT_SECONDS,
    minSegmentLength: 0,
    segmentControl: 'SEGMENTED_FILES',
    codecSpecification: 'RFC_4281',
    outputSelection: 'MANIFESTS_AND_SEGMENTS',
    directoryStructure: 'SINGLE_DIRECTORY',
  });
});

t.test('the job has one output per ladder rung, named after the rung', async (t) => {
  const { client, requests } = await startFakeMediaConvert(t);
  await createMediaConvertTranscoder({ client, roleArn: ROLE_ARN, bucket: 'vod-bucket' }).submit(request);

  const outputs: any[] = requests[0]?.body.settings.outputGroups[0].outputs;
  t.same(
    outputs.map((output) => [output.nameModifier, output.videoDescription.height]),
    LADDER.map((rung) => [`_${rung.name}`, rung.shortSide]),
  );
  t.same(new Set(outputs.map((output) => output.nameModifier)).size, outputs.length, 'names are unique');
  for (const output of outputs) {
    t.notOk('width' in output.videoDescription, `${output.nameModifier}: width follows the aspect ratio`);
    t.equal(output.containerSettings.container, 'M3U8');
  }
});

t.test('every rendition is QVBR H.264 capped at its rung bitrate, with keyframes only on segment boundaries', async (t) => {
  const { client, requests } = await startFakeMediaConvert(t);
  await createMediaConvertTranscoder({ client, roleArn: ROLE_ARN, bucket: 'vod-bucket' }).submit(request);

  const outputs: any[] = requests[0]?.body.settings.outputGroups[0].outputs;
  t.same(
    outputs.map((output) => {
      const codec = output.videoDescription.codecSettings;
      return {
        codec: codec.codec,
        rateControlMode: codec.h264Settings.rateControlMode,
        maxBitrate: codec.h264Settings.maxBitrate,
        gopSize: codec.h264Settings.gopSize,
        gopSizeUnits: codec.h264Settings.gopSizeUnits,
        sceneChangeDetect: codec.h264Settings.sceneChangeDetect,
      };
    }),
    LADDER.map((rung) => ({
      codec: 'H_264',
      rateControlMode: 'QVBR',
      maxBitrate: rung.videoBitrate,
      gopSize: SEGMENT_SECONDS,
      gopSizeUnits: 'SECONDS',
      sceneChangeDetect: 'DISABLED',
    })),
  );
  for (const output of outputs) {
    const quality = output.videoDescription.codecSettings.h264Settings.qvbrSettings.qvbrQualityLevel;
    t.ok(quality >= 6 && quality <= 8, `${output.nameModifier}: QVBR quality ${quality} suits screens`);
  }
});

t.test('every rendition carries AAC audio from the input audio selector at the ladder audio bitrate', async (t) => {
  const { client, requests } = await startFakeMediaConvert(t);
  await createMediaConvertTranscoder({ client, roleArn: ROLE_ARN, bucket: 'vod-bucket' }).submit(request);

  const settings = requests[0]?.body.settings;
  const selectorNames = Object.keys(settings.inputs[0].audioSelectors);
  for (const output of settings.outputGroups[0].outputs) {
    t.equal(output.audioDescriptions.length, 1);
    const [audio] = output.audioDescriptions;
    t.ok(selectorNames.includes(audio.audioSourceName), 'refers to a selector the input defines');
    t.equal(audio.codecSettings.codec, 'AAC');
    t.equal(audio.codecSettings.aacSettings.bitrate, AUDIO_BITRATE);
  }
});

t.test('submit fails loudly when MediaConvert answers without a job id', async (t) => {
  const { client } = await startFakeMediaConvert(t, () => ({ job: { status: 'SUBMITTED' } }));
  const transcoder = createMediaConvertTranscoder({ client, roleArn: ROLE_ARN, bucket: 'vod-bucket' });

  await t.rejects(transcoder.submit(request), /no job id/);
});

t.test('buildJobSettings encodes only the rungs it is given', async (t) => {
  const settings = buildJobSettings({
    bucket: 'vod-bucket',
    sourceKey: request.sourceKey,
    outputPrefix: request.outputPrefix,
    rungs: LADDER.slice(-1),
  });
  t.same(
    settings.OutputGroups?.[0]?.Outputs?.map((output) => output.NameModifier),
    [`_${LADDER[LADDER.length - 1]!.name}`],
  );
});
