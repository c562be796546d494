/**
 * The Transcoder backed by AWS Elemental MediaConvert: one CreateJob per upload, carrying out the
 * plan the shared rules made (transcode-plan.ts), exactly what the local ffmpeg worker carries out:
 *
 * - one HLS output group with an output per planned rendition: H.264 at the plan's constant frame
 *   rate, square pixels at the display size, a keyframe every segment, HLG/PQ/Dolby Vision sources
 *   converted to BT.709 SDR by MediaConvert's colour corrector and its HDR-to-SDR tone mapper,
 *   interlaced streams deinterlaced;
 * - audio as the plan says: one track muxed into every video output; several tracks as alternate
 *   audio renditions of one group (EXT-X-MEDIA) with the plan's names and languages; or, without
 *   video, one audio-only variant. Always AAC-LC stereo, other layouts remixed with the plan's gains.
 * - a frame capture of the first frame as the poster.
 * Progress and the outcome arrive later as "MediaConvert Job State Change" events;
 * `userMetadata.videoId` ties them back to the video, and `userMetadata.bucket` lets the template's
 * EventBridge rule pick this stack's jobs out of the account's.
 *
 * Output layout (`DirectoryStructure: SUBDIRECTORY_PER_STREAM`, the HLS group's documented option
 * that "places segments in subdirectories"):
 *   video-streams/{videoId}/master.m3u8      multivariant playlist (the Destination's base name)
 *   video-streams/{videoId}/master_720p.m3u8 one variant playlist per rendition (NameModifier)
 *   video-streams/{videoId}/<one folder per rendition>/  that rendition's segments
 *   video-streams/{videoId}/poster.0000000.jpg  the first frame (POSTER_FILE, as locally)
 * The service names renditions from the master playlist's RESOLUTION, never from paths.
 *
 * MediaConvert reports outputs only in its COMPLETE event: a video is playable before then by
 * the fast-start function (events/fast-start.ts), in AWS as locally.
 */
import {
  CancelJobCommand,
  CreateJobCommand,
  GetJobCommand,
  ListJobsCommand,
  type AudioDescription,
  type Job,
  type CreateJobCommandInput,
  type JobSettings,
  type MediaConvertClient,
  type Output,
  type VideoPreprocessor,
} from '@aws-sdk/client-mediaconvert';
import { AUDIO_BITRATE, AUDIO_SAMPLE_RATE, POSTER_FILE, SEGMENT_SECONDS } from '../../domain/ladder.ts';
import type { AudioTrackPlan, RenditionPlan, TranscodePlan, VideoPlan } from '../../schemas/transcode.ts';
import type { SourceInspector } from './source-inspector.ts';
import type { TranscodeJobRequest, TranscodeJobSubmission, Transcoder } from '../../domain/ports/transcoder.ts';
import type { MediaConvertJobDetail } from '../../schemas/events.ts';
import { jobStatusOfDetail } from './mediaconvert-updates.ts';
import { MASTER_PLAYLIST } from '../../shared/stream-files.ts';
import { JobRefusedError } from '../../domain/errors.ts';

export interface MediaConvertTranscoderOptions {
  client: MediaConvertClient;
  /** IAM role MediaConvert assumes to read the upload and write the outputs. */
  roleArn: string;
  bucket: string;
  /** Omit to use the account's Default queue. */
  queueArn?: string;
  /** Reads what a stored source is (MediaConvert's Probe plus the MP4 header). */
  inspect: SourceInspector;
}

export interface JobSettingsInput {
  bucket: string;
  /** Key of the original upload, `uploads/{videoId}/source`. */
  sourceKey: string;
  /** Prefix every output goes under, `video-streams/{videoId}/` (trailing slash included). */
  outputPrefix: string;
  plan: TranscodePlan;
}

/** Base name of the multivariant playlist: MediaConvert appends `.m3u8`. */
export const MASTER_BASENAME = MASTER_PLAYLIST.replace(/\.m3u8$/, '');

/** The HLS group id of alternate audio renditions (the local worker's master uses the same). */
export const AUDIO_GROUP_ID = 'audio';

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

/** The input's audio selector for the plan's n-th track; outputs refer to it by this name. */
export const audioSelectorName = (position: number) => `Audio Selector ${position + 1}`;

/** Frame captures are named `<destination base>.<7-digit sequence>.jpg`: POSTER_FILE's base. */
export const POSTER_BASENAME = POSTER_FILE.replace(/\.\d{7}\.jpg$/, '');

/**
 * Colour conversion and deinterlacing, the same the local worker does with zscale/tonemap and
 * bwdif. The deinterlacer's NORMAL control converts the frames the stream flags interlaced.
 */
