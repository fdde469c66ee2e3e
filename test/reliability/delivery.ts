import fc from 'fast-check';
import type { StreamConsumer } from '../../src/consumer/consumer.js';
import { compareSequences } from '../../src/records/sequence.js';
import { Crashed, type StoreFaults } from '../support/faulty-store.js';

/** How an unkind event source mapping hands records over: shards, lanes, batches, duplicates, redelivery. */
export interface DeliveryPlan {
  readonly shards: number;
  /** ParallelizationFactor: keys of one shard are split over this many concurrent lanes. */
  readonly lanes: number;
  readonly batchSize: number;
  readonly duplicateRate: number;
  readonly redeliverRate: number;
  readonly bisect: boolean;
  /** Two consumers on one read model: two Lambda instances, each handed every record. */
  readonly consumers: 1 | 2;
}

export const rate = (max: number) => fc.double({ min: 0, max, noNaN: true });

export const deliveryPlans = {
  shards: fc.integer({ min: 1, max: 3 }),
  lanes: fc.integer({ min: 1, max: 3 }),
  batchSize: fc.integer({ min: 1, max: 30 }),
  duplicateRate: rate(0.3),
  redeliverRate: rate(0.4),
  bisect: fc.boolean(),
  consumers: fc.constantFrom(1 as const, 2 as const),
};

export const storeFaults: fc.Arbitrary<StoreFaults> = fc.record({
  conflict: rate(0.15),
  throttle: rate(0.15),
  unknownOutcome: rate(0.15),
  crash: rate(0.1),
  loadFailure: rate(0.1),
});

/** One Lambda container: its consumer, whether it has died, and what was injected into it. */
export interface Container {
  readonly consumer: StreamConsumer;
  crashed(): boolean;
  readonly injected: Record<keyof StoreFaults, number>;
  /** Told when the container is done with (it died, or the deliveries ended). */
  retire?(): void;
}

export const noFaultsInjected = (): Record<keyof StoreFaults, number> => ({ conflict: 0, throttle: 0, unknownOutcome: 0, crash: 0, loadFailure: 0 });

export function addInjected(total: Record<keyof StoreFaults, number>, more: Record<keyof StoreFaults, number>): void {
  for (const name of Object.keys(total) as (keyof StoreFaults)[]) total[name] += more[name];
}

const MAX_INVOCATIONS = 50_000;

/**
 * Delivers records as Lambda would, to containers that die and are replaced: records of one item go to one
 * shard, and within it to one lane, in stream order, as DynamoDB and ParallelizationFactor do; duplicates are
 * slipped in a little later than the original. A batch is retried from the lowest failure reported, retried
 * whole (or bisected) after a function error, and sometimes delivered again after it succeeded.
 * `onInvocation` is told of every invocation, so other work (a redrive) can be started among them.
 */
export async function deliver(
  records: readonly Record<string, unknown>[],
  plan: DeliveryPlan,
  random: () => number,
  keyOf: (record: Record<string, unknown>) => string,
  newContainer: () => Container,
  injected: Record<keyof StoreFaults, number>,
  onInvocation: (count: number) => void = () => undefined,
): Promise<number> {
  let invocations = 0;
  const retire = (container: Container) => {
    addInjected(injected, container.injected);
    container.retire?.();
  };
  const lanes = new Map<string, Record<string, unknown>[]>();
  for (const record of records) {
    const hash = hashOf(keyOf(record));
    const lane = `${hash % plan.shards}/${Math.floor(hash / plan.shards) % plan.lanes}`;
    lanes.set(lane, [...(lanes.get(lane) ?? []), record]);
  }
  for (const [lane, laneRecords] of lanes) {
    const withDuplicates = [...laneRecords];
    for (const record of laneRecords) {
      if (random() < plan.duplicateRate) {
        const at = Math.min(withDuplicates.length, withDuplicates.indexOf(record) + 1 + Math.floor(random() * 5));
        withDuplicates.splice(at, 0, record);
      }
    }
    lanes.set(lane, withDuplicates);
  }

  const deliverLane = async (laneRecords: readonly Record<string, unknown>[]): Promise<void> => {
    let live = newContainer();
    const invoke = async (batch: readonly Record<string, unknown>[]): Promise<string | 'crashed' | undefined> => {
      invocations += 1;
      onInvocation(invocations);
      const report = await live.consumer.process(batch).catch((error: unknown) => {
        if (error instanceof Crashed) return undefined;
        throw error;
      });
      if (live.crashed() || report === undefined) {
        retire(live);
        live = newContainer(); // a new container
        return 'crashed';
      }
      return report.batchItemFailures[0]?.itemIdentifier;
    };
    const handle = async (batch: readonly Record<string, unknown>[], depth: number): Promise<void> => {
      let pending = batch;
      while (pending.length > 0) {
        if (invocations > MAX_INVOCATIONS) throw new Error('the consumer never caught up');
        const outcome = await invoke(pending);
        if (outcome === 'crashed') {
          if (plan.bisect && pending.length > 1 && depth < 8) {
            const middle = Math.ceil(pending.length / 2);
            await handle(pending.slice(0, middle), depth + 1);
            await handle(pending.slice(middle), depth + 1);
            return;
          }
          continue;
        }
        if (outcome === undefined) {
          if (random() < plan.redeliverRate) await invoke(pending); // at least once: the same batch again
          return;
        }
        pending = pending.filter((record) => compareSequences(sequenceOf(record), outcome) >= 0);
      }
    };
    for (let start = 0; start < laneRecords.length; start += plan.batchSize) {
      await handle(laneRecords.slice(start, start + plan.batchSize), 0);
    }
    retire(live);
  };

  const work: Promise<void>[] = [];
  for (let consumer = 0; consumer < plan.consumers; consumer += 1) {
    for (const laneRecords of lanes.values()) work.push(deliverLane(laneRecords));
  }
  await Promise.all(work);
  return invocations;
}

export function sequenceOf(record: Record<string, unknown>): string {
  return (record.dynamodb as { SequenceNumber: string }).SequenceNumber;
}

function hashOf(text: string): number {
  let hash = 0;
  for (const character of text) hash = (hash * 31 + character.charCodeAt(0)) >>> 0;
  return hash;
}
