import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TableNames } from '../../adapters/dynamodb/layout.js';
import { customerTotals } from '../../projections/customer-totals.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import { runCli } from '../support/cli.js';
import { testConsumer } from '../support/consumers.js';
import { freshTables, localClient, localEndpoint, localHandler, ordersWithRecords } from '../support/local-dynamodb.js';

let client: DynamoDBClient;
let source: Awaited<ReturnType<typeof ordersWithRecords>>;

const connection = (tables: TableNames) => [
  '--endpoint', localEndpoint(),
  '--read-model-table', tables.readModels,
  '--checkpoint-table', tables.checkpoints,
  '--parked-table', tables.parked,
];

beforeAll(async () => {
  client = localClient();
  // An order whose amount goes from 5 to 0: its customer's amount sums to zero, its order count does not.
  source = await ordersWithRecords(client, [
    { type: 'put', item: { orderId: 'o-1', customerId: 'c-1', status: 'PLACED', amount: 5 } },
    { type: 'update', key: { orderId: 'o-1' }, changes: { amount: 0 } },
  ]);
});

describe('a sum row has one form, however its records were split into batches', () => {
  it.each([
    ['in separate batches', (records: unknown[]) => records.map((record) => [record])],
    ['in one batch', (records: unknown[]) => [records]],
  ])('leaves a field that sums to zero out, %s, and verify and dump agree', async (_name, split) => {
    expect(source.records).toHaveLength(2);
    const tables = await freshTables(client);
    const handler = localHandler(client, tables, [customerTotals]);
    for (const batch of split(source.records)) expect((await handler.invoke({ Records: batch })).batchItemFailures).toEqual([]);

    const verified = await runCli(['verify', 'customer-totals', '--projections', 'projections/index.ts', '--table', source.table.spec.name, ...connection(tables)]);
    expect(verified.stdout).toMatch(/1 rows expected, 1 stored, no drift/);
    expect(verified.code).toBe(0);
    expect(await readAllRows(handler.store, customerTotals)).toEqual([{ key: 'c-1', value: { orders: 1 } }]);
    expect(await handler.store.readSum('customer-totals#v1', 'c-1')).toEqual({ orders: 1 });
    const dumped = await runCli(['dump', 'customer-totals', '--projections', 'projections/index.ts', ...connection(tables)]);
    expect(dumped.stdout.trim()).toBe('{"key":"c-1","value":{"orders":1}}');
  });

  it('reads the same from the in-memory store', async () => {
    const store = new MemoryReadModelStore();
    for (const record of source.records) await testConsumer(store, [customerTotals]).process([record]);
    expect(await readAllRows(store, customerTotals)).toEqual([{ key: 'c-1', value: { orders: 1 } }]);
  });
});
