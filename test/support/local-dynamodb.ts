import { randomUUID } from 'node:crypto';
import { tableConfig } from '../../src/core/config.js';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { inject } from 'vitest';
import { createDynamoDbClient } from '../../adapters/dynamodb/client.js';
import type { TableNames } from '../../adapters/dynamodb/layout.js';
import { SourceTable } from '../../adapters/dynamodb/source-table.js';
import { DynamoDbStreamSource } from '../../adapters/dynamodb/stream-source.js';
import { createStreamfoldTables } from '../../adapters/dynamodb/tables.js';
import { createHandler } from '../../src/lambda/handler.js';
import { silentLogger } from '../../src/core/logging.js';
import { applyWorkload, type WorkloadOperation } from '../../demo/orders-workload.js';
import { readStream } from '../../src/local/shard-poller.js';
import type { AnyProjection } from '../../src/catalog/kinds.js';
import examples from '../../projections/index.js';

/** The DynamoDB Local that the global setup started for this run. */
export function localEndpoint(): string {
  return inject('dynamoDbEndpoint');
}

export function localClient(): DynamoDBClient {
  return createDynamoDbClient({ endpoint: localEndpoint() });
}

export function localStreams(): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient({
    endpoint: localEndpoint(),
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}

export const uniqueName = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Read-model and checkpoint tables of a test's own. */
export async function freshTables(client: DynamoDBClient): Promise<TableNames> {
  const tables = { readModels: uniqueName('read-models'), checkpoints: uniqueName('checkpoints'), parked: uniqueName('parked') };
  await createStreamfoldTables(client, tables);
  return tables;
}

/** A Lambda handler on DynamoDB Local, writing to the given tables. */
export function localHandler(
  client: DynamoDBClient,
  tables: TableNames,
  projections: readonly AnyProjection[] = examples,
  options: { parking?: boolean } = {},
) {
  return createHandler({
    projections,
    dynamoDbClient: client,
    logger: silentLogger,
    config: { ...tableConfig(tables), STREAMFOLD_PARKING: options.parking === false ? 'off' : 'on' },
  });
}

/**
 * An `Orders` table with a stream, the workload written to it, its real stream records read back, and a
 * scan of the final table for the ground truth.
 */
export async function ordersWithRecords(client: DynamoDBClient, operations: readonly WorkloadOperation[]) {
  const table = new SourceTable(client, {
    name: uniqueName('Orders'),
    partitionKey: 'orderId',
    streamViewType: 'NEW_AND_OLD_IMAGES',
  });
  const streamArn = await table.create();
  await applyWorkload(table, operations);
  const records: Record<string, unknown>[] = [];
  for await (const shard of readStream(new DynamoDbStreamSource(localStreams()), streamArn)) {
    records.push(...(shard.records as Record<string, unknown>[]));
  }
  return { table, streamArn, records, finalItems: await table.scan() };
}
