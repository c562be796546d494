/**
 * The Transcoder backed by AWS Elemental MediaConvert: one CreateJob per upload, producing one HLS
 * output group with a rendition per rung of the ladder (src/ladder.ts, the plan the local ffmpeg
 * worker follows too). Progress and the outcome arrive later as "MediaConvert Job State Change"
 * events; `userMetadata.videoId` ties them back to the video, and `userMetadata.bucket` lets the
 * template's EventBridge rule pick this stack's jobs out of the account's.
 *
 * Before CreateJob the source's header is probed (./source-probe.ts) for its display size and
 * audio, so renditions are planned exactly as the local worker plans them: never above the source,
 * portrait stays portrait, no audio mapped from a silent file. When the probe cannot tell (not an
 * MP4/MOV), the fallback plan encodes every rung "fit without upscaling" (see fallbackOutput).
 *
 * Output layout (`DirectoryStructure: SUBDIRECTORY_PER_STREAM`, the HLS group's documented option
 * that "places segments in subdirectories"):
 *   video-streams/{videoId}/master.m3u8      multivariant playlist (the Destination's base name)
 *   video-streams/{videoId}/master_720p.m3u8 one variant playlist per rendition (NameModifier)
 *   video-streams/{videoId}/<one folder per rendition>/  that rendition's segments
 *   video-streams/{videoId}/poster.0000000.jpg  the first frame (a File group frame capture;
 *                                             POSTER_FILE, the name the local worker writes too)
 * The service names renditions from the master playlist's RESOLUTION, never from paths.
 *
 * Fast start (issue 6) is the local worker's: MediaConvert reports outputs only in its COMPLETE
 * event (its STATUS_UPDATE events carry progress, never outputGroupDetails), so in AWS a video
 * becomes `playable` when it becomes ready, with the whole ladder published at once. Publishing
 * earlier would take a second job (a passthrough HLS output for the top rung, or the smallest rung
 * alone) and its own COMPLETE event; not done here.
 */
import {
  CreateJobCommand,
  type CreateJobCommandInput,
  type JobSettings,
  type MediaConvertClient,
  type Output,
} from '@aws-sdk/client-mediaconvert';
import { AUDIO_BITRATE, LADDER, POSTER_FILE, SEGMENT_SECONDS, planRenditions, toEven, type LadderRung } from '../ladder.ts';
import type { TranscodeJobRequest, TranscodeJobSubmission, Transcoder } from './transcoder.ts';
import type { SourceProbe } from './source-probe.ts';

export interface MediaConvertTranscoderOptions {
  client: MediaConvertClient;
  /** IAM role MediaConvert assumes to read the upload and write the outputs. */
  roleArn: string;
  bucket: string;
  /** Omit to use the account's Default queue. */
  queueArn?: string;
  /**
   * Reads the source's display size and audio before CreateJob (createS3SourceProbe). Without
   * it, or when it cannot tell, the job follows the fallback plan.
   */
  probeSource?: SourceProbe;
}

