/**
 * The MediaConvert adapter: the CreateJob it sends for a plan, on the wire through the real SDK,
 * and every CreateJob the planner can produce for a corpus of real generated sources, probed as
 * the app probes them (the Probe stand-in plus the MP4 header), checked against MediaConvert's
 * API model (botocore's service-2.json: every member, enum, minimum, maximum and pattern).
 */
import t, { type Test } from 'tap';
import { GetJobCommand, MediaConvertClient, type Output } from '@aws-sdk/client-mediaconvert';
import { AUDIO_BITRATE, POSTER_FILE, SEGMENT_SECONDS } from '../../../../src/domain/ladder.ts';
import type { SourceMedia, TranscodePlan } from '../../../../src/schemas/transcode.ts';
import {
  AUDIO_GROUP_ID,
  buildCreateJobInput,
  buildJobSettings,
  createMediaConvertTranscoder,
  jobDetailOfJob,
} from '../../../../src/adapters/mediaconvert/mediaconvert-transcoder.ts';
import { planTranscode } from '../../../../src/domain/transcode-plan.ts';
import { JobRefusedError, SourceRejectedError } from '../../../../src/domain/errors.ts';
import { MediaConvertJobDetail } from '../../../../src/schemas/events.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Value } from '@sinclair/typebox/value';
import { inspectFile } from '../../../helpers/plans.ts';
import { FAKE_JOB_ID as JOB_ID, startFakeMediaConvert as startFakeMediaConvertServer } from '../../../helpers/fake-mediaconvert.ts';
import { fromWire, loadServiceModel, validateOperationInput, validateOperationOutput } from '../../../helpers/aws-model.ts';
import { tempDir } from '../../../helpers/media.ts';
import { AUDIO_ONLY_KINDS, makeSource, type SourceKind } from '../../../helpers/real-world-media.ts';

const VIDEO_ID = '01J9Z8Q4V6X7Y8Z9A0B1C2D3E4';
const ROLE_ARN = 'arn:aws:iam::111122223333:role/MediaConvertRole';
const QUEUE_ARN = 'arn:aws:mediaconvert:us-east-1:111122223333:queues/Default';
const BUCKET = 'vod-bucket';
const model = loadServiceModel('mediaconvert');

/** The real SDK client, pointed at the stand-in that records what it sends. */
async function startFakeMediaConvert(t: Test) {
  const fake = await startFakeMediaConvertServer(t);
  const client = new MediaConvertClient({
    endpoint: fake.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'fake-secret' },
  });
  t.teardown(() => client.destroy());
  return { client, requests: fake.requests };
}

const baseVideo = {
  track: 1,
  codec: 'avc',
  codedWidth: 1920,
  codedHeight: 1080,
  rotation: 0 as const,
  frameRate: { numerator: 30000, denominator: 1001 },
  bitDepth: 8,
  chromaSubsampling: '4:2:0',
  profile: 'High',
  scanType: 'progressive',
};
const stereo = { track: 2, codec: 'aac', channels: 2, language: 'eng' };
const planOf = (media: Partial<SourceMedia>): TranscodePlan =>
  planTranscode({ container: 'mp4', durationSeconds: 10, audio: [stereo], video: baseVideo, ...media });
const request = (plan: TranscodePlan) => ({
  videoId: VIDEO_ID,
  sourceKey: `uploads/${VIDEO_ID}/source`,
  outputPrefix: `video-streams/${VIDEO_ID}/`,
  clientRequestToken: VIDEO_ID,
  plan,
});
const settingsOf = (plan: TranscodePlan) =>
  buildJobSettings({ bucket: BUCKET, sourceKey: `uploads/${VIDEO_ID}/source`, outputPrefix: `video-streams/${VIDEO_ID}/`, plan });
const hlsOutputs = (plan: TranscodePlan): Output[] => settingsOf(plan).OutputGroups![0]!.Outputs!;

