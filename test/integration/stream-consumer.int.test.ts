import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { deliverBatch, emptyTotals } from '../../src/local/lambda-driver.js';
import { ordersWorkload } from '../../demo/orders-workload.js';
import { seededRandom, shuffle } from '../../src/testing/random.js';
import { defineProjection } from '../../src/projection/define.js';
import { customerTotals } from '../../projections/customer-totals.js';
import { orderStatusCounts } from '../../projections/order-status-counts.js';
import { orderView, type OrderView } from '../../projections/order-view.js';
import { OrderSchema } from '../../projections/orders.js';
import { batches } from '../support/consumers.js';
import { differencesFromTruth, expectMatchesTruth } from '../support/expectations.js';
import { freshTables, localClient, localHandler, ordersWithRecords } from '../support/local-dynamodb.js';

type Handler = ReturnType<typeof localHandler>;

let client: DynamoDBClient;
let source: Awaited<ReturnType<typeof ordersWithRecords>>;

beforeAll(async () => {
  client = localClient();
  source = await ordersWithRecords(client, ordersWorkload({ seed: 42, operations: 700, customers: 10, maxOrders: 120 }));
});

async function deliverAll(handler: Handler, records: readonly unknown[], size = 100) {
  const reports = [];
  for (const batch of batches(records, size)) reports.push(await handler.invoke({ Records: batch }));
  return reports;
}

const sequenceOf = (record: Record<string, unknown>): string =>
  (record.dynamodb as { SequenceNumber: string }).SequenceNumber;
const orderIdOf = (record: Record<string, unknown>): string =>
  (record.dynamodb as { Keys: { orderId: { S: string } } }).Keys.orderId.S;

describe('the Lambda handler on real stream records from DynamoDB Local', () => {
  it('reads a real stream: every kind of change, and the truth has rows to compare', () => {
    const kinds = new Set(source.records.map((record) => record.eventName));
    expect(kinds).toEqual(new Set(['INSERT', 'MODIFY', 'REMOVE']));
    expect(source.records.length).toBeGreaterThan(600);
    expect(source.finalItems.length).toBeGreaterThan(50);
  });

  it('folds the records in stream order into what a scan of the final table gives', async () => {
    const handler = localHandler(client, await freshTables(client));
    const reports = await deliverAll(handler, source.records);
    expect(reports.flatMap((report) => report.batchItemFailures)).toEqual([]);
    await expectMatchesTruth(handler.store, source.finalItems);
  });

  it('gives the same read models when the same records are applied twice', async () => {
    const handler = localHandler(client, await freshTables(client));
    await deliverAll(handler, source.records);
    const again = await deliverAll(handler, source.records);
    expect(again.reduce((total, report) => total + report.stats.applied, 0)).toBe(0);
    expect(again.reduce((total, report) => total + report.stats.stale, 0)).toBe(source.records.length);
    await expectMatchesTruth(handler.store, source.finalItems);
  });

  it('gives the same read models when whole batches are redelivered', async () => {
    const handler = localHandler(client, await freshTables(client));
    const random = seededRandom(5);
    for (const batch of batches(source.records, 100)) {
      await handler.invoke({ Records: batch });
      if (random() < 0.5) await handler.invoke({ Records: batch });
    }
    await expectMatchesTruth(handler.store, source.finalItems);
  });

  it('gives the same read models when records are shuffled across batches and one key runs in reverse', async () => {
    const handler = localHandler(client, await freshTables(client));
    const counts = new Map<string, number>();
    for (const record of source.records) counts.set(orderIdOf(record), (counts.get(orderIdOf(record)) ?? 0) + 1);
    const [busiest] = [...counts].sort((a, b) => b[1] - a[1])[0] ?? [];
    const reversed = source.records.filter((record) => orderIdOf(record) === busiest).reverse();
    expect(reversed.length).toBeGreaterThan(3);
    const others = shuffle(seededRandom(9), source.records.filter((record) => orderIdOf(record) !== busiest));
    // The busiest key's records, newest first, one per batch, spread over the shuffled rest.
    const delivery: Record<string, unknown>[][] = batches(others, 40);
    reversed.forEach((record, index) => delivery[index % delivery.length]?.unshift(record));
    for (const batch of delivery) {
      const report = await handler.invoke({ Records: batch });
      expect(report.batchItemFailures).toEqual([]);
    }
    await expectMatchesTruth(handler.store, source.finalItems);
  });

  it('two consumers on one read model at once still apply each record once', async () => {
    const tables = await freshTables(client);
    const first = localHandler(client, tables);
    const second = localHandler(client, tables);
    const random = seededRandom(13);
    await Promise.all([
      deliverAll(first, source.records, 50),
      deliverAll(second, shuffle(random, source.records), 50),
    ]);
    await expectMatchesTruth(first.store, source.finalItems);
  });

  it('with parking off, leaves the other keys applied when one key fails, and reports its lowest failed sequence', async () => {
    const tables = await freshTables(client);
    const victim = orderIdOf(source.records.find((record) => record.eventName === 'MODIFY') ?? {});
    const victimRecords = source.records.filter((record) => orderIdOf(record) === victim);
    const failingAt = sequenceOf(victimRecords[1] ?? {});
    const brokenView = defineProjection({
      ...orderView,
      evolve: (state: OrderView | undefined, event) => {
        if (event.key.orderId === victim && BigInt(event.sequence) >= BigInt(failingAt)) throw new Error('injected failure');
        return orderView.evolve(state, event);
      },
    });
    const broken = localHandler(client, tables, [customerTotals, orderStatusCounts, brokenView], { parking: false });
    const report = await broken.invoke({ Records: source.records });
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: failingAt }]);
    expect(report.stats.failedKeys).toBe(1);
    expect(report.stats.failed).toBe(victimRecords.length - 1);
    const differences = await differencesFromTruth(broken.store, source.finalItems);
    const touched = new Set(differences.map((difference) => difference.key));
    // Only the failed order and the groups it feeds may differ; every other key is applied.
    const victimItem = source.finalItems.find((item) => item.orderId === victim);
    const allowed = new Set([victim, String(victimItem?.customerId), String(victimItem?.status)]);
    for (const record of victimRecords) {
      const image = (record.dynamodb as { NewImage?: { customerId?: { S: string }; status?: { S: string } } }).NewImage;
      if (image?.customerId) allowed.add(image.customerId.S);
      if (image?.status) allowed.add(image.status.S);
    }
    expect([...touched].filter((key) => !allowed.has(key))).toEqual([]);
    expect(touched.has(victim)).toBe(true);

    // Lambda redelivers from the reported sequence to the fixed consumer: everything converges.
    const fixed = localHandler(client, tables);
    const totals = emptyTotals();
    const redelivered = source.records.filter((record) => BigInt(sequenceOf(record)) >= BigInt(failingAt));
    await deliverBatch(redelivered, (records) => fixed.invoke({ Records: records }), 0, totals);
    expect(totals.failed).toBe(0);
    expect(totals.applied).toBe(victimRecords.length - 1);
    await expectMatchesTruth(fixed.store, source.finalItems);
  });
});