function preprocessors(video: VideoPlan): VideoPreprocessor | undefined {
  const processors: VideoPreprocessor = {
    ...(video.colour !== 'sdr' ? { ColorCorrector: { ColorSpaceConversion: 'FORCE_709', HdrToSdrToneMapper: 'PRESERVE_DETAILS' } } : {}),
    ...(video.deinterlace ? { Deinterlacer: { Algorithm: 'INTERPOLATE', Mode: 'DEINTERLACE', Control: 'NORMAL' } } : {}),
  };
  return Object.keys(processors).length > 0 ? processors : undefined;
}

/**
 * AAC-LC stereo 48 kHz from one planned track; other layouts remixed with the plan's gains (the
 * local worker's `pan` uses the same). `named`: an alternate rendition, with NAME and LANGUAGE.
 */
function audioDescription(track: AudioTrackPlan, position: number, named: boolean): AudioDescription {
  return {
    AudioSourceName: audioSelectorName(position),
    CodecSettings: {
      Codec: 'AAC',
      AacSettings: { Bitrate: AUDIO_BITRATE, CodingMode: 'CODING_MODE_2_0', SampleRate: AUDIO_SAMPLE_RATE, CodecProfile: 'LC' },
    },
    ...(track.downmix
      ? {
          RemixSettings: {
            ChannelsIn: track.channels,
            ChannelsOut: 2,
            ChannelMapping: { OutputChannels: track.downmix.map((gains) => ({ InputChannels: gains.map(Math.round) })) },
          },
        }
      : {}),
    ...(named
      ? {
          StreamName: track.name,
          ...(track.language ? { LanguageCodeControl: 'USE_CONFIGURED', CustomLanguageCode: track.language } : {}),
        }
      : {}),
  };
}

function videoOutput(plan: TranscodePlan, video: VideoPlan, rendition: RenditionPlan): Output {
  const processors = preprocessors(video);
  return {
    NameModifier: nameModifierFor(rendition),
    ContainerSettings: { Container: 'M3U8', M3u8Settings: {} },
    OutputSettings: { HlsSettings: plan.audioLayout === 'alternate' ? { AudioRenditionSets: AUDIO_GROUP_ID } : {} },
    VideoDescription: {
      // Both sides, so portrait sources get portrait renditions; the planned sizes already have
      // the display aspect ratio, so stretching only absorbs the rounding to even pixels.
      Width: rendition.width,
      Height: rendition.height,
      ScalingBehavior: 'STRETCH_TO_OUTPUT',
      ColorMetadata: 'INSERT',
      ...(processors ? { VideoPreprocessors: processors } : {}),
      CodecSettings: {
        Codec: 'H_264',
        H264Settings: {
          CodecProfile: 'HIGH',
          RateControlMode: 'QVBR',
          QvbrSettings: { QvbrQualityLevel: QVBR_QUALITY_LEVEL },
          MaxBitrate: rendition.videoBitrate,
          // Twice the bitrate, as the local encoder's buffer: the ladder's peak budget rests on it.
          HrdBufferSize: rendition.videoBitrate * 2,
          // The same guide: single-pass HQ unless a max average bitrate needs multi-pass.
          QualityTuningLevel: 'SINGLE_PASS_HQ',
          // A keyframe exactly every segment and none at scene cuts, so every rendition cuts
          // its segments at the same instants and players can switch between them.
          GopSize: SEGMENT_SECONDS,
          GopSizeUnits: 'SECONDS',
          SceneChangeDetect: 'DISABLED',
          // One constant frame rate for every rendition: a variable-rate source keeps its length.
          FramerateControl: 'SPECIFIED',
          FramerateNumerator: video.frameRate.numerator,
          FramerateDenominator: video.frameRate.denominator,
          FramerateConversionAlgorithm: 'DUPLICATE_DROP',
          InterlaceMode: 'PROGRESSIVE',
          // Output sizes are display sizes: square pixels, whatever the source's aspect ratio.
          ParControl: 'SPECIFIED',
          ParNumerator: 1,
          ParDenominator: 1,
        },
      },
    },
    ...(plan.audioLayout === 'muxed' ? { AudioDescriptions: [audioDescription(plan.audio[0]!, 0, false)] } : {}),
  };
}

function audioOutput(track: AudioTrackPlan, position: number, audioOnly: boolean): Output {
  return {
    NameModifier: nameModifierFor({ name: track.rendition }),
    ContainerSettings: { Container: 'M3U8', M3u8Settings: {} },
    OutputSettings: {
      HlsSettings: {
        // MPEG-TS, as the local worker writes audio-only segments.
        AudioOnlyContainer: 'M2TS',
        ...(audioOnly
          ? { AudioTrackType: 'AUDIO_ONLY_VARIANT_STREAM' }
          : { AudioGroupId: AUDIO_GROUP_ID, AudioTrackType: track.default ? 'ALTERNATE_AUDIO_AUTO_SELECT_DEFAULT' : 'ALTERNATE_AUDIO_AUTO_SELECT' }),
      },
    },
    AudioDescriptions: [audioDescription(track, position, !audioOnly)],
  };
}

