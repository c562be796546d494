/**
 * The catalog of videos in DynamoDB. One item per video; every state change is a conditional
 * write, so duplicate and out-of-order events cannot move a video backwards (DynamoDB-compatible
 * stand-ins lack transactions, and a single conditional UpdateItem is all each change needs).
 *
 * Keys: `videoId` (table), GSI `byStatus` (status, sortKey) lists ready videos of everybody,
 * GSI `byOwnerStatus` (ownerStatus, sortKey) lists one owner's videos in one state.
 * `sortKey` = `${createdAt}#${videoId}`: unique and time-ordered, so pages are keyset pages.
 *
 * A deleted video leaves a tombstone (status `deleted`, in the same indexes) until the reconciler
 * has removed whatever its job or a late upload wrote after the delete; nobody sees it.
 */
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { loadOnce } from '../../shared/load-once.ts';
import { newVideoRecord } from '../../domain/ports/video-catalog.ts';
import type { PublishedStreams, RecordStatus, VideoCatalog, VideoKey, VideoRecord } from '../../domain/ports/video-catalog.ts';

export const STATUS_INDEX = 'byStatus';
export const OWNER_STATUS_INDEX = 'byOwnerStatus';

const streamsOf = (result: PublishedStreams) => ({
  renditions: result.renditions,
  ...(result.audioTracks && result.audioTracks.length > 0 ? { audioTracks: result.audioTracks } : {}),
  ...(result.durationSeconds === undefined ? {} : { durationSeconds: result.durationSeconds }),
});

/** Warnings kept per video (a source damaged everywhere must not grow its item without end). */
const MAX_WARNINGS = 10;

interface Transition {
  /** SET clauses besides updatedAt (and status/ownerStatus when `to` is given). */
  set: Record<string, unknown>;
  /** Lists to add items to, each made when absent (DynamoDB's list_append). */
  append?: Record<string, unknown[]>;
  /** SET clauses that keep a value already there (if_not_exists). */
  setIfAbsent?: Record<string, unknown>;
  to?: RecordStatus;
  /** The video moved on (a new state, its job, progress): the reconciler's count starts afresh. */
  movesOn?: boolean;
  /** Bookkeeping only: `updatedAt` (what users and the silence check see) stays as it was. */
  bookkeeping?: boolean;
  /** Condition over #s (status), :job, plus named values. */
  condition: string;
  values?: Record<string, unknown>;
}

/** A document client, or how to get one at its first use (AwsClients.dynamo). */
export type DynamoDbSource = DynamoDBDocumentClient | (() => Promise<DynamoDBDocumentClient>);

