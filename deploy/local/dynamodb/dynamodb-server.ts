/**
 * The DynamoDB stand-in: dynalite on a loopback port, stored on disk, with the videos table
 * created (keys and indexes from src/adapters/dynamodb/video-catalog.ts) when it does not exist yet.
 */
import dynalite from 'dynalite';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { VIDEO_TABLE_KEYS } from '../../../src/adapters/dynamodb/video-catalog.ts';

export interface LocalDynamoDb {
  url: string;
  close(): Promise<void>;
}

export async function startLocalDynamoDb(options: { directory: string; port: number; tableName: string; region: string }): Promise<LocalDynamoDb> {
  await mkdir(options.directory, { recursive: true });
  const server = dynalite({ path: options.directory, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({ region: options.region, endpoint: url });
  try {
    await client.send(new DescribeTableCommand({ TableName: options.tableName }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    await client.send(
      new CreateTableCommand({
        TableName: options.tableName,
        BillingMode: 'PAY_PER_REQUEST',
        ...VIDEO_TABLE_KEYS,
      }),
    );
  }
  client.destroy();
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error?: Error) => (error ? reject(error) : resolve()));
      }),
  };
}
