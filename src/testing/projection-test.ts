import { chunk } from '../core/concurrency.js';
import { StreamConsumer } from '../consumer/consumer.js';
import { toExactJson } from '../records/json.js';
import { silentLogger } from '../core/logging.js';
import { seededRandom, shuffle } from './random.js';
import type { Projection } from '../projection/define.js';
import type { ReadModelRow } from '../projection/ports.js';
import { readAllRows } from '../projection/read-model.js';
import { runtimesOf } from '../catalog/lanes.js';
import { encodeItem } from '../records/attribute-value.js';
import { MemoryDeadLetterStore } from './memory-dead-letters.js';
import { MemoryReadModelStore } from './memory-store.js';

/** A change to the source table, as a test states it: put an item (insert or replace), or remove one. */
export type TableChange = { readonly put: Record<string, unknown> } | { readonly remove: Record<string, unknown> };

export const put = (item: Record<string, unknown>): TableChange => ({ put: item });
export const remove = (key: Record<string, unknown>): TableChange => ({ remove: key });

/** How the stream delivers the records: as DynamoDB does, or as an unkind Lambda event source mapping may. */
export type Delivery = 'in order' | 'shuffled' | 'duplicated' | 'twice' | 'redelivered batches';
export const ALL_DELIVERIES: readonly Delivery[] = ['in order', 'shuffled', 'duplicated', 'twice', 'redelivered batches'];

export interface ExpectOptions {
  readonly deliveries?: readonly Delivery[];
  readonly seed?: number;
}

export interface ProjectionTestOptions {
  /** The source table's key attributes: the partition key, and the sort key if any. */
  readonly key: readonly string[];
}

/**
 * A projection test without DynamoDB: given changes (or stream records), delivered in order, shuffled,
 * duplicated or twice, the read model is exactly this. It runs the real runtime on an in-memory store.
 *
 *     await projectionTest(customerTotals, { key: ['orderId'] })
 *       .given([put(order), put({ ...order, customerId: 'c-2' })])
 *       .expectRows([{ key: 'c-2', value: { orders: 1, amount: 5 } }]);
 */
export function projectionTest(projection: Projection, options: ProjectionTestOptions) {
  return {
    given: (changes: readonly TableChange[]) => scenario(projection, () => recordsOf(changes, options.key)),
    givenRecords: (records: readonly unknown[]) => scenario(projection, () => [...records]),
  };
}

function scenario(projection: Projection, records: () => unknown[]) {
  const rows = async (delivery: Delivery = 'in order', seed = 1): Promise<ReadModelRow[]> => {
    const store = new MemoryReadModelStore();
    const runtimes = runtimesOf([projection], store, silentLogger, { deadLetters: new MemoryDeadLetterStore(), sleep: async () => {} });
    const consumer = new StreamConsumer(runtimes, silentLogger);
    for (const batch of deliver(records(), delivery, seed)) {
      const report = await consumer.process(batch);
      if (report.batchItemFailures.length > 0) {
        throw new Error(`delivery "${delivery}": the batch failed: ${report.errors.map((error) => error.message).join('; ')}`);
      }
    }
    return readAllRows(store, projection);
  };
  return {
    rows,
    /** Checks every delivery (or those given) against the expected rows; throws naming the first that differs. */
    async expectRows(expected: readonly ReadModelRow[], expectOptions: ExpectOptions = {}): Promise<void> {
      const want = canonical(expected);
      for (const delivery of expectOptions.deliveries ?? ALL_DELIVERIES) {
        const got = canonical(await rows(delivery, expectOptions.seed ?? 1));
        if (got !== want) {
          throw new Error(
            `${projection.name}, delivered ${delivery} (seed ${expectOptions.seed ?? 1}):\n  expected ${want}\n  got      ${got}`,
          );
        }
      }
    },
  };
}

function canonical(rows: readonly ReadModelRow[]): string {
  return `[${rows
    .map((row) => toExactJson(row))
    .sort()
    .join(',')}]`;
}

/** Stream records for the changes, as DynamoDB would write them: one per effective change, images exact. */
export function recordsOf(changes: readonly TableChange[], keyAttributes: readonly string[]): unknown[] {
  const items = new Map<string, Record<string, unknown>>();
  const records: unknown[] = [];
  let sequence = 10n ** 20n;
  for (const change of changes) {
    const source = 'put' in change ? change.put : change.remove;
    const keys = Object.fromEntries(keyAttributes.map((name) => [name, source[name]]));
    const id = toExactJson(keys);
    const previous = items.get(id);
    if ('remove' in change && previous === undefined) continue;
    sequence += 1_000n;
    const next = 'put' in change ? change.put : undefined;
    if (next === undefined) items.delete(id);
    else items.set(id, next);
    records.push({
      eventID: `test-${sequence}`,
      eventName: next === undefined ? 'REMOVE' : previous === undefined ? 'INSERT' : 'MODIFY',
      eventSource: 'aws:dynamodb',
      tableName: 'Test',
      dynamodb: {
        ApproximateCreationDateTime: 1_764_000_000 + records.length,
        Keys: encodeItem(keys),
        ...(next === undefined ? {} : { NewImage: encodeItem(next) }),
        ...(previous === undefined ? {} : { OldImage: encodeItem(previous) }),
        SequenceNumber: sequence.toString(),
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
  }
  return records;
}

function deliver(records: readonly unknown[], delivery: Delivery, seed: number): unknown[][] {
  const random = seededRandom(seed);
  switch (delivery) {
    case 'in order':
      return chunk(records, 10);
    case 'shuffled':
      return chunk(shuffle(random, records), 7);
    case 'duplicated':
      return chunk(shuffle(random, [...records, ...records]), 7);
    case 'twice':
      return [...chunk(records, 10), ...chunk(records, 10)];
    case 'redelivered batches':
      return chunk(records, 5).flatMap((batch) => [batch, batch]);
    default: {
      const unknown: never = delivery;
      throw new Error(`unknown delivery ${String(unknown)}`);
    }
  }
}
