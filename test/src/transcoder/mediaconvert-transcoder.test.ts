import { open } from 'node:fs/promises';
import t, { type Test } from 'tap';
import { MediaConvertClient } from '@aws-sdk/client-mediaconvert';
import { LADDER, SEGMENT_SECONDS, AUDIO_BITRATE, POSTER_FILE } from '../../../src/ladder.ts';
import {
  buildJobSettings,
  createMediaConvertTranscoder,
} from '../../../src/transcoder/mediaconvert-transcoder.ts';
import { probeIsoMedia, type SourceProbe } from '../../../src/transcoder/source-probe.ts';
import { makeClip } from '../../helpers/media.ts';
import { FAKE_JOB_ID as JOB_ID, startFakeMediaConvert as startFakeMediaConvertServer } from '../../helpers/fake-mediaconvert.ts';

const VIDEO_ID = '01J9Z8Q4V6X7Y8Z9A0B1C2D3E4';
const ROLE_ARN = 'arn:aws:iam::111122223333:role/MediaConvertRole';
const QUEUE_ARN = 'arn:aws:mediaconvert:us-east-1:111122223333:queues/Default';

/** The real SDK client, pointed at the stand-in that records what it sends. */
async function startFakeMediaConvert(t: Test, respond?: (body: any) => unknown) {
  const fake = await startFakeMediaConvertServer(t, respond);
  const client = new MediaConvertClient({
    endpoint: fake.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'fake-secret' },
  });
  t.teardown(() => client.destroy());
  return { client, requests: fake.requests };
}

/** The real header probe, reading a local file by ranges as it reads S3 objects. */
function fileProbe(file: string): SourceProbe {
  return async () => {
    const handle = await open(file);
    try {
      const { size } = await handle.stat();
      return await probeIsoMedia(async (offset, length) => {
        const bytes = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
        await handle.read(bytes, 0, bytes.length, offset);
        return { bytes, objectSize: size };
      });
    } finally {
      await handle.close();
    }
  };
}

const summarize = (outputs: any[]) =>
  outputs.map((output) => ({
    nameModifier: output.nameModifier,
    width: output.videoDescription.width,
    height: output.videoDescription.height,
    scalingBehavior: output.videoDescription.scalingBehavior,
    maxBitrate: output.videoDescription.codecSettings.h264Settings.maxBitrate,
    audio: (output.audioDescriptions ?? []).length,
  }));

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
  t.same(sent?.body.userMetadata, { videoId: VIDEO_ID, bucket: 'vod-bucket' }, 'the bucket lets the stack\'s EventBridge rule pick its jobs');
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

  t.equal(settings.outputGroups.length, 2, 'the HLS ladder and the poster');
  const [group] = settings.outputGroups;
  t.equal(group.outputGroupSettings.type, 'HLS_GROUP_SETTINGS');
  t.match(group.outputGroupSettings.hlsGroupSettings, {
    destination: `s3://vod-bucket/video-streams/${VIDEO_ID}/master`,
    segmentLength: SEGMENT_SECONDS,
    minSegmentLength: 0,
    segmentControl: 'SEGMENTED_FILES',
    codecSpecification: 'RFC_4281',
    outputSelection: 'MANIFESTS_AND_SEGMENTS',
    directoryStructure: 'SUBDIRECTORY_PER_STREAM',
  });
});

t.test('a landscape source gets every rung up to its size, with both sides set', async (t) => {
  const clip = await makeClip({ seconds: 1, width: 1920, height: 1080, audio: true });
  const { client, requests } = await startFakeMediaConvert(t);
  await createMediaConvertTranscoder({ client, roleArn: ROLE_ARN, bucket: 'vod-bucket', probeSource: fileProbe(clip) }).submit(request);

  const [sent] = requests;
  t.equal(sent?.body.role, ROLE_ARN);
  t.equal(sent?.body.settings.outputGroups[0].outputGroupSettings.hlsGroupSettings.destination, `s3://vod-bucket/video-streams/${VIDEO_ID}/master`);
  t.same(summarize(sent?.body.settings.outputGroups[0].outputs), [
    { nameModifier: '_1080p', width: 1920, height: 1080, scalingBehavior: 'STRETCH_TO_OUTPUT', maxBitrate: 5_000_000, audio: 1 },
    { nameModifier: '_720p', width: 1280, height: 720, scalingBehavior: 'STRETCH_TO_OUTPUT', maxBitrate: 2_800_000, audio: 1 },
    { nameModifier: '_360p', width: 640, height: 360, scalingBehavior: 'STRETCH_TO_OUTPUT', maxBitrate: 800_000, audio: 1 },
  ]);
});

