import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TableNames } from '../../adapters/dynamodb/layout.js';
import { ordersWorkload, type WorkloadOperation } from '../../demo/orders-workload.js';
import { batches } from '../support/consumers.js';
import { differencesFromTruth } from '../support/expectations.js';
import { freshTables, localClient, localEndpoint, localHandler, ordersWithRecords } from '../support/local-dynamodb.js';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '../../bin/streamfold.js');

let client: DynamoDBClient;
let source: Awaited<ReturnType<typeof ordersWithRecords>>;
let tables: TableNames;
const poisoned = 'o-90001';

/** Amounts written as formatted text: the example schema refuses them, the fixed one parses them. */
const normalised = (items: readonly Record<string, unknown>[]) =>
  items.map((item) => ({ ...item, amount: String(item.amount).replaceAll(',', '') }));

async function streamfold(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const connection = ['--endpoint', localEndpoint(), '--read-model-table', tables.readModels, '--checkpoint-table', tables.checkpoints, '--parked-table', tables.parked];
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args, ...connection]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    return error as { code: number; stdout: string; stderr: string };
  }
}

beforeAll(async () => {
  client = localClient();
  const poison: WorkloadOperation[] = [
    { type: 'put', item: { orderId: poisoned, customerId: 'c-001', status: 'PLACED', amount: '1,250' } },
    { type: 'update', key: { orderId: poisoned }, changes: { status: 'PAID' } },
    { type: 'update', key: { orderId: poisoned }, changes: { customerId: 'c-002' } },
  ];
  const workload = ordersWorkload({ seed: 5, operations: 300, customers: 4, maxOrders: 60 });
  source = await ordersWithRecords(client, [...workload.slice(0, 150), ...poison, ...workload.slice(150)]);
  tables = await freshTables(client);
});

describe('parked poison records on DynamoDB Local', () => {
  it('parks a record that fails its schema with its payload and error, and the item\'s later records behind it', async () => {
    const handler = localHandler(client, tables);
    let parked = 0;
    for (const batch of batches(source.records, 100)) {
      const report = await handler.invoke({ Records: batch });
      expect(report.batchItemFailures).toEqual([]);
      parked += report.stats.parked;
    }
    expect(parked).toBe(3);

    const listed = await streamfold(['parked', 'list', '--projections', 'projections/index.ts', '--records']);
    expect(listed.code).toBe(3); // finished, but records are parked
    const lines = listed.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, any>);
    expect(lines).toHaveLength(9); // three records, parked in each of the three projections
    const failed = lines.filter((line) => line.reason === 'failed');
    expect(failed.map((line) => line.projection).sort()).toEqual(['customer-totals', 'order-status-counts', 'order-view']);
    for (const line of failed) {
      expect(line.key).toBe(`{"orderId":{"S":"${poisoned}"}}`);
      expect(line.error.code).toBe('SCHEMA_MISMATCH');
      expect(line.error.field).toBe('dynamodb.NewImage.amount');
      expect(line.record.dynamodb.NewImage.amount).toEqual({ S: '1,250' });
      expect(line.record.eventID).toBe(line.eventID);
    }
    expect(lines.filter((line) => line.reason === 'waiting')).toHaveLength(6);

    // Every other order is applied; the poisoned one is absent everywhere, as if it never happened.
    const others = normalised(source.finalItems.filter((item) => item.orderId !== poisoned));
    expect(await differencesFromTruth(handler.store, others)).toEqual([]);
  });

  it('redrive with the unfixed projections leaves them parked and exits 3', async () => {
    const redriven = await streamfold(['parked', 'redrive', '--projections', 'projections/index.ts']);
    expect(redriven.code).toBe(3);
    expect(redriven.stdout).toMatch(/applied\s+0/);
    expect(redriven.stdout).toMatch(/still parked\s+9/);
  });

  it('after the fix, redrive applies them in order and the read model equals the fold of the table', async () => {
    const redriven = await streamfold(['parked', 'redrive', '--projections', 'test/fixtures/fixed-projections.ts']);
    expect(redriven.stderr.trim()).toMatch(/^streamfold: DynamoDB at \S+, region \S+, access key \S+$/);
    expect(redriven.code).toBe(0);
    expect(redriven.stdout).toMatch(/applied\s+9/);
    expect(redriven.stdout).toMatch(/still parked\s+0/);
    const listed = await streamfold(['parked', 'list', '--projections', 'projections/index.ts']);
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim()).toBe('');
    const handler = localHandler(client, tables);
    expect(await differencesFromTruth(handler.store, normalised(source.finalItems))).toEqual([]);
  });
});