t.test('submit sends one signed CreateJob and returns the job id MediaConvert assigned', async (t) => {
  const { client, requests } = await startFakeMediaConvert(t);
  const transcoder = createMediaConvertTranscoder({
    client,
    roleArn: ROLE_ARN,
    bucket: BUCKET,
    queueArn: QUEUE_ARN,
    inspect: async () => {
      throw new Error('not called');
    },
  });
  const result = await transcoder.submit(request(planOf({})));
  t.same(result, { jobId: JOB_ID });
  t.equal(requests.length, 1);
  const [sent] = requests;
  t.equal(sent?.method, 'POST');
  t.equal(sent?.url, '/2017-08-29/jobs');
  t.match(sent?.headers.authorization, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/mediaconvert\/aws4_request/);
  t.match(sent?.body, { role: ROLE_ARN, queue: QUEUE_ARN, clientRequestToken: VIDEO_ID, userMetadata: { videoId: VIDEO_ID, bucket: BUCKET } });
  t.equal(sent?.body.settings.inputs[0].fileInput, `s3://${BUCKET}/uploads/${VIDEO_ID}/source`);
  t.equal(sent?.body.settings.outputGroups[0].outputGroupSettings.hlsGroupSettings.destination, `s3://${BUCKET}/video-streams/${VIDEO_ID}/master`);
});

t.test('submit leaves the queue out when none is configured, so the Default queue is used', async (t) => {
  const input = buildCreateJobInput({ roleArn: ROLE_ARN, bucket: BUCKET }, request(planOf({})));
  t.notOk('Queue' in input);
});

