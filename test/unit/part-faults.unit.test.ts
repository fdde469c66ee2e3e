import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { ordersWorkload } from '../../demo/orders-workload.js';
import { defineProjection } from '../../src/projection/define.js';
import { readAllRows } from '../../src/projection/read-model.js';
import type { CommitOutcome } from '../../src/projection/ports.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import { seededRandom } from '../../src/testing/random.js';
import { batches, testConsumer } from '../support/consumers.js';
import { differencesFromTruth } from '../support/expectations.js';
import { simulateOrders } from '../support/simulated-table.js';
import examples from '../../projections/index.js';

const workload = simulateOrders(ordersWorkload({ seed: 21, operations: 260, customers: 4, maxOrders: 30 }));

/** A view whose row depends on its history: a row folded twice, or folded on a stale read, counts wrong. */
const changes = defineProjection({
  name: 'changes',
  version: 1,
  kind: 'view',
  schema: z.object({ orderId: z.string() }).loose(),
  evolve: (state: { n: number } | undefined, event) => (event.kind === 'remove' ? undefined : { n: (state?.n ?? 0) + 1 }),
});
const projections = [...examples, changes];

/** How many changes each order left in the table had: what `changes` must count. */
function expectedChanges(): Map<string, number> {
  const live = new Set(workload.finalItems.map((item) => String(item.orderId)));
  const counts = new Map<string, number>();
  for (const record of workload.records) {
    const orderId = (record.dynamodb as { Keys: { orderId: { S: string } } }).Keys.orderId.S;
    if (live.has(orderId)) counts.set(orderId, (counts.get(orderId) ?? 0) + 1);
  }
  return counts;
}

/**
 * Each part of a key's write (a view row with its checkpoint entry, the sums' transaction) fails or loses
 * its answer by itself, as it can on DynamoDB where they are separate requests: whatever landed, Lambda's
 * retries (from the lowest failed record), redelivered batches, duplicates and a second consumer leave the
 * read models at the truth, a view that counts its history included (it would count a record twice, or
 * miss one, if a row were written over a version it did not read).
 */
describe('parts of a key\'s write that land apart, at random', () => {
  it('never lose or double an effect, with duplicates, redelivery and two consumers, in a view that counts its history too', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          batchSize: fc.integer({ min: 1, max: 25 }),
          conflict: fc.double({ min: 0, max: 0.3, noNaN: true }),
          lost: fc.double({ min: 0, max: 0.3, noNaN: true }),
          consumers: fc.constantFrom(1, 2),
        }),
        async ({ seed, batchSize, conflict, lost, consumers }) => {
          const random = seededRandom(seed);
          const store = new MemoryReadModelStore();
          store.interceptPart = (): CommitOutcome | undefined => (random() < conflict ? { status: 'conflict' } : undefined);
          store.loseAnswer = () => random() < lost;
          // Each consumer gets every record, in stream order, some twice (a little later), some batches again.
          const deliveries = Array.from({ length: consumers }, () => {
            const records = workload.records.flatMap((record, index) => (random() < 0.1 ? [record, workload.records[Math.max(0, index - 3)] ?? record] : [record]));
            return batches(records, batchSize).flatMap((batch) => (random() < 0.2 ? [batch, batch] : [batch]));
          });
          await Promise.all(
            deliveries.map(async (delivery) => {
              const consumer = testConsumer(store, projections);
              for (const batch of delivery) {
                let pending = batch;
                for (let attempt = 0; pending.length > 0; attempt += 1) {
                  if (attempt > 50) throw new Error('a batch never went through');
                  const failed = (await consumer.process(pending)).batchItemFailures[0]?.itemIdentifier;
                  pending = failed === undefined ? [] : pending.filter((record) => BigInt(sequenceOf(record)) >= BigInt(failed));
                }
              }
            }),
          );
          expect(await differencesFromTruth(store, workload.finalItems)).toEqual([]);
          const counted = new Map((await readAllRows(store, changes)).map((row) => [(row.key as { orderId: string }).orderId, (row.value as { n: number }).n]));
          expect(counted).toEqual(expectedChanges());
        },
      ),
      { numRuns: 60 },
    );
  });
});

function sequenceOf(record: Record<string, unknown>): string {
  return (record.dynamodb as { SequenceNumber: string }).SequenceNumber;
}
