/**
 * The Transcoder backed by AWS Elemental MediaConvert: one CreateJob per upload, producing one HLS
 * output group with a rendition per rung of the ladder. Progress and the outcome arrive later as
 * "MediaConvert Job State Change" events; `userMetadata.videoId` ties them back to the video.
 *
 * Output layout (one directory, which is what MediaConvert documents for HLS groups:
 * https://docs.aws.amazon.com/mediaconvert/latest/ug/output-file-names-and-paths.html):
 *   video-streams/{videoId}/master.m3u8             multivariant playlist (Destination base name)
 *   video-streams/{videoId}/master_1080p.m3u8       one variant playlist per rung (NameModifier)
 *   video-streams/{videoId}/master_1080p_00001.ts   that rung's segments
 * A NameModifier is appended to the file name, so it cannot put a rendition in a folder of its own.
 */
import {
  CreateJobCommand,
  type CreateJobCommandInput,
  type JobSettings,
  type MediaConvertClient,
  type Output,
} from '@aws-sdk/client-mediaconvert';
import { AUDIO_BITRATE, LADDER, SEGMENT_SECONDS, type LadderRung } from '../ladder.ts';
import type { TranscodeJobRequest, TranscodeJobSubmission, Transcoder } from './transcoder.ts';

export interface MediaConvertTranscoderOptions {
  client: MediaConvertClient;
  /** IAM role MediaConvert assumes to read the upload and write the outputs. */
  roleArn: string;
  bucket: string;
  /** Omit to use the account's Default queue. */
  queueArn?: string;
}

export interface JobSettingsInput {
  bucket: string;
  /** Key of the original upload, `uploads/{videoId}/source`. */
  sourceKey: string;
  /** Prefix every output goes under, `video-streams/{videoId}/` (trailing slash included). */
  outputPrefix: string;
  /** Rungs to encode, highest first; the whole ladder unless a caller narrows it. */
  rungs?: readonly LadderRung[];
}

/** Base name of the multivariant playlist: MediaConvert appends `.m3u8`. */
export const MASTER_BASENAME = 'master';

/** The input's only audio selector; outputs refer to it by this name. */
const AUDIO_SELECTOR = 'Audio Selector 1';

/**
 * QVBR quality 1-10: the user guide recommends 7 for 720p/1080p watched on a PC or tablet
 * (https://docs.aws.amazon.com/mediaconvert/latest/ug/cbr-vbr-qvbr.html).
 */
const QVBR_QUALITY_LEVEL = 7;

/** Suffix MediaConvert appends to the base name for a rung's playlist and segments. */
export function nameModifierFor(rung: Pick<LadderRung, 'name'>): string {
  return `_${rung.name}`;
}

function renditionOutput(rung: LadderRung): Output {
  return {
    NameModifier: nameModifierFor(rung),
    ContainerSettings: { Container: 'M3U8', M3u8Settings: {} },
    OutputSettings: { HlsSettings: {} },
    VideoDescription: {
      // Height only: MediaConvert scales the width to keep the source's aspect ratio.
      Height: rung.shortSide,
      ScalingBehavior: 'DEFAULT',
      CodecSettings: {
        Codec: 'H_264',
        H264Settings: {
          RateControlMode: 'QVBR',
          QvbrSettings: { QvbrQualityLevel: QVBR_QUALITY_LEVEL },
          MaxBitrate: rung.videoBitrate,
          // The same guide: single-pass HQ unless a max average bitrate needs multi-pass.
          QualityTuningLevel: 'SINGLE_PASS_HQ',
          // A keyframe exactly every segment and none at scene cuts, so every rendition cuts
          // its segments at the same instants and players can switch between them.
          GopSize: SEGMENT_SECONDS,
          GopSizeUnits: 'SECONDS',
          SceneChangeDetect: 'DISABLED',
        },
      },
    },
    AudioDescriptions: [
      {
        AudioSourceName: AUDIO_SELECTOR,
        CodecSettings: {
          Codec: 'AAC',
          AacSettings: {
            Bitrate: AUDIO_BITRATE,
            CodingMode: 'CODING_MODE_2_0',
            SampleRate: 48_000,
          },
        },
      },
    ],
  };
}

/**
 * The job's Settings: pure, so it can be tested and extended without a client. One input, one
 * HLS output group, one output per rung.
 */
export function buildJobSettings(input: JobSettingsInput): JobSettings {
  const rungs = input.rungs ?? LADDER;
  return {
    TimecodeConfig: { Source: 'ZEROBASED' },
    Inputs: [
      {
        FileInput: `s3://${input.bucket}/${input.sourceKey}`,
        TimecodeSource: 'ZEROBASED',
        AudioSelectors: { [AUDIO_SELECTOR]: { DefaultSelection: 'DEFAULT' } },
        // Phone video is stored sideways with a rotation flag; AUTO applies it, so outputs come
        // out upright (the service ignores the flag by default).
        VideoSelector: { Rotate: 'AUTO' },
      },
    ],
    OutputGroups: [
      {
        Name: 'HLS',
        OutputGroupSettings: {
          Type: 'HLS_GROUP_SETTINGS',
          HlsGroupSettings: {
            Destination: `s3://${input.bucket}/${input.outputPrefix}${MASTER_BASENAME}`,
            SegmentLength: SEGMENT_SECONDS,
            MinSegmentLength: 0,
            SegmentControl: 'SEGMENTED_FILES',
            ManifestDurationFormat: 'FLOATING_POINT',
            CodecSpecification: 'RFC_4281',
            OutputSelection: 'MANIFESTS_AND_SEGMENTS',
            DirectoryStructure: 'SINGLE_DIRECTORY',
          },
        },
        Outputs: rungs.map(renditionOutput),
      },
    ],
  };
}

export function createMediaConvertTranscoder(options: MediaConvertTranscoderOptions): Transcoder {
  const { client, roleArn, bucket, queueArn } = options;
  return {
    async submit(request: TranscodeJobRequest): Promise<TranscodeJobSubmission> {
      const input: CreateJobCommandInput = {
        Role: roleArn,
        ...(queueArn ? { Queue: queueArn } : {}),
        // Same token, same job: a retried S3 notification does not start a second encode.
        ClientRequestToken: request.clientRequestToken,
        UserMetadata: { videoId: request.videoId },
        Settings: buildJobSettings({
          bucket,
          sourceKey: request.sourceKey,
          outputPrefix: request.outputPrefix,
        }),
      };
      const response = await client.send(new CreateJobCommand(input));
      const jobId = response.Job?.Id;
      if (!jobId) {
        throw new Error(`MediaConvert CreateJob returned no job id for video ${request.videoId}`);
      }
      return { jobId };
    },
  };
}