t.test('the poster is one JPEG of the first frame at the smallest rendition\'s size, where the local worker puts it', async (t) => {
  const clip = await makeClip({ seconds: 1, width: 1280, height: 720, audio: false, rotate: 90 });
  const { client, requests } = await startFakeMediaConvert(t);
  await createMediaConvertTranscoder({ client, roleArn: ROLE_ARN, bucket: 'vod-bucket', probeSource: fileProbe(clip) }).submit(request);

  const poster = requests[0]?.body.settings.outputGroups[1];
  t.match(poster.outputGroupSettings, {
    type: 'FILE_GROUP_SETTINGS',
    fileGroupSettings: { destination: `s3://vod-bucket/video-streams/${VIDEO_ID}/poster` },
  });
  t.equal(`poster.${'0'.repeat(7)}.jpg`, POSTER_FILE, 'MediaConvert numbers captures from 0000000');
  t.equal(poster.outputs.length, 1);
  t.match(poster.outputs[0], {
    containerSettings: { container: 'RAW' },
    videoDescription: { width: 360, height: 640, codecSettings: { codec: 'FRAME_CAPTURE', frameCaptureSettings: { maxCaptures: 1 } } },
  });
});

t.test('a portrait phone clip (landscape pixels, rotation flag) gets portrait renditions', async (t) => {
  const clip = await makeClip({ seconds: 1, width: 1280, height: 720, audio: true, rotate: 90 });
  const { client, requests } = await startFakeMediaConvert(t);
  await createMediaConvertTranscoder({ client, roleArn: ROLE_ARN, bucket: 'vod-bucket', probeSource: fileProbe(clip) }).submit(request);

  const settings = requests[0]?.body.settings;
  t.equal(settings.inputs[0].videoSelector.rotate, 'AUTO', 'MediaConvert applies the flag, so display sizes are right');
  t.same(
    summarize(settings.outputGroups[0].outputs).map(({ nameModifier, width, height }) => ({ nameModifier, width, height })),
    [
      { nameModifier: '_720p', width: 720, height: 1280 },
      { nameModifier: '_360p', width: 360, height: 640 },
    ],
    'never above the 720-pixel short side; tall, not wide',
  );
});

t.test('a source smaller than the lowest rung gets one rendition at its own size, and no audio when it has none', async (t) => {
  const clip = await makeClip({ seconds: 1, width: 320, height: 240, audio: false });
  const { client, requests } = await startFakeMediaConvert(t);
  await createMediaConvertTranscoder({ client, roleArn: ROLE_ARN, bucket: 'vod-bucket', probeSource: fileProbe(clip) }).submit(request);

  const settings = requests[0]?.body.settings;
  t.same(summarize(settings.outputGroups[0].outputs), [
    { nameModifier: '_240p', width: 320, height: 240, scalingBehavior: 'STRETCH_TO_OUTPUT', maxBitrate: 267_000, audio: 0 },
  ]);
  t.notOk('audioSelectors' in settings.inputs[0], 'no audio selector: a silent input must not be asked for audio');
});

t.test('without a probe answer every rung is a square box, fit without upscaling', async (t) => {
  const { client, requests } = await startFakeMediaConvert(t);
  const unknown: SourceProbe = async () => undefined;
  await createMediaConvertTranscoder({ client, roleArn: ROLE_ARN, bucket: 'vod-bucket', probeSource: unknown }).submit(request);

  const outputs: any[] = requests[0]?.body.settings.outputGroups[0].outputs;
  t.same(
    summarize(outputs),
    LADDER.map((rung) => {
      const box = Math.round((rung.shortSide * 16) / 9 / 2) * 2;
      return { nameModifier: `_${rung.name}`, width: box, height: box, scalingBehavior: 'FIT_NO_UPSCALE', maxBitrate: rung.videoBitrate, audio: 1 };
    }),
  );
  t.same(new Set(outputs.map((output) => output.nameModifier)).size, outputs.length, 'names are unique');
});

t.test('a failed probe read fails the submission before any job is created, so Lambda retries', async (t) => {
  const { client, requests } = await startFakeMediaConvert(t);
  const throttled: SourceProbe = async () => {
    throw new Error('SlowDown');
  };
  await t.rejects(
    createMediaConvertTranscoder({ client, roleArn: ROLE_ARN, bucket: 'vod-bucket', probeSource: throttled }).submit(request),
    /SlowDown/,
  );
  t.equal(requests.length, 0);
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

t.test('buildJobSettings plans from the display size it is given', async (t) => {
  const settings = buildJobSettings({
    bucket: 'vod-bucket',
    sourceKey: request.sourceKey,
    outputPrefix: request.outputPrefix,
    source: { width: 1080, height: 1350, hasAudio: true },
  });
  t.same(
    settings.OutputGroups?.[0]?.Outputs?.map((output) => [output.NameModifier, output.VideoDescription?.Width, output.VideoDescription?.Height]),
    [
      ['_1080p', 1080, 1350],
      ['_720p', 720, 900],
      ['_360p', 360, 450],
    ],
  );
});
