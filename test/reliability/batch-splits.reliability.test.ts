import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { defineProjection, type Projection } from '../../src/projection/define.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { Decimal } from '../../src/records/decimal.js';
import { itemKeyFromKeys } from '../../src/records/item-key.js';
import { MemoryDeadLetterStore } from '../../src/testing/memory-dead-letters.js';
import { testConsumer } from '../support/consumers.js';
import { streamRecord, wire } from '../support/records.js';
import { DynamoDbLimitedStore } from './processes.js';

/**
 * A read model must not depend on how Lambda cut the records into batches: one record a batch is the
 * sequential fold the adversary's truth computes. View rows are checked at every record's step; sum totals at
 * every step once DynamoDB has refused one (the totals are then known). The one case left, a total that only a
 * record in the middle of a batch would overflow, is a documented limit (`it.fails`).
 */
const Doc = z.object({ id: z.string(), text: z.string().optional(), amount: z.bigint().or(z.number()).optional() });

/** A history view that keeps each text until the doc is removed. */
const texts = defineProjection({
  name: 'texts',
  version: 1,
  kind: 'view',
  schema: Doc,
  evolve: (state: { texts: string[] } | undefined, event) => (event.kind === 'remove' ? undefined : { texts: [...(state?.texts ?? []), event.newImage?.text ?? ''] }),
}) as Projection;

const totals = (onPoison: 'wait' | 'skip') =>
  defineProjection({ name: 'totals', version: 1, kind: 'sum', schema: Doc, onPoison, contribute: (doc) => ({ g: { amount: doc.amount ?? 0 } }) }) as Projection;

const doc = (sequence: string, fields: Record<string, unknown> | undefined, eventName: 'INSERT' | 'MODIFY' | 'REMOVE' = 'MODIFY') =>
  streamRecord({ eventName, keys: { id: { S: 'd' } }, sequence, ...(fields === undefined ? {} : { newImage: wire({ id: 'd', ...fields }) }), viewType: 'NEW_IMAGE', table: 'Docs' });

/** The read model and what is parked after the batches, the group `g` opening at 5E+38 for sums. */
async function outcome(projection: Projection, batches: readonly (readonly unknown[])[]) {
  const store = new DynamoDbLimitedStore();
  await store.commit([
    {
      key: itemKeyFromKeys({ id: { S: 'opening' } }, 'key'),
      parked: [],
      expectedRevision: undefined,
      checkpoint: { revision: 1, entries: new Map() },
      views: [],
      sums: [{ generation: 'totals#v1', group: 'g', shards: 1, amounts: new Map([['amount', Decimal.parse('5E+38')]]) }],
    },
  ]);
  const deadLetters = new MemoryDeadLetterStore();
  const consumer = testConsumer(store, [projection], deadLetters);
  for (const batch of batches) expect((await consumer.process(batch)).batchItemFailures).toEqual([]);
  const rows = (await readAllRows(store, projection)).map((row) => JSON.stringify(row.value, (_, value: unknown) => (typeof value === 'bigint' ? value.toString() : value)));
  const parked = [...deadLetters.records.values()].map((record) => `${record.sequence}:${record.reason}`).sort();
  return { rows, parked };
}

async function expectSameWhateverTheBatches(projection: Projection, records: readonly unknown[]) {
  const oneByOne = await outcome(projection, records.map((record) => [record]));
  expect(await outcome(projection, [records])).toEqual(oneByOne);
}

/** 10^37·3 plus a units digit: with the 5E+38 opening balance, a total that needs 39 digits. */
const overflowing = 3n * 10n ** 37n + 7n;

describe('a write refused for good, whatever the batches', () => {
  it('the same when the refused record is the batch\'s last', async () => {
    await expectSameWhateverTheBatches(texts, [doc('101', { text: 'a'.repeat(300_000) }, 'INSERT'), doc('102', { text: 'b'.repeat(200_000) })]);
    await expectSameWhateverTheBatches(totals('wait'), [doc('101', { amount: 10n ** 20n }, 'INSERT'), doc('102', { amount: overflowing })]);
  });

  it('a view row over 400 KB that a later record of the batch deletes', async () => {
    // One by one: 102 is refused (the row would be 500 KB), 103 waits behind it, the row stays at 101.
    // In one batch: the net write deletes the row, nothing is parked.
    await expectSameWhateverTheBatches(texts, [doc('101', { text: 'a'.repeat(300_000) }, 'INSERT'), doc('102', { text: 'b'.repeat(200_000) }), doc('103', undefined, 'REMOVE')]);
  });

  // A sum's stored totals are not read before writing (that would cost a read per group per batch): a total
  // that only an intermediate record of the batch would pass 38 digits with is never written, so DynamoDB never
  // refuses it, while one record a batch it is refused and the item waits behind it (README: Poison records).
  it.fails('known limit: a total past 38 digits that a later record of the same batch moves back (wait)', async () => {
    // One by one: 102 is refused, 103 waits behind it, the total keeps 101's amount.
    // In one batch: the net write moves the total from 101's amount to 103's, nothing is parked.
    await expectSameWhateverTheBatches(totals('wait'), [doc('101', { amount: 10n ** 20n }, 'INSERT'), doc('102', { amount: overflowing }), doc('103', { amount: 2n * 10n ** 20n })]);
  });

  it('three refused totals in a row, at the end of a batch (skip)', async () => {
    // One by one: 103-105 are refused, the doc keeps 102's amount. In one batch: after three refused writes
    // every record the projection applied is blamed, 101 and 102 included, and the doc counts for nothing.
    await expectSameWhateverTheBatches(totals('skip'), [
      doc('101', { amount: 10n ** 20n }, 'INSERT'),
      doc('102', { amount: 2n * 10n ** 20n }),
      doc('103', { amount: overflowing + 1n }),
      doc('104', { amount: overflowing + 2n }),
      doc('105', { amount: overflowing }),
    ]);
  });
});