t.test('findJob looks in the queue the jobs go to (the Default queue when none is configured), where IAM grants ListJobs', async (t) => {
  const since = new Date('2026-11-30T10:00:00Z');
  const jobs = [
    { id: 'other-video', createdAt: since.getTime() / 1000 + 30, userMetadata: { videoId: 'another', bucket: BUCKET } },
    { id: 'other-stack', createdAt: since.getTime() / 1000 + 20, userMetadata: { videoId: VIDEO_ID, bucket: 'another-bucket' } },
    { id: 'ours', createdAt: since.getTime() / 1000 + 10, userMetadata: { videoId: VIDEO_ID, bucket: BUCKET } },
  ];
  const fake = await startFakeMediaConvertServer(t, () => ({ jobs }));
  const client = new MediaConvertClient({ endpoint: fake.url, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  t.teardown(() => client.destroy());
  const inspect = async () => {
    throw new Error('not called');
  };
  const queryOf = (index: number) => new URL(fake.requests[index]!.url!, fake.url).searchParams;

  t.same(await createMediaConvertTranscoder({ client, roleArn: ROLE_ARN, bucket: BUCKET, inspect }).findJob(VIDEO_ID, since), { jobId: 'ours' });
  t.equal(fake.requests[0]?.method, 'GET');
  t.equal(queryOf(0).get('queue'), 'Default');
  t.equal(queryOf(0).get('order'), 'DESCENDING', 'newest first');
  await createMediaConvertTranscoder({ client, roleArn: ROLE_ARN, bucket: BUCKET, queueArn: QUEUE_ARN, inspect }).findJob(VIDEO_ID, since);
  t.equal(queryOf(1).get('queue'), QUEUE_ARN, 'the configured queue');
});

t.test('submit fails loudly when MediaConvert answers without a job id', async (t) => {
  const fake = await startFakeMediaConvertServer(t, () => ({ job: {} }));
  const client = new MediaConvertClient({ endpoint: fake.url, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  t.teardown(() => client.destroy());
  const transcoder = createMediaConvertTranscoder({
    client,
    roleArn: ROLE_ARN,
    bucket: BUCKET,
    inspect: async () => {
      throw new Error('not called');
    },
  });
  await t.rejects(transcoder.submit(request(planOf({}))), /returned no job id/);
});

t.test('every planned rendition is an output at its size: QVBR H.264 capped at its rung, one frame rate, square pixels', async (t) => {
  const outputs = hlsOutputs(planOf({}));
  t.same(
    outputs.map((o) => [o.NameModifier, o.VideoDescription?.Width, o.VideoDescription?.Height]),
    [
      ['_1080p', 1920, 1080],
      ['_720p', 1280, 720],
      ['_540p', 960, 540],
      ['_360p', 640, 360],
    ],
  );
  for (const output of outputs) {
    t.match(output.VideoDescription, { ScalingBehavior: 'STRETCH_TO_OUTPUT', ColorMetadata: 'INSERT' });
    const h264 = output.VideoDescription!.CodecSettings!.H264Settings!;
    t.match(h264, {
      RateControlMode: 'QVBR',
      GopSize: SEGMENT_SECONDS,
      GopSizeUnits: 'SECONDS',
      SceneChangeDetect: 'DISABLED',
      FramerateControl: 'SPECIFIED',
      FramerateNumerator: 30000,
      FramerateDenominator: 1001,
      FramerateConversionAlgorithm: 'DUPLICATE_DROP',
      ParControl: 'SPECIFIED',
      ParNumerator: 1,
      ParDenominator: 1,
      InterlaceMode: 'PROGRESSIVE',
    });
    t.equal(h264.HrdBufferSize, 2 * h264.MaxBitrate!, 'a buffer of twice the bitrate, as locally');
    t.notOk(output.VideoDescription?.VideoPreprocessors, 'an SDR progressive source needs no preprocessing');
    t.match(output.AudioDescriptions, [
      {
        AudioSourceName: 'Audio Selector 1',
        CodecSettings: { Codec: 'AAC', AacSettings: { Bitrate: AUDIO_BITRATE, CodingMode: 'CODING_MODE_2_0', SampleRate: 48_000 } },
      },
    ]);
  }
  const input = settingsOf(planOf({})).Inputs![0]!;
  t.same(input.AudioSelectors, { 'Audio Selector 1': { Tracks: [2], DefaultSelection: 'DEFAULT' } });
  t.same(input.VideoSelector, { Rotate: 'AUTO' });
});

t.test("the poster is one JPEG of the first frame at the smallest rendition's size, where the local worker puts it", async (t) => {
  const poster = settingsOf(planOf({})).OutputGroups![1]!;
  t.equal(poster.OutputGroupSettings?.FileGroupSettings?.Destination, `s3://${BUCKET}/video-streams/${VIDEO_ID}/${POSTER_FILE.replace(/\.\d{7}\.jpg$/, '')}`);
  t.match(poster.Outputs?.[0]?.VideoDescription, {
    Width: 640,
    Height: 360,
    CodecSettings: { Codec: 'FRAME_CAPTURE', FrameCaptureSettings: { MaxCaptures: 1 } },
  });
});

t.test('HDR is converted to BT.709 with the tone mapper; the input is read as HLG or HDR10 when its metadata is silent', async (t) => {
  for (const [transfer, space] of [
    ['ARIB_B67', 'HLG_2020'],
    ['SMPTE_2084', 'HDR10'],
  ] as const) {
    const plan = planOf({ video: { ...baseVideo, codec: 'hevc', bitDepth: 10, transfer } });
    t.match(settingsOf(plan).Inputs![0]!.VideoSelector, { ColorSpace: space, ColorSpaceUsage: 'FALLBACK', Rotate: 'AUTO' });
    for (const output of hlsOutputs(plan)) {
      t.same(output.VideoDescription?.VideoPreprocessors, { ColorCorrector: { ColorSpaceConversion: 'FORCE_709', HdrToSdrToneMapper: 'PRESERVE_DETAILS' } });
    }
    t.ok(settingsOf(plan).OutputGroups![1]!.Outputs![0]!.VideoDescription?.VideoPreprocessors?.ColorCorrector, 'the poster too');
  }
});

t.test('an interlaced stream goes through the deinterlacer for the frames it flags', async (t) => {
  const outputs = hlsOutputs(planOf({ video: { ...baseVideo, scanType: 'interlaced' } }));
  for (const output of outputs) {
    t.same(output.VideoDescription?.VideoPreprocessors, { Deinterlacer: { Algorithm: 'INTERPOLATE', Mode: 'DEINTERLACE', Control: 'NORMAL' } });
  }
});

t.test('anamorphic sources get square-pixel outputs at their display aspect', async (t) => {
  const outputs = hlsOutputs(planOf({ video: { ...baseVideo, codedWidth: 720, codedHeight: 480, pixelAspect: { numerator: 32, denominator: 27 } } }));
  t.same(
    outputs.map((o) => [o.VideoDescription?.Width, o.VideoDescription?.Height]),
    [
      [854, 480],
      [640, 360],
    ],
  );
});

t.test('5.1 is remixed to stereo with the planned gains', async (t) => {
  const [output] = hlsOutputs(planOf({ audio: [{ ...stereo, channels: 6 }] }));
  t.same(output?.AudioDescriptions?.[0]?.RemixSettings, {
    ChannelsIn: 6,
    ChannelsOut: 2,
    ChannelMapping: { OutputChannels: [{ InputChannels: [0, -60, -3, -60, -3, -60] }, { InputChannels: [-60, 0, -3, -60, -60, -3] }] },
  });
});

t.test('several audio tracks become alternate renditions of one group, named and tagged, beside video-only outputs', async (t) => {
  const plan = planOf({ audio: [stereo, { track: 3, codec: 'aac', channels: 2, language: 'fra', name: 'Commentaire' }] });
  const settings = settingsOf(plan);
  t.same(settings.Inputs![0]!.AudioSelectors, {
    'Audio Selector 1': { Tracks: [2], DefaultSelection: 'DEFAULT' },
    'Audio Selector 2': { Tracks: [3], DefaultSelection: 'NOT_DEFAULT' },
  });
  const outputs = hlsOutputs(plan);
  const video = outputs.filter((o) => o.VideoDescription);
  const audio = outputs.filter((o) => !o.VideoDescription);
  t.equal(video.length, 4);
  for (const output of video) {
    t.notOk(output.AudioDescriptions, 'video-only');
    t.same(output.OutputSettings?.HlsSettings, { AudioRenditionSets: AUDIO_GROUP_ID });
  }
  t.match(audio, [
    {
      NameModifier: '_audio-1',
      OutputSettings: { HlsSettings: { AudioGroupId: AUDIO_GROUP_ID, AudioTrackType: 'ALTERNATE_AUDIO_AUTO_SELECT_DEFAULT', AudioOnlyContainer: 'M2TS' } },
      AudioDescriptions: [{ AudioSourceName: 'Audio Selector 1', StreamName: 'English', LanguageCodeControl: 'USE_CONFIGURED', CustomLanguageCode: 'en' }],
    },
    {
      NameModifier: '_audio-2',
      OutputSettings: { HlsSettings: { AudioGroupId: AUDIO_GROUP_ID, AudioTrackType: 'ALTERNATE_AUDIO_AUTO_SELECT' } },
      AudioDescriptions: [{ AudioSourceName: 'Audio Selector 2', StreamName: 'Commentaire', CustomLanguageCode: 'fr' }],
    },
  ]);
});

t.test('an audio-only source is one audio-only variant: no video selector, no poster', async (t) => {
  const plan = planTranscode({ durationSeconds: 60, audio: [{ track: 1, codec: 'mp3', channels: 2 }] });
  const settings = settingsOf(plan);
  t.notOk(settings.Inputs![0]!.VideoSelector);
  t.equal(settings.OutputGroups!.length, 1, 'no frame capture');
  t.match(settings.OutputGroups![0]!.Outputs, [
    {
      NameModifier: '_audio-1',
      OutputSettings: { HlsSettings: { AudioTrackType: 'AUDIO_ONLY_VARIANT_STREAM', AudioOnlyContainer: 'M2TS' } },
      AudioDescriptions: [{ AudioSourceName: 'Audio Selector 1' }],
    },
  ]);
  t.notOk(settings.OutputGroups![0]!.Outputs![0]!.AudioDescriptions![0]!.StreamName, 'a variant, not a named alternate');
});

t.test('every CreateJob the planner makes for a corpus of real sources is valid against the MediaConvert API model', async (t) => {
  const dir = await tempDir(t);
  const corpus: SourceKind[] = [
    'sdr-reference',
    'hlg',
    'pq',
    'dolby-vision-8.4',
    'uhd-4k',
    'uhd-8k',
    'tiny-16',
    'portrait',
    'silent',
    'anamorphic-dvd',
    'hdv',
    'interlaced',
    'surround-5.1',
    'two-languages',
    'pal-576p',
    ...AUDIO_ONLY_KINDS,
    'camera-bitrate',
  ];
  const checked: string[] = [];
  for (const kind of corpus) {
    const source = await makeSource(kind, dir);
    const media = await inspectFile(source.file);
    let plan: TranscodePlan;
    try {
      plan = planTranscode(media);
    } catch (error) {
      t.equal(kind, 'tiny-16', `${kind} is refused before any job`);
      t.type(error, SourceRejectedError);
      t.match((error as Error).message, /too small \(16x16 pixels\)/);
      continue;
    }
    const input = buildCreateJobInput({ roleArn: ROLE_ARN, bucket: BUCKET, queueArn: QUEUE_ARN }, request(plan));
    t.same(validateOperationInput(model, 'CreateJob', input), [], `${kind}: CreateJob is valid`);
    checked.push(kind);
  }
  t.equal(checked.length, corpus.length - 1, 'every other source gets a job');
});

t.test('the model check catches what MediaConvert would refuse', async (t) => {
  const input = buildCreateJobInput({ roleArn: ROLE_ARN, bucket: BUCKET }, request(planOf({})));
  const broken = JSON.parse(JSON.stringify(input));
  broken.Settings.OutputGroups[0].Outputs[0].VideoDescription.Width = 16;
  broken.Settings.OutputGroups[0].Outputs[0].VideoDescription.CodecSettings.H264Settings.FramerateControl = 'SOMETIMES';
  delete broken.Role;
  const problems = validateOperationInput(model, 'CreateJob', broken);
  t.match(problems.join('\n'), /Role: required/);
  t.match(problems.join('\n'), /Width: value 16 is below the minimum 32/);
  t.match(problems.join('\n'), /FramerateControl: "SOMETIMES" is not one of/);
});

/**
 * A MediaConvert endpoint that answers each request with the next scripted wire answer (status,
 * error type, REST-JSON body), for what the real SDK client makes of GetJob, CancelJob and refusals.
 */
async function scriptedMediaConvert(t: Test, answers: Array<{ status: number; type?: string; body: unknown }>) {
  const requests: Array<{ method?: string; url?: string }> = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url });
      const answer = answers.shift() ?? { status: 500, type: 'InternalServerErrorException', body: { message: 'no answer scripted' } };
      res.writeHead(answer.status, { 'content-type': 'application/json', ...(answer.type ? { 'x-amzn-errortype': answer.type } : {}) });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  // No retries: each scripted answer is seen once, as the transcoder receives it.
  const client = new MediaConvertClient({
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
  });
  t.teardown(() => client.destroy());
  return {
    client,
    requests,
    transcoder: createMediaConvertTranscoder({
      client,
      roleArn: ROLE_ARN,
      bucket: BUCKET,
      inspect: async () => {
        throw new Error('not called');
      },
    }),
  };
}

t.test('getJob gives a finished job as the update it ended with, read from GetJob as MediaConvert answers it', async (t) => {
  // The job as CreateJob sent it (captured on the wire), then as GetJob reports it finished.
  const { client, requests: created } = await startFakeMediaConvert(t);
  await createMediaConvertTranscoder({
    client,
    roleArn: ROLE_ARN,
    bucket: BUCKET,
    inspect: async () => {
      throw new Error('not called');
    },
  }).submit(request(planOf({})));
  const wireJob = {
    id: JOB_ID,
    arn: `arn:aws:mediaconvert:us-east-1:111122223333:jobs/${JOB_ID}`,
    createdAt: 1795950000,
    role: ROLE_ARN,
    queue: QUEUE_ARN,
    status: 'COMPLETE',
    jobPercentComplete: 100,
    userMetadata: { videoId: VIDEO_ID, bucket: BUCKET },
    settings: created[0]!.body.settings,
    outputGroupDetails: [{ outputDetails: [{ durationInMs: 10010, videoDetails: { widthInPx: 1920, heightInPx: 1080 } }, { durationInMs: 10010 }] }],
  };
  t.same(validateOperationOutput(model, 'GetJob', fromWire(model, 'GetJobResponse', { job: wireJob })), [], 'the scripted answer fits the API model');
  const {
    transcoder,
    client: scripted,
    requests,
  } = await scriptedMediaConvert(t, [
    { status: 200, body: { job: wireJob } },
    { status: 200, body: { job: wireJob } },
  ]);
  // The reconciler hears the job's end in the domain's words, read from the event-shaped detail.
  t.same(await transcoder.getJob(JOB_ID), { finished: true, update: { type: 'complete', videoId: VIDEO_ID, jobId: JOB_ID, durationSeconds: 10.01 } });
  t.equal(requests[0]?.url, `/2017-08-29/jobs/${JOB_ID}`);
  const { Job: job } = await scripted.send(new GetJobCommand({ Id: JOB_ID }));
  const detail = jobDetailOfJob(job!);
  t.match(detail, {
    jobId: JOB_ID,
    status: 'COMPLETE',
    accountId: '111122223333',
    userMetadata: { videoId: VIDEO_ID, bucket: BUCKET },
    outputGroupDetails: [
      {
        type: 'HLS_GROUP',
        playlistFilePaths: [`s3://${BUCKET}/video-streams/${VIDEO_ID}/master.m3u8`],
        outputDetails: [{ durationInMs: 10010, videoDetails: { widthInPx: 1920, heightInPx: 1080 } }, { durationInMs: 10010 }],
      },
    ],
  });
  t.ok(Value.Check(MediaConvertJobDetail, detail), 'a valid job-state-change detail, as the event handler validates events');
});

t.test('getJob: a job MediaConvert does not know is undefined; other errors are thrown', async (t) => {
  const { transcoder } = await scriptedMediaConvert(t, [
    { status: 404, type: 'NotFoundException', body: { message: 'Job not found' } },
    { status: 429, type: 'TooManyRequestsException', body: { message: 'Too many requests' } },
  ]);
  t.equal(await transcoder.getJob('gone'), undefined);
  await t.rejects(transcoder.getJob('busy'), { name: 'TooManyRequestsException' });
});

t.test('cancel stops a job, leaves a finished or unknown one, and reports what else goes wrong', async (t) => {
  const { transcoder, requests } = await scriptedMediaConvert(t, [
    { status: 202, body: {} },
    { status: 409, type: 'ConflictException', body: { message: 'The job is already complete' } },
    { status: 404, type: 'NotFoundException', body: { message: 'Job not found' } },
    { status: 403, type: 'ForbiddenException', body: { message: 'not authorized to perform mediaconvert:CancelJob' } },
  ]);
  await transcoder.cancel('running');
  t.same(requests[0], { method: 'DELETE', url: '/2017-08-29/jobs/running' }, 'CancelJob on the wire');
  t.same(validateOperationInput(model, 'CancelJob', { Id: 'running' }), []);
  await transcoder.cancel('finished');
  await transcoder.cancel('unknown');
  await t.rejects(transcoder.cancel('forbidden'), { name: 'ForbiddenException' }, 'a missing permission is never hidden');
});

t.test('a CreateJob MediaConvert refuses is final (JobRefusedError, with its reason); throttling is not', async (t) => {
  const { transcoder } = await scriptedMediaConvert(t, [
    { status: 400, type: 'BadRequestException', body: { message: '/outputGroups/0/outputs/0: Unsupported codec' } },
    { status: 403, type: 'ForbiddenException', body: { message: 'User is not authorized to perform: iam:PassRole' } },
    { status: 429, type: 'TooManyRequestsException', body: { message: 'Too many requests' } },
  ]);
  const refused = await transcoder.submit(request(planOf({}))).catch((error: unknown) => error);
  t.type(refused, JobRefusedError);
  t.match((refused as Error).message, 'MediaConvert refused the job: /outputGroups/0/outputs/0: Unsupported codec');
  t.type(await transcoder.submit(request(planOf({}))).catch((error: unknown) => error), JobRefusedError);
  const throttled = await transcoder.submit(request(planOf({}))).catch((error: unknown) => error);
  t.notOk(throttled instanceof JobRefusedError, 'a retry may succeed');
  t.match(throttled, { name: 'TooManyRequestsException' });
});