/**
 * The poster: one JPEG of the first frame, at the smallest rendition's size (as the local worker
 * makes it). MaxCaptures 1 makes the capture rate irrelevant: only the first frame is written.
 */
function posterOutput(video: VideoPlan, rendition: RenditionPlan): Output {
  const processors = preprocessors(video);
  return {
    ContainerSettings: { Container: 'RAW' },
    VideoDescription: {
      Width: rendition.width,
      Height: rendition.height,
      ScalingBehavior: 'STRETCH_TO_OUTPUT',
      ...(processors ? { VideoPreprocessors: processors } : {}),
      CodecSettings: {
        Codec: 'FRAME_CAPTURE',
        FrameCaptureSettings: { FramerateNumerator: 1, FramerateDenominator: 1, MaxCaptures: 1, Quality: 80 },
      },
    },
  };
}

/** The job's Settings for a plan: pure, so it can be tested and checked against the API model. */
export function buildJobSettings(input: JobSettingsInput): JobSettings {
  const { plan } = input;
  const video = plan.video;
  const colourSpace = video?.colour === 'hlg' ? 'HLG_2020' : video?.colour === 'pq' ? 'HDR10' : undefined;
  const outputs: Output[] = video
    ? [
        ...video.renditions.map((rendition) => videoOutput(plan, video, rendition)),
        ...(plan.audioLayout === 'alternate' ? plan.audio.map((track, i) => audioOutput(track, i, false)) : []),
      ]
    : plan.audio.map((track, i) => audioOutput(track, i, true));
  return {
    TimecodeConfig: { Source: 'ZEROBASED' },
    Inputs: [
      {
        FileInput: `s3://${input.bucket}/${input.sourceKey}`,
        TimecodeSource: 'ZEROBASED',
        ...(plan.audio.length > 0
          ? {
              AudioSelectors: Object.fromEntries(
                plan.audio.map((track, i) => [audioSelectorName(i), { Tracks: [track.track], DefaultSelection: i === 0 ? 'DEFAULT' : 'NOT_DEFAULT' }]),
              ),
            }
          : {}),
        ...(video
          ? {
              // Phone video is stored sideways with a rotation flag; AUTO applies it, so outputs
              // come out upright. HDR input is read as the plan says when its metadata is silent.
              VideoSelector: { Rotate: 'AUTO', ...(colourSpace ? { ColorSpace: colourSpace, ColorSpaceUsage: 'FALLBACK' } : {}) },
            }
          : {}),
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
            // One folder per rendition: the storage layout both transcoders write (README: "Storage layout").
            DirectoryStructure: 'SUBDIRECTORY_PER_STREAM',
          },
        },
        Outputs: outputs,
      },
      ...(video
        ? [
            {
              Name: 'Poster',
              OutputGroupSettings: {
                Type: 'FILE_GROUP_SETTINGS' as const,
                FileGroupSettings: { Destination: `s3://${input.bucket}/${input.outputPrefix}${POSTER_BASENAME}` },
              },
              Outputs: [posterOutput(video, video.renditions.at(-1)!)],
            },
          ]
        : []),
    ],
  };
}

/** The whole CreateJob request for a planned job. */
export function buildCreateJobInput(
  options: Pick<MediaConvertTranscoderOptions, 'roleArn' | 'bucket' | 'queueArn'>,
  request: TranscodeJobRequest,
): CreateJobCommandInput {
  return {
    Role: options.roleArn,
    ...(options.queueArn ? { Queue: options.queueArn } : {}),
    // Same token, same job: a retried S3 notification does not start a second encode.
    ClientRequestToken: request.clientRequestToken,
    UserMetadata: { videoId: request.videoId, [USER_METADATA_BUCKET]: options.bucket },
    Settings: buildJobSettings({ bucket: options.bucket, sourceKey: request.sourceKey, outputPrefix: request.outputPrefix, plan: request.plan }),
  };
}

/** The HTTP status of an SDK error, if it came from the service. */
const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

/**
 * MediaConvert answers a request it will never accept with 400 BadRequest, 403 Forbidden, 404
 * NotFound or 409 Conflict; 429 and 5xx are worth retrying.
 */
const isRefusal = (status: number | undefined) => status === 400 || status === 403 || status === 404 || status === 409;

/**
 * A job from GetJob in the shape of its "MediaConvert Job State Change" event, so one adapter
 * (mediaconvert-updates.ts) reads both: GetJob's output group details carry no type and no playlist paths, so
 * both come from the job's own settings (output groups are reported in the order of the settings).
 */
