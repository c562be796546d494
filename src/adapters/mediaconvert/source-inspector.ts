/**
 * Finds out what an uploaded source is, the same way in both runtimes: MediaConvert's Probe API
 * (it reads every container MediaConvert takes; locally the ffmpeg worker answers the same call
 * from ffprobe, in Probe's shape), plus the MP4/MOV header (iso-header.ts) for what Probe does not
 * report: rotation, pixel aspect, Dolby Vision, audio track titles. Both reads run at once.
 *
 * The result is a SourceMedia, the planner's input (transcode-plan.ts); no vendor shape leaves here.
 */
import { ProbeCommand, type MediaConvertClient, type ProbeResult, type Track, type VideoProperties } from '@aws-sdk/client-mediaconvert';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Ratio, SourceAudio, SourceMedia, SourceVideo } from '../../schemas/transcode.ts';
import { SourceRejectedError } from '../../domain/errors.ts';
import { createS3RangeReader, readIsoHeader, type IsoHeader, type IsoTrack } from './iso-header.ts';

/** Reads a stored source and says what it is. */
export type SourceInspector = (sourceKey: string) => Promise<SourceMedia>;

const ratio = (rate: { Numerator?: number; Denominator?: number } | undefined): Ratio | undefined =>
  rate?.Numerator && rate.Denominator && rate.Numerator > 0 && rate.Denominator > 0 ? { numerator: rate.Numerator, denominator: rate.Denominator } : undefined;

const positive = (value: number | undefined) => (value !== undefined && Number.isFinite(value) && value > 0 ? value : undefined);

function sourceVideo(track: Track, properties: VideoProperties, header: IsoTrack | undefined): SourceVideo {
  const codec = properties.CodecMetadata;
  const video: SourceVideo = {
    codec: (track.Codec ?? 'UNKNOWN').toLowerCase(),
    codedWidth: codec?.Width ?? properties.Width ?? 0,
    codedHeight: codec?.Height ?? properties.Height ?? 0,
    rotation: header?.rotation ?? 0,
  };
  if (track.Index) video.track = track.Index;
  const frameRate = ratio(codec?.CodedFrameRate) ?? ratio(properties.FrameRate);
  const averageFrameRate = ratio(properties.FrameRate);
  if (frameRate) video.frameRate = frameRate;
  if (averageFrameRate) video.averageFrameRate = averageFrameRate;
  const bitDepth = positive(codec?.BitDepth ?? properties.BitDepth);
  if (bitDepth) video.bitDepth = bitDepth;
  if (codec?.ChromaSubsampling) video.chromaSubsampling = codec.ChromaSubsampling;
  if (codec?.Profile) video.profile = codec.Profile;
  if (codec?.Level) video.level = codec.Level;
  if (codec?.ScanType) video.scanType = codec.ScanType.toLowerCase();
  const transfer = codec?.TransferCharacteristics ?? properties.TransferCharacteristics;
  if (transfer) video.transfer = transfer;
  const primaries = codec?.ColorPrimaries ?? properties.ColorPrimaries;
  if (primaries) video.primaries = primaries;
  if (positive(properties.BitRate)) video.bitRate = Math.round(properties.BitRate!);
  if (positive(track.Duration)) video.durationSeconds = track.Duration!;
  if (header?.pixelAspect) video.pixelAspect = header.pixelAspect;
  if (header?.dolbyVision) video.dolbyVision = header.dolbyVision;
  if (header?.segmentsAsPackaged) video.segmentsAsPackaged = header.segmentsAsPackaged;
  return video;
}

function sourceAudio(track: Track, header: IsoTrack | undefined): SourceAudio {
  const properties = track.AudioProperties ?? {};
  const audio: SourceAudio = {
    track: track.Index ?? 1,
    codec: (track.Codec ?? 'UNKNOWN').toLowerCase(),
    channels: properties.Channels ?? 0,
  };
  if (positive(properties.SampleRate)) audio.sampleRate = properties.SampleRate!;
  if (positive(properties.BitRate)) audio.bitRate = Math.round(properties.BitRate!);
  const language = properties.LanguageCode ?? header?.language;
  if (language && language.toLowerCase() !== 'und') audio.language = language.toLowerCase();
  if (header?.name) audio.name = header.name;
  return audio;
}

/** A Probe result (and the file's MP4 header, if it has one) as the planner's SourceMedia. */
export function sourceMediaOfProbe(result: ProbeResult, header?: IsoHeader): SourceMedia {
  const tracks = result.Container?.Tracks ?? [];
  const headerTrack = (track: Track) => header?.tracks.find((candidate) => candidate.position === track.Index);
  const videoTrack = tracks.find((track) => track.TrackType === 'video' && track.VideoProperties);
  const media: SourceMedia = {
    audio: tracks.filter((track) => track.TrackType === 'audio').map((track) => sourceAudio(track, headerTrack(track))),
  };
  if (videoTrack) media.video = sourceVideo(videoTrack, videoTrack.VideoProperties!, headerTrack(videoTrack));
  if (result.Container?.Format) media.container = result.Container.Format;
  if (result.Metadata?.MimeType) media.mimeType = result.Metadata.MimeType;
  if (result.Metadata?.FileSize !== undefined) media.sizeBytes = result.Metadata.FileSize;
  if (positive(result.Container?.Duration)) media.durationSeconds = result.Container!.Duration!;
  return media;
}

const statusOf = (error: unknown) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

export function createSourceInspector(deps: { mediaConvert: () => Promise<MediaConvertClient>; s3: () => Promise<S3Client>; bucket: string }): SourceInspector {
  return async (sourceKey) => {
    const probe = (async () => {
      const client = await deps.mediaConvert();
      try {
        const response = await client.send(new ProbeCommand({ InputFiles: [{ FileUrl: `s3://${deps.bucket}/${sourceKey}` }] }));
        const result = response.ProbeResults?.[0];
        if (!result) throw new Error(`MediaConvert Probe answered no result for ${sourceKey}`);
        return result;
      } catch (error) {
        if (statusOf(error) === 404) throw new SourceRejectedError('missing-file', 'The uploaded file was not found.');
        throw error;
      }
    })();
    const header = (async () => {
      try {
        return await readIsoHeader(createS3RangeReader({ s3: await deps.s3(), bucket: deps.bucket }, sourceKey));
      } catch (error) {
        // An empty object has no byte range to read, a missing one none at all; Probe says which.
        if (statusOf(error) === 416 || statusOf(error) === 404) return undefined;
        throw error;
      }
    })();
    const [result, iso] = await Promise.all([probe, header]);
    return sourceMediaOfProbe(result, iso);
  };
}
