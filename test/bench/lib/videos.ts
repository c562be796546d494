/**
 * Ready videos as the catalog stores them (src/adapters/dynamodb/video-catalog.ts VideoRecord), for the servers that
 * answer DynamoDB without DynamoDB: a full default page of the list route, with the renditions
 * and duration a 1080p upload gets.
 */
import { randomUUID } from 'node:crypto';
import type { VideoRecord } from '../../../src/domain/ports/video-catalog.ts';

export function readyVideoRecords(count: number, ownerId = 'bench-owner'): VideoRecord[] {
  const start = Date.parse('2026-11-01T00:00:00.000Z');
  return Array.from({ length: count }, (_, index) => {
    const videoId = randomUUID();
    const createdAt = new Date(start + index * 60_000).toISOString();
    return {
      videoId,
      title: `Bench video ${index + 1}`,
      ownerId,
      status: 'ready',
      createdAt,
      updatedAt: new Date(start + index * 60_000 + 30_000).toISOString(),
      progressPercent: 100,
      playable: true,
      durationSeconds: 60,
      renditions: [
        { name: '1080p', width: 1920, height: 1080, bandwidth: 5_500_000 },
        { name: '720p', width: 1280, height: 720, bandwidth: 3_100_000 },
        { name: '360p', width: 640, height: 360, bandwidth: 950_000 },
      ],
      sortKey: `${createdAt}#${videoId}`,
      ownerStatus: `${ownerId}#ready`,
      filename: `bench-${index + 1}.mp4`,
      contentType: 'video/mp4',
      sizeBytes: 40_000_000,
      jobId: `job-${videoId}`,
    } satisfies VideoRecord;
  }).reverse();
}
