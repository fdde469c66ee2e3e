import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ordersWorkload } from '../../demo/orders-workload.js';
import { seededRandom, shuffle } from '../../src/testing/random.js';
import { defineProjection } from '../../src/projection/define.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import examples from '../../projections/index.js';
import { customerTotals } from '../../projections/customer-totals.js';
import { orderView } from '../../projections/order-view.js';
import { OrderSchema } from '../../projections/orders.js';
import { batches, testConsumer } from '../support/consumers.js';
import { expectMatchesTruth } from '../support/expectations.js';
import { orderRecord } from '../support/records.js';
import { simulateOrders } from '../support/simulated-table.js';

const workload = simulateOrders(ordersWorkload({ seed: 7, operations: 600, customers: 8, maxOrders: 60 }));

async function deliver(store: MemoryReadModelStore, records: readonly unknown[], size = 100) {
  const consumer = testConsumer(store);
  const reports = [];
  for (const batch of batches(records, size)) reports.push(await consumer.process(batch));
  return reports;
}

describe('projection runtime on the in-memory store', () => {
  it('folds records in stream order into the read models a scan of the final table gives', async () => {
    const store = new MemoryReadModelStore();
    const reports = await deliver(store, workload.records);
    expect(reports.every((report) => report.batchItemFailures.length === 0)).toBe(true);
    expect(reports.reduce((total, report) => total + report.stats.applied, 0)).toBe(workload.records.length);
    await expectMatchesTruth(store, workload.finalItems);
  });

  it('gives the same read models when every record comes twice, batches are redelivered, and keys run backwards', async () => {
    const store = new MemoryReadModelStore();
    const random = seededRandom(11);
    const doubled = shuffle(random, [...workload.records, ...workload.records]);
    const reports = await deliver(store, doubled, 37);
    await deliver(store, workload.records.slice(100, 300)); // a whole stretch delivered again
    await deliver(store, [...workload.records].reverse(), 50);
    expect(reports.every((report) => report.batchItemFailures.length === 0)).toBe(true);
    await expectMatchesTruth(store, workload.finalItems);
  });

  it('counts a redelivered batch as stale and writes nothing for it', async () => {
    const store = new MemoryReadModelStore();
    const [first] = batches(workload.records, 100);
    await deliver(store, first ?? []);
    const commits = store.commits;
    const [again] = await deliver(store, first ?? []);
    expect(again?.stats).toMatchObject({ applied: 0, stale: 100, failed: 0 });
    expect(store.commits).toBe(commits);
  });

  it('moves an order\'s contribution when it moves to another customer, and keeps huge amounts exact', async () => {
    const store = new MemoryReadModelStore();
    const huge = 123456789012345678901234567n;
    const placed = { orderId: 'o-1', customerId: 'c-1', status: 'PLACED', amount: huge };
    const moved = { ...placed, customerId: 'c-2' };
    const other = { orderId: 'o-2', customerId: 'c-2', status: 'PAID', amount: 1 };
    await deliver(store, [orderRecord('101', placed), orderRecord('102', other), orderRecord('205', moved, placed)]);
    const totals = await readAllRows(store, customerTotals);
    expect(totals).toEqual([{ key: 'c-2', value: { orders: 2, amount: huge + 1n } }]);
  });

  it('stops a failing key at its first bad record, applies the other keys, and reports the lowest failure', async () => {
    const store = new MemoryReadModelStore();
    const fussy = defineProjection({
      name: 'fussy',
      version: 1,
      kind: 'view',
      schema: OrderSchema,
      evolve: (_state: { amount: unknown } | undefined, event) => {
        if (event.newImage?.status === 'POISON') throw new Error('cannot handle poison');
        return event.newImage === undefined ? undefined : { amount: event.newImage.amount };
      },
    });
    const a = { orderId: 'a', customerId: 'c', status: 'PLACED', amount: 1 };
    const b = { orderId: 'b', customerId: 'c', status: 'PLACED', amount: 1 };
    const records = [
      orderRecord('100000000000000000010', a),
      orderRecord('100000000000000000011', b),
      orderRecord('100000000000000000020', { ...a, status: 'POISON' }, a),
      orderRecord('100000000000000000021', { ...b, amount: 2 }, b),
      orderRecord('100000000000000000030', { ...a, amount: 3 }, a),
    ];
    const report = await testConsumer(store, [fussy]).process(records);
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: '100000000000000000020' }]);
    expect(report.stats).toMatchObject({ applied: 3, failed: 2, failedKeys: 1 });
    expect(report.errors[0]?.message).toMatch(/evolve\(\) threw: cannot handle poison/);
    expect(report.errors[0]).toMatchObject({ projection: 'fussy', sequence: '100000000000000000020', eventID: 'evt-100000000000000000020' });
    const rows = await readAllRows(store, fussy);
    expect(rows).toEqual([
      { key: { orderId: 'a' }, value: { amount: 1 } },
      { key: { orderId: 'b' }, value: { amount: 2 } },
    ]);
  });

  it('names the projection, record and field when an image fails the schema', async () => {
    const store = new MemoryReadModelStore();
    const record = orderRecord('100000000000000000042', { orderId: 'o-9', customerId: 'c', status: 'PLACED', amount: 1 });
    ((record.dynamodb as { NewImage: Record<string, unknown> }).NewImage).amount = { S: 'twelve' };
    const report = await testConsumer(store).process([record]);
    const error = report.errors[0];
    expect(error?.code).toBe('SCHEMA_MISMATCH');
    expect(error?.field).toBe('dynamodb.NewImage.amount');
    expect(error).toMatchObject({ eventID: 'evt-100000000000000000042', sequence: '100000000000000000042', key: '{"orderId":{"S":"o-9"}}' });
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: '100000000000000000042' }]);
  });

  it('refuses a sum on a stream without new images, naming the view type', async () => {
    const store = new MemoryReadModelStore();
    const record = orderRecord('100000000000000000001', { orderId: 'o', customerId: 'c', status: 'S', amount: 1 }, undefined, {
      viewType: 'KEYS_ONLY',
    });
    delete (record.dynamodb as Record<string, unknown>).NewImage;
    const report = await testConsumer(store, [customerTotals]).process([record]);
    expect(report.errors[0]?.message).toMatch(/customer-totals needs the new image of every insert and modify, and this stream's view type is KEYS_ONLY: use NEW_IMAGE or NEW_AND_OLD_IMAGES/);
  });

  it('plans again from a fresh read when another writer moved the checkpoint first', async () => {
    const store = new MemoryReadModelStore();
    const order = { orderId: 'o-1', customerId: 'c-1', status: 'PLACED', amount: 10 };
    let interfered = false;
    store.interceptWrite = (write) => {
      if (interfered) return undefined;
      interfered = true;
      // Another consumer applies the same record between this consumer's read and its write.
      void store.commit([write]);
      return { status: 'conflict' };
    };
    const report = await testConsumer(store).process([orderRecord('100000000000000000001', order)]);
    expect(report.batchItemFailures).toEqual([]);
    expect(report.stats).toMatchObject({ applied: 0, stale: 1 });
    expect(await readAllRows(store, customerTotals)).toEqual([{ key: 'c-1', value: { orders: 1, amount: 10 } }]);
  });

  it('does not trust a view row read before a write whose checkpoint it read after (a torn batch read)', async () => {
    const store = new MemoryReadModelStore();
    const placed = { orderId: 'o-1', customerId: 'c-1', status: 'PLACED', amount: 10 };
    const paid = { ...placed, status: 'PAID' };
    await testConsumer(store).process([orderRecord('101', placed)]);
    const realLoad = store.load.bind(store);
    let torn = true;
    store.load = async (keys, views) => {
      const loaded = await realLoad(keys, views);
      if (!torn) return loaded;
      torn = false;
      return { checkpoints: loaded.checkpoints, viewRows: new Map() }; // the row read as if not yet written
    };
    const report = await testConsumer(store).process([orderRecord('102', paid, placed), orderRecord('103', undefined, paid)]);
    expect(report.batchItemFailures).toEqual([]);
    expect(torn).toBe(false);
    expect(await readAllRows(store, orderView)).toEqual([]);
  });

  it('reports keys whose writes keep failing, and a redelivery then applies them exactly once', async () => {
    const store = new MemoryReadModelStore();
    const flaky = new Set(['{"orderId":{"S":"o-00002"}}', '{"orderId":{"S":"o-00005"}}']);
    store.interceptWrite = (write) => (flaky.has(write.key.id) ? { status: 'retry', error: new Error('throttled') } : undefined);
    const consumer = testConsumer(store);
    const [first] = batches(workload.records, 100);
    const report = await consumer.process(first ?? []);
    expect(report.stats.failedKeys).toBe(2);
    const lowest = report.batchItemFailures[0]?.itemIdentifier;
    expect(lowest).toBeDefined();
    store.interceptWrite = undefined;
    const redelivered = (first ?? []).filter(
      (record) => BigInt((record.dynamodb as { SequenceNumber: string }).SequenceNumber) >= BigInt(lowest ?? '0'),
    );
    const retry = await consumer.process(redelivered);
    expect(retry.batchItemFailures).toEqual([]);
    await deliver(store, workload.records.slice(100));
    await expectMatchesTruth(store, workload.finalItems);
  });

  it('lets one consumer run several projections off one checkpoint per item', async () => {
    const store = new MemoryReadModelStore();
    await deliver(store, workload.records.slice(0, 50));
    expect(examples.map((projection) => projection.name)).toEqual(['customer-totals', 'order-status-counts', 'order-view']);
    expect((await readAllRows(store, orderView)).length).toBeGreaterThan(0);
  });

  it('rejects a projection whose name cannot name a read model', () => {
    expect(() => defineProjection({ name: 'bad name!', version: 1, kind: 'sum', schema: z.object({}), contribute: () => ({}) })).toThrow(
      /a name is 1 to 100 letters/,
    );
  });
});