export interface JobSettingsInput {
  bucket: string;
  /** Key of the original upload, `uploads/{videoId}/source`. */
  sourceKey: string;
  /** Prefix every output goes under, `video-streams/{videoId}/` (trailing slash included). */
  outputPrefix: string;
  /** The source as probed: display size (rotation applied) and audio. Undefined: unknown. */
  source?: { width: number; height: number; hasAudio: boolean };
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

/** userMetadata key holding the bucket name; the template's EventBridge rule matches on it. */
export const USER_METADATA_BUCKET = 'bucket';

/** Suffix MediaConvert appends to the base name for a rendition's playlist and segments. */
export function nameModifierFor(rendition: { name: string }): string {
  return `_${rendition.name}`;
}

interface OutputPlan {
  name: string;
  width: number;
  height: number;
  videoBitrate: number;
  /**
   * STRETCH_TO_OUTPUT for planned sizes: they already have the source's display aspect ratio, so
   * this only absorbs the rounding to even pixels (DEFAULT would pad a 1-pixel bar instead).
   * FIT_NO_UPSCALE for the fallback: shrink to fit the box, never enlarge, never pad.
   */
  scaling: 'STRETCH_TO_OUTPUT' | 'FIT_NO_UPSCALE';
}

function renditionOutput(plan: OutputPlan, withAudio: boolean): Output {
  return {
    NameModifier: nameModifierFor(plan),
    ContainerSettings: { Container: 'M3U8', M3u8Settings: {} },
    OutputSettings: { HlsSettings: {} },
    VideoDescription: {
      // Both sides, so portrait sources get portrait renditions (a height alone would be read as
      // the long side of a portrait frame).
      Width: plan.width,
      Height: plan.height,
      ScalingBehavior: plan.scaling,
      CodecSettings: {
        Codec: 'H_264',
        H264Settings: {
          RateControlMode: 'QVBR',
          QvbrSettings: { QvbrQualityLevel: QVBR_QUALITY_LEVEL },
          MaxBitrate: plan.videoBitrate,
          // The same guide: single-pass HQ unless a max average bitrate needs multi-pass.
          QualityTuningLevel: 'SINGLE_PASS_HQ',
          // A keyframe exactly every segment and none at scene cuts, so every rendition cuts
          // its segments at the same instants and players can switch between them (the local
          // worker does the same with -g/-keyint_min/-sc_threshold 0).
          GopSize: SEGMENT_SECONDS,
          GopSizeUnits: 'SECONDS',
          SceneChangeDetect: 'DISABLED',
          // Output sizes are display sizes: square pixels, whatever the source's aspect ratio.
          ParControl: 'SPECIFIED',
          ParNumerator: 1,
          ParDenominator: 1,
        },
      },
    },
    ...(withAudio
      ? {
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
        }
      : {}),
  };
}

/** The planned renditions of a probed source: exactly what the local worker encodes. */
function plannedOutputs(source: { width: number; height: number }): OutputPlan[] {
  return planRenditions(source).map((rendition) => ({
    name: rendition.name,
    width: rendition.width,
    height: rendition.height,
    videoBitrate: rendition.videoBitrate,
    scaling: 'STRETCH_TO_OUTPUT',
  }));
}

/**
 * Without a probe result the orientation is unknown, so each rung gets a square box as wide as
 * the rung's 16:9 long side: a 1920x1080 or a 1080x1920 source fits the 1920 box unchanged and
 * the 1280 box as 1280x720 or 720x1280. FIT_NO_UPSCALE never enlarges, so nothing exceeds the
 * source; the price is that a small source gets near-duplicate renditions.
 */
function fallbackOutput(rung: LadderRung): OutputPlan {
  const box = toEven((rung.shortSide * 16) / 9);
  return { name: rung.name, width: box, height: box, videoBitrate: rung.videoBitrate, scaling: 'FIT_NO_UPSCALE' };
}

/** Frame captures are named `<destination base>.<7-digit sequence>.jpg`: POSTER_FILE's base. */
export const POSTER_BASENAME = POSTER_FILE.replace(/\.\d{7}\.jpg$/, '');

/**
 * The poster: one JPEG of the first frame, at the smallest rendition's size (as the local worker
 * makes it). MaxCaptures 1 makes the capture rate irrelevant: only the first frame is written.
 */
function posterOutput(plan: OutputPlan): Output {
  return {
    ContainerSettings: { Container: 'RAW' },
    VideoDescription: {
      Width: plan.width,
      Height: plan.height,
      ScalingBehavior: plan.scaling,
      CodecSettings: {
        Codec: 'FRAME_CAPTURE',
        FrameCaptureSettings: { FramerateNumerator: 1, FramerateDenominator: 1, MaxCaptures: 1, Quality: 80 },
      },
    },
  };
}

/**
 * The job's Settings: pure, so it can be tested and extended without a client. One input, one
 * HLS output group, one output per planned rendition.
 */
export function buildJobSettings(input: JobSettingsInput): JobSettings {
  const plans = input.source ? plannedOutputs(input.source) : LADDER.map(fallbackOutput);
  // Unknown audio is assumed present: most uploads have a sound track.
  const withAudio = input.source?.hasAudio ?? true;
  return {
    TimecodeConfig: { Source: 'ZEROBASED' },
    Inputs: [
      {
        FileInput: `s3://${input.bucket}/${input.sourceKey}`,
        TimecodeSource: 'ZEROBASED',
        ...(withAudio ? { AudioSelectors: { [AUDIO_SELECTOR]: { DefaultSelection: 'DEFAULT' } } } : {}),
        // Phone video is stored sideways with a rotation flag; AUTO applies it, so outputs come
        // out upright (the service ignores the flag by default). The planned sizes are the
        // display sizes, i.e. after this rotation.
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
            // One folder per rendition, as DESIGN.md's storage layout asks.
            DirectoryStructure: 'SUBDIRECTORY_PER_STREAM',
          },
        },
        Outputs: plans.map((plan) => renditionOutput(plan, withAudio)),
      },
      {
        Name: 'Poster',
        OutputGroupSettings: {
          Type: 'FILE_GROUP_SETTINGS',
          FileGroupSettings: { Destination: `s3://${input.bucket}/${input.outputPrefix}${POSTER_BASENAME}` },
        },
        Outputs: [posterOutput(plans.at(-1)!)],
      },
    ],
  };
}

export function createMediaConvertTranscoder(options: MediaConvertTranscoderOptions): Transcoder {
  const { client, roleArn, bucket, queueArn, probeSource } = options;
  return {
    async submit(request: TranscodeJobRequest): Promise<TranscodeJobSubmission> {
      const source = probeSource ? await probeSource(request.sourceKey) : undefined;
      const input: CreateJobCommandInput = {
        Role: roleArn,
        ...(queueArn ? { Queue: queueArn } : {}),
        // Same token, same job: a retried S3 notification does not start a second encode.
        ClientRequestToken: request.clientRequestToken,
        UserMetadata: { videoId: request.videoId, [USER_METADATA_BUCKET]: bucket },
        Settings: buildJobSettings({
          bucket,
          sourceKey: request.sourceKey,
          outputPrefix: request.outputPrefix,
          ...(source ? { source } : {}),
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