export function jobDetailOfJob(job: Job): MediaConvertJobDetail {
  const groups = job.Settings?.OutputGroups ?? [];
  const [, , , , accountId = ''] = (job.Arn ?? '').split(':');
  return {
    timestamp: Date.now(),
    accountId,
    queue: job.Queue ?? '',
    jobId: job.Id ?? '',
    status: job.Status ?? 'SUBMITTED',
    userMetadata: job.UserMetadata ?? {},
    ...(job.JobPercentComplete === undefined ? {} : { jobProgress: { jobPercentComplete: job.JobPercentComplete } }),
    ...(job.OutputGroupDetails
      ? {
          outputGroupDetails: job.OutputGroupDetails.map((group, index) => {
            const settings = groups[index]?.OutputGroupSettings;
            const destination = settings?.HlsGroupSettings?.Destination;
            // Settings say HLS_GROUP_SETTINGS where the event says HLS_GROUP.
            const type = (settings?.Type ?? 'UNKNOWN').replace(/_SETTINGS$/, '');
            return {
              type,
              ...(type === 'HLS_GROUP' && destination ? { playlistFilePaths: [`${destination}.m3u8`] } : {}),
              outputDetails: (group.OutputDetails ?? []).map((output) => ({
                ...(output.DurationInMs === undefined ? {} : { durationInMs: output.DurationInMs }),
                ...(output.VideoDetails?.WidthInPx !== undefined && output.VideoDetails.HeightInPx !== undefined
                  ? { videoDetails: { widthInPx: output.VideoDetails.WidthInPx, heightInPx: output.VideoDetails.HeightInPx } }
                  : {}),
              })),
            };
          }),
        }
      : {}),
    ...(job.ErrorCode === undefined ? {} : { errorCode: job.ErrorCode }),
    ...(job.ErrorMessage === undefined ? {} : { errorMessage: job.ErrorMessage }),
  };
}

/** Where CreateJob puts a job that names no queue; ListJobs takes a queue's name or ARN. */
export const DEFAULT_QUEUE = 'Default';
/** ListJobs pages read when looking for a video's job (20 jobs a page, newest first). */
const FIND_JOB_PAGES = 10;
/** Jobs are matched from a little before the recorded intent: clocks and CreatedAt's rounding. */
const FIND_JOB_SLACK_MS = 60_000;

export function createMediaConvertTranscoder(options: MediaConvertTranscoderOptions): Transcoder {
  const { client } = options;
  return {
    inspect: options.inspect,
    async submit(request: TranscodeJobRequest): Promise<TranscodeJobSubmission> {
      let response;
      try {
        response = await client.send(new CreateJobCommand(buildCreateJobInput(options, request)));
      } catch (error) {
        if (isRefusal(statusOf(error))) {
          throw new JobRefusedError(`MediaConvert refused the job: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
        }
        throw error;
      }
      const jobId = response.Job?.Id;
      if (!jobId) {
        throw new Error(`MediaConvert CreateJob returned no job id for video ${request.videoId}`);
      }
      return { jobId };
    },

    async getJob(jobId) {
      try {
        const { Job: job } = await client.send(new GetJobCommand({ Id: jobId }));
        return job ? jobStatusOfDetail(jobDetailOfJob(job)) : undefined;
      } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw error;
      }
    },

    async findJob(videoId, since) {
      // ListJobs cannot filter on user metadata: newest first, until the jobs are older than the intent.
      // Always in the queue the jobs go to (the Default queue when none is configured): fewer jobs
      // to page through, and IAM authorises ListJobs on that queue (template.yaml names it).
      const queue = options.queueArn ?? DEFAULT_QUEUE;
      const oldest = since.getTime() - FIND_JOB_SLACK_MS;
      let nextToken: string | undefined;
      for (let page = 0; page < FIND_JOB_PAGES; page++) {
        const response = await client.send(
          new ListJobsCommand({ Order: 'DESCENDING', MaxResults: 20, Queue: queue, ...(nextToken ? { NextToken: nextToken } : {}) }),
        );
        for (const job of response.Jobs ?? []) {
          if (job.UserMetadata?.videoId === videoId && job.UserMetadata[USER_METADATA_BUCKET] === options.bucket && job.Id) return { jobId: job.Id };
          if (job.CreatedAt && job.CreatedAt.getTime() < oldest) return undefined;
        }
        nextToken = response.NextToken;
        if (!nextToken) return undefined;
      }
      return undefined;
    },

    async cancel(jobId) {
      try {
        await client.send(new CancelJobCommand({ Id: jobId }));
      } catch (error) {
        // Already finished (Conflict/BadRequest) or unknown (NotFound): nothing left to stop.
        if (isRefusal(statusOf(error)) && statusOf(error) !== 403) return;
        throw error;
      }
    },
  };
}
