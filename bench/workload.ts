import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SourceTable } from '../adapters/dynamodb/source-table.js';
import { DynamoDbStreamSource } from '../adapters/dynamodb/stream-source.js';
import { applyWorkload, ordersWorkload, type WorkloadOperation } from '../demo/orders-workload.js';
import { readStream } from '../src/local/shard-poller.js';

export interface BenchWorkload {
  readonly records: Record<string, unknown>[];
  /** A scan of the table after the workload: the ground truth. */
  readonly finalItems: Record<string, unknown>[];
}

const CACHE = '.streamfold/bench';

/**
 * The fixed, seeded workload: orders over customers, written to DynamoDB Local (items of different orders
 * concurrently, each order's changes in order), and its real stream records read back. Cached on disk by
 * its parameters, since it takes a while to write.
 */
export async function benchWorkload(
  client: DynamoDBClient,
  endpoint: string,
  parameters: { seed: number; operations: number; orders: number; customers: number },
): Promise<BenchWorkload> {
  const file = join(CACHE, `workload-${parameters.seed}-${parameters.operations}-${parameters.orders}-${parameters.customers}.json`);
  if (existsSync(file)) return JSON.parse(await readFile(file, 'utf8')) as BenchWorkload;
  const table = new SourceTable(client, { name: `Orders-${parameters.seed}`, partitionKey: 'orderId', streamViewType: 'NEW_AND_OLD_IMAGES' });
  const streamArn = await table.create();
  const operations = ordersWorkload({
    seed: parameters.seed,
    operations: parameters.operations,
    customers: parameters.customers,
    maxOrders: parameters.orders,
    hugeAmountShare: 0,
  });
  await writeConcurrently(table, operations, 32);
  const streams = new DynamoDBStreamsClient({ endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const records: Record<string, unknown>[] = [];
  for await (const shard of readStream(new DynamoDbStreamSource(streams), streamArn)) {
    records.push(...(shard.records as Record<string, unknown>[]));
  }
  const workload = { records, finalItems: await table.scan() };
  await mkdir(CACHE, { recursive: true });
  await writeFile(file, JSON.stringify(workload));
  return workload;
}

/** Different orders in parallel lanes, each order's own changes one after the other. */
async function writeConcurrently(table: SourceTable, operations: readonly WorkloadOperation[], lanes: number): Promise<void> {
  const byLane: WorkloadOperation[][] = Array.from({ length: lanes }, () => []);
  for (const operation of operations) {
    const orderId = String(operation.type === 'put' ? operation.item.orderId : operation.key.orderId);
    let hash = 0;
    for (const character of orderId) hash = (hash * 31 + character.charCodeAt(0)) >>> 0;
    byLane[hash % lanes]?.push(operation);
  }
  await Promise.all(byLane.map((lane) => applyWorkload(table, lane)));
}
