import { describe, expect, it } from 'vitest';
import { ordersWorkload } from '../../demo/orders-workload.js';
import { generationOf } from '../../src/projection/define.js';
import { viewRowId, type CommitOutcome, type KeyWrite } from '../../src/projection/ports.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { itemKeyFromKeys } from '../../src/records/item-key.js';
import { MemoryReadModelStore, type WritePart } from '../../src/testing/memory-store.js';
import { customerTotals } from '../../projections/customer-totals.js';
import { orderView } from '../../projections/order-view.js';
import { batches, testConsumer } from '../support/consumers.js';
import { differencesFromTruth, expectMatchesTruth } from '../support/expectations.js';
import { orderRecord } from '../support/records.js';
import { simulateOrders } from '../support/simulated-table.js';

const workload = simulateOrders(ordersWorkload({ seed: 13, operations: 500, customers: 6, maxOrders: 50 }));
const VIEW = generationOf(orderView);
const TOTALS = generationOf(customerTotals);
const o1 = itemKeyFromKeys({ orderId: { S: 'o-1' } }, 'Keys');
/** The key whose parts are made to land apart: the workload's first. */
const firstKey = workload.records.map(keyIdOf).find((id) => id !== undefined);
const placed = { orderId: 'o-1', customerId: 'c-1', status: 'PLACED', amount: 500 };

/** A store that records every key's write as it is asked to land it. */
function recordingStore(): { store: MemoryReadModelStore; writes: KeyWrite[] } {
  const store = new MemoryReadModelStore();
  const writes: KeyWrite[] = [];
  store.interceptWrite = (write) => {
    writes.push(write);
    return undefined;
  };
  return { store, writes };
}

async function deliver(store: MemoryReadModelStore, records: readonly unknown[], size = 40, projections = undefined as Parameters<typeof testConsumer>[1]) {
  const consumer = testConsumer(store, projections);
  for (const batch of batches(records, size)) {
    const report = await consumer.process(batch);
    expect(report.batchItemFailures).toEqual([]);
  }
}

describe('where each projection keeps its checkpoint', () => {
  it('a view keeps its entry in its row: a view-only consumer writes one item per key and no checkpoint item', async () => {
    const { store, writes } = recordingStore();
    await deliver(store, workload.records, 40, [orderView]);
    expect(writes.length).toBeGreaterThan(0);
    for (const write of writes) {
      expect(write.checkpointChanged).toBe(false);
      expect(write.sums).toEqual([]);
      expect(write.views.map((view) => view.generation)).toEqual([VIEW]);
      expect(write.entriesInRows?.has(VIEW)).toBe(true);
    }
    const rows = await readAllRows(store, orderView);
    const truth = new Map(workload.finalItems.map((item) => [String(item.orderId), item]));
    expect(rows.map((row) => (row.key as { orderId: string }).orderId).sort()).toEqual([...truth.keys()].sort());
  });

  it('keeps a deleted row as a tombstone that carries its entry: readers never see it, and a late insert does not bring it back', async () => {
    const store = new MemoryReadModelStore();
    await deliver(store, [orderRecord('101', placed), orderRecord('102', undefined, placed)], 1, [orderView]);
    await deliver(store, [orderRecord('101', placed)], 10, [orderView]); // the insert again, after the delete
    expect(await readAllRows(store, orderView)).toEqual([]);
    const loaded = await store.load([o1], [VIEW]);
    expect(loaded.viewRows.get(viewRowId(VIEW, o1))).toMatchObject({ state: undefined, revision: 2 });
    expect(loaded.checkpoints.get(o1.id)).toMatchObject({ revision: 0 });
    expect(loaded.checkpoints.get(o1.id)?.entries.get(VIEW)?.sequence).toBe('102');
  });

  it('a sum record that leaves the contribution as it was adds nothing and writes only its entry, and an older record arriving after it is stale', async () => {
    const { store, writes } = recordingStore();
    const paid = { ...placed, status: 'PAID' };
    const bigger = { ...placed, amount: 700 };
    await deliver(store, [orderRecord('101', placed)], 10, [customerTotals]);
    await deliver(store, [orderRecord('103', paid, bigger)], 10, [customerTotals]); // amount back to 500: unchanged
    const [, unchanged] = writes;
    expect(unchanged?.sums).toEqual([]);
    expect(unchanged?.checkpointChanged).not.toBe(false);
    expect(unchanged?.checkpoint.entries.get(TOTALS)?.sequence).toBe('103');
    // The record between them comes late, out of order: its contribution (700) must not win.
    await deliver(store, [orderRecord('102', bigger, placed)], 10, [customerTotals]);
    expect(writes).toHaveLength(2);
    expect(await readAllRows(store, customerTotals)).toEqual([{ key: 'c-1', value: { orders: 1, amount: 500 } }]);
  });
});

describe('a key whose parts land apart', () => {
  /**
   * The view row and the sums' transaction of one key are written independently. Whichever lands first, the
   * key is planned again from a fresh read, and the second plan writes exactly the part that had not landed:
   * the same sum deltas and entries, or the same row, and nothing of the part that did.
   */
  async function landingApart(failing: WritePart['kind']) {
    const store = new MemoryReadModelStore();
    const attempts: KeyWrite[] = [];
    let failed = 0;
    store.interceptPart = (write, part): CommitOutcome | undefined => {
      if (write.key.id !== firstKey) return undefined;
      if (part.kind === 'transaction') attempts.push(write);
      if (part.kind !== failing || failed >= 3) return undefined;
      failed += 1;
      return { status: 'conflict' };
    };
    await deliver(store, workload.records);
    expect(failed).toBe(3);
    return { store, attempts };
  }

  it('a view row that landed is not written again when the sums conflict, and the sums land as planned', async () => {
    const clean = new MemoryReadModelStore();
    await deliver(clean, workload.records);
    const { store, attempts } = await landingApart('transaction');
    await expectMatchesTruth(store, workload.finalItems);
    expect(await snapshot(store)).toEqual(await snapshot(clean));
    // Each retry of a conflicted transaction carries the same sums and entries, and no view row.
    const [first, second] = attempts;
    expect(first?.views.length).toBe(1);
    expect(second?.views).toEqual([]);
    expect(second?.sums).toEqual(first?.sums);
    expect(second?.checkpoint.entries.get(TOTALS)).toEqual(first?.checkpoint.entries.get(TOTALS));
  });

  it('sums that landed are not added again when the view row conflicts, and the row lands as planned', async () => {
    const clean = new MemoryReadModelStore();
    await deliver(clean, workload.records);
    const { store } = await landingApart('row');
    expect(await differencesFromTruth(store, workload.finalItems)).toEqual([]);
    expect(await snapshot(store)).toEqual(await snapshot(clean));
  });
});

function keyIdOf(record: Record<string, unknown>): string | undefined {
  const keys = (record.dynamodb as { Keys?: unknown }).Keys;
  return keys === undefined ? undefined : itemKeyFromKeys(keys, 'Keys').id;
}

/** Everything a reader sees, for comparing two stores. */
async function snapshot(store: MemoryReadModelStore) {
  return {
    orders: await readAllRows(store, orderView),
    totals: await readAllRows(store, customerTotals),
  };
}
