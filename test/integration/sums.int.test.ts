import { QueryCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { createReadModelClient } from '../../adapters/dynamodb/reader.js';
import { ordersTruth } from '../../demo/orders-truth.js';
import { ordersWorkload } from '../../demo/orders-workload.js';
import { defineProjection } from '../../src/projection/define.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { customerTotals } from '../../projections/customer-totals.js';
import examples from '../../projections/index.js';
import { orderView } from '../../projections/order-view.js';
import { batches } from '../support/consumers.js';
import { freshTables, localClient, localHandler, ordersWithRecords } from '../support/local-dynamodb.js';

let client: DynamoDBClient;
let source: Awaited<ReturnType<typeof ordersWithRecords>>;

beforeAll(async () => {
  client = localClient();
  source = await ordersWithRecords(client, ordersWorkload({ seed: 17, operations: 500, customers: 3, maxOrders: 90 }));
});

describe('sums on DynamoDB Local', () => {
  it('spreads a hot group over its shards and reads it back merged', async () => {
    const tables = await freshTables(client);
    const sharded = defineProjection({ ...customerTotals, name: 'customer-totals-sharded', shards: 4 });
    const handler = localHandler(client, tables, [sharded]);
    for (const batch of batches(source.records, 10)) await handler.invoke({ Records: batch });

    const truth = ordersTruth(source.finalItems).customerTotals;
    const [customer, expected] = [...truth][0] ?? [];
    const { Items } = await client.send(
      new QueryCommand({
        TableName: tables.readModels,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: `customer-totals-sharded#v1#${customer}` } },
      }),
    );
    expect(new Set(Items?.map((item) => item.sk?.S)).size).toBeGreaterThan(1);

    const reader = createReadModelClient(client, tables);
    const merged = await reader.sum(sharded, String(customer));
    expect({ orders: BigInt(String(merged?.orders)), amount: BigInt(String(merged?.amount)) }).toEqual(expected);
    const rows = await readAllRows(handler.store, sharded);
    expect(rows.map((row) => [row.key, BigInt(String(row.value.amount))])).toEqual(
      [...truth].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, totals]) => [key, totals.amount]),
    );
  });

  it('writes each touched row once per batch, in one transaction', async () => {
    const tables = await freshTables(client);
    const handler = localHandler(client, tables, examples);
    // Ten orders changed ten times each: one batch of 100 records over 10 keys.
    const tenKeys = source.records.filter((record) => {
      const id = (record.dynamodb as { Keys: { orderId: { S: string } } }).Keys.orderId.S;
      return Number(id.slice(2)) <= 10;
    });
    const report = await handler.invoke({ Records: tenKeys });
    const keys = report.stats.keys;
    const usage = handler.store.usage.snapshot();
    expect(report.stats.applied).toBe(tenKeys.length);
    expect(tenKeys.length).toBeGreaterThan(keys * 2);
    expect(usage.requests.TransactWriteItems).toBe(1);
    // One checkpoint and at most one view row per key, and one row per touched group: 3 customers, 5 statuses.
    expect(usage.itemsWritten).toBeLessThanOrEqual(keys * 2 + 3 + 5);
    expect(usage.requests.BatchGetItem).toBe(1);

    const reader = createReadModelClient(client, tables);
    const view = await reader.view(orderView, { orderId: 'o-00001' });
    const item = source.finalItems.find((candidate) => candidate.orderId === 'o-00001');
    if (item === undefined) expect(view).toBeUndefined();
    else expect(String(view?.amount)).toBe(String(item.amount));
  });
});