export function createVideoCatalog(deps: { dynamo: DynamoDbSource; tableName: string }): VideoCatalog {
  const { dynamo: source, tableName } = deps;
  // The client and the command classes load together at the first call (see aws-clients.ts).
  const sdk = loadOnce(async () => {
    const [commands, dynamo] = await Promise.all([import('@aws-sdk/lib-dynamodb'), typeof source === 'function' ? source() : source]);
    return { ...commands, dynamo };
  });

  /**
   * One conditional UpdateItem. A failed condition is an answer (false: the video was not in a
   * state this change applies to, e.g. a late or duplicate event), not an error.
   */
  async function transition(video: VideoKey, now: string, change: Transition): Promise<boolean> {
    const set: Record<string, unknown> = change.bookkeeping ? { ...change.set } : { ...change.set, updatedAt: now };
    const remove = change.to !== undefined || change.movesOn ? ['reconcile'] : [];
    if (change.to) {
      set.status = change.to;
      set.ownerStatus = `${video.ownerId}#${change.to}`;
    }
    const names: Record<string, string> = { '#s': 'status' };
    const values: Record<string, unknown> = { ...change.values };
    const clauses = Object.entries(set).map(([field, value], index) => {
      names[`#f${index}`] = field;
      values[`:v${index}`] = value;
      return `#f${index} = :v${index}`;
    });
    Object.entries(change.setIfAbsent ?? {}).forEach(([field, value], index) => {
      names[`#k${index}`] = field;
      values[`:k${index}`] = value;
      clauses.push(`#k${index} = if_not_exists(#k${index}, :k${index})`);
    });
    Object.entries(change.append ?? {}).forEach(([field, items], index) => {
      names[`#a${index}`] = field;
      values[`:a${index}`] = items;
      values[':none'] = [];
      clauses.push(`#a${index} = list_append(if_not_exists(#a${index}, :none), :a${index})`);
    });
    const removed = remove.map((field, index) => {
      names[`#r${index}`] = field;
      return `#r${index}`;
    });
    const { dynamo, UpdateCommand } = await sdk();
    try {
      await dynamo.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { videoId: video.videoId },
          UpdateExpression: `SET ${clauses.join(', ')}${removed.length > 0 ? ` REMOVE ${removed.join(', ')}` : ''}`,
          ConditionExpression: change.condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      // By name: the exception class lives in the lazily loaded client package.
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** The job's own events apply; those of another (older) job of the same video do not. */
  const processingByJob = '#s = :processing AND (attribute_not_exists(jobId) OR jobId = :job)';

  async function query(indexName: string, keyName: string, keyValue: string, limit: number, before?: string) {
    const { dynamo, QueryCommand } = await sdk();
    const result = await dynamo.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: indexName,
        KeyConditionExpression: before ? '#k = :k AND sortKey < :before' : '#k = :k',
        ExpressionAttributeNames: { '#k': keyName },
        ExpressionAttributeValues: { ':k': keyValue, ...(before ? { ':before': before } : {}) },
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (result.Items ?? []) as VideoRecord[];
  }

  return {
    async create(video) {
      const record = newVideoRecord(video);
      const { dynamo, PutCommand } = await sdk();
      await dynamo.send(new PutCommand({ TableName: tableName, Item: record, ConditionExpression: 'attribute_not_exists(videoId)' }));
      return record;
    },

    async get(videoId) {
      const { dynamo, GetCommand } = await sdk();
      const result = await dynamo.send(new GetCommand({ TableName: tableName, Key: { videoId }, ConsistentRead: true }));
      return result.Item as VideoRecord | undefined;
    },

    queryByStatus: (status, limit, before) => query(STATUS_INDEX, 'status', status, limit, before),
    queryByOwnerStatus: (ownerId, status, limit, before) => query(OWNER_STATUS_INDEX, 'ownerStatus', `${ownerId}#${status}`, limit, before),

    async queryDue(status, { createdBefore, now, limit, maxPages = 10 }) {
      const { dynamo, QueryCommand } = await sdk();
      const due: VideoRecord[] = [];
      let startKey: Record<string, unknown> | undefined;
      for (let page = 0; page < maxPages && due.length < limit; page++) {
        const result = await dynamo.send(
          new QueryCommand({
            TableName: tableName,
            IndexName: STATUS_INDEX,
            KeyConditionExpression: '#s = :s AND sortKey < :before',
            // Videos in backoff are skipped here; Limit counts the items read, before this filter.
            FilterExpression: 'attribute_not_exists(#r) OR #r.nextAt <= :now',
            ExpressionAttributeNames: { '#s': 'status', '#r': 'reconcile' },
            ExpressionAttributeValues: { ':s': status, ':before': createdBefore, ':now': now },
            ScanIndexForward: true,
            Limit: limit,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        );
        due.push(...((result.Items ?? []) as VideoRecord[]));
        startKey = result.LastEvaluatedKey;
        if (!startKey) break;
      }
      return due.slice(0, limit);
    },

    recordJobIntent: (video, now, details) =>
      transition(video, now, {
        bookkeeping: true,
        // What the plan says of the source is kept with the intent: a crash before recordJob
        // then loses nothing (the job's own events record the job without it).
        set: { ...(details?.audioOnly ? { audioOnly: true } : {}), ...(details?.source ? { source: details.source } : {}) },
        // Kept from the first try: a later retry looks for jobs since the first submission.
        setIfAbsent: { jobRequestedAt: now },
        condition: '#s = :processing AND attribute_not_exists(jobId)',
        values: { ':processing': 'processing' },
      }),

    recordReconcileAttempt: (video, state, now) =>
      transition(video, now, {
        bookkeeping: true,
        set: { reconcile: state },
        condition: '#s = :s',
        values: { ':s': video.status },
      }),

    recordFastStartRemoved: (video, now) =>
      transition(video, now, {
        bookkeeping: true,
        set: { fastStartRemovedAt: now },
        condition: '#s = :ready',
        values: { ':ready': 'ready' },
      }),

    markDeleted: (video, now) =>
      transition(video, now, {
        to: 'deleted',
        set: { deletedAt: now },
        condition: 'attribute_exists(videoId) AND #s <> :deleted',
        values: { ':deleted': 'deleted' },
      }),

    claimForProcessing: (video, sequencer, now) =>
      transition(video, now, {
        to: 'processing',
        set: { sourceSequencer: sequencer, uploadedAt: now },
        condition: '#s = :awaiting',
        values: { ':awaiting': 'awaiting_upload' },
      }),

    recordJob: (video, jobId, now, details) =>
      transition(video, now, {
        movesOn: true,
        set: { jobId, ...(details?.audioOnly ? { audioOnly: true } : {}) },
        condition: processingByJob,
        values: { ':processing': 'processing', ':job': jobId },
      }),

    recordProgress: (video, jobId, percent, now) =>
      transition(video, now, {
        movesOn: true,
        set: { progressPercent: percent },
        condition: `${processingByJob} AND (attribute_not_exists(progressPercent) OR progressPercent < :p)`,
        values: { ':processing': 'processing', ':job': jobId, ':p': percent },
      }),

    recordRenditions: (video, jobId, result, now) =>
      transition(video, now, {
        movesOn: true,
        set: { playable: true, ...streamsOf(result) },
        setIfAbsent: { playableAt: now },
        // The first publication (an audio-only stream has no video renditions), or more renditions.
        condition: `${processingByJob} AND (attribute_not_exists(playable) OR attribute_not_exists(renditions) OR size(renditions) < :n)`,
        values: { ':processing': 'processing', ':job': jobId, ':n': result.renditions.length },
      }),

    markReady: (video, jobId, result, now) =>
      transition(video, now, {
        to: 'ready',
        set: { jobId, playable: true, progressPercent: 100, readyAt: now, ...streamsOf(result) },
        // Published whole at once (MediaConvert reports outputs only at its end): playable now too.
        setIfAbsent: { playableAt: now },
        condition: processingByJob,
        values: { ':processing': 'processing', ':job': jobId },
      }),

    markFailed: (video, jobId, error, now) =>
      transition(video, now, {
        to: 'failed',
        set: { error, failedAt: now },
        condition: jobId ? processingByJob : '#s IN (:processing, :awaiting)',
        values: jobId ? { ':processing': 'processing', ':job': jobId } : { ':processing': 'processing', ':awaiting': 'awaiting_upload' },
      }),

    recordWarning: (video, jobId, warning, now) =>
      transition(video, now, {
        set: {},
        append: { warnings: [warning] },
        // Like every other write of a job's events: a warning may arrive before the job is recorded.
        condition:
          '#s IN (:processing, :ready) AND (attribute_not_exists(jobId) OR jobId = :job) AND (attribute_not_exists(warnings) OR size(warnings) < :max)',
        values: { ':processing': 'processing', ':ready': 'ready', ':job': jobId, ':max': MAX_WARNINGS },
      }),

    async delete(videoId) {
      const { dynamo, DeleteCommand } = await sdk();
      await dynamo.send(new DeleteCommand({ TableName: tableName, Key: { videoId } }));
    },
  };
}

/**
 * The table's keys and indexes, for whatever creates the table outside CloudFormation (the local
 * stack). template.yaml declares the same; a test keeps the two in step.
 */
export const VIDEO_TABLE_KEYS: Required<Pick<CreateTableCommandInput, 'AttributeDefinitions' | 'KeySchema' | 'GlobalSecondaryIndexes'>> = {
  AttributeDefinitions: [
    { AttributeName: 'videoId', AttributeType: 'S' },
    { AttributeName: 'status', AttributeType: 'S' },
    { AttributeName: 'ownerStatus', AttributeType: 'S' },
    { AttributeName: 'sortKey', AttributeType: 'S' },
  ],
  KeySchema: [{ AttributeName: 'videoId', KeyType: 'HASH' }],
  GlobalSecondaryIndexes: [
    {
      IndexName: STATUS_INDEX,
      KeySchema: [
        { AttributeName: 'status', KeyType: 'HASH' },
        { AttributeName: 'sortKey', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
    {
      IndexName: OWNER_STATUS_INDEX,
      KeySchema: [
        { AttributeName: 'ownerStatus', KeyType: 'HASH' },
        { AttributeName: 'sortKey', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'ALL' },
    },
  ],
};
