import fc from 'fast-check';
import { runtimesOf } from '../../src/catalog/lanes.js';
import { StreamConsumer } from '../../src/consumer/consumer.js';
import { silentLogger } from '../../src/core/logging.js';
import type { Difference } from '../../demo/orders-truth.js';
import { differencesFromTruth } from '../support/expectations.js';
import { seededRandom } from '../../src/testing/random.js';
import type { ReadModelReader, ReadModelStore } from '../../src/projection/ports.js';
import { ProjectionRuntime } from '../../src/projection/runtime.js';
import { Rebuilder } from '../../src/rebuild/rebuilder.js';
import { compareSequences } from '../../src/records/sequence.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import examples from '../../projections/index.js';
import { Crashed, FaultyStore, type StoreFaults } from '../support/faulty-store.js';
import { MemoryGenerationRegistry, MemoryRebuildStateStore, MemorySourceScanner } from '../support/memory-rebuild.js';
import { noSleep } from '../support/messages.js';

/** Real stream records read from DynamoDB Local, and the table they left behind. */
export interface Workload {
  readonly records: readonly Record<string, unknown>[];
  /** A scan of the final table: the ground truth. */
  readonly finalItems: readonly Record<string, unknown>[];
}

/** One way an unkind event source mapping, a failing store and a dying container could treat the records. */
export interface Scenario {
  readonly seed: number;
  /** Orders taken from the workload: fewer orders, more contention on the same customers. */
  readonly orders: number;
  readonly shards: number;
  /** ParallelizationFactor: keys of one shard are split over this many concurrent lanes. */
  readonly lanes: number;
  readonly batchSize: number;
  readonly duplicateRate: number;
  readonly redeliverRate: number;
  readonly bisect: boolean;
  /** Two consumers on one read model: two Lambda instances, each handed every record. */
  readonly consumers: 1 | 2;
  /** A rebuild from a scan of the final table runs beside the live consumers. */
  readonly rebuild: boolean;
  readonly faults: StoreFaults;
}

const rate = (max: number) => fc.double({ min: 0, max, noNaN: true });

export const scenarios: fc.Arbitrary<Scenario> = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  orders: fc.integer({ min: 3, max: 40 }),
  shards: fc.integer({ min: 1, max: 3 }),
  lanes: fc.integer({ min: 1, max: 3 }),
  batchSize: fc.integer({ min: 1, max: 30 }),
  duplicateRate: rate(0.3),
  redeliverRate: rate(0.4),
  bisect: fc.boolean(),
  consumers: fc.constantFrom(1 as const, 2 as const),
  rebuild: fc.boolean(),
  faults: fc.record({
    conflict: rate(0.15),
    throttle: rate(0.15),
    unknownOutcome: rate(0.15),
    crash: rate(0.1),
    loadFailure: rate(0.1),
  }),
});

export interface ScenarioReport {
  readonly differences: Difference[];
  readonly invocations: number;
  readonly injected: Record<keyof StoreFaults, number>;
}

const MAX_INVOCATIONS_PER_LANE = 5_000;

/**
 * Delivers the workload under the scenario and compares the read models with the truth, row by row and
 * field by field. `storeOf` lets a test swap in a broken store to prove the harness catches it.
 */
export async function runScenario(
  workload: Workload,
  scenario: Scenario,
  storeOf: () => ReadModelStore & ReadModelReader = () => new MemoryReadModelStore(),
): Promise<ScenarioReport> {
  const random = seededRandom(scenario.seed);
  const orderIds = [...new Set(workload.records.map(orderIdOf))].slice(0, scenario.orders);
  const chosen = new Set(orderIds);
  const records = workload.records.filter((record) => chosen.has(orderIdOf(record)));
  const finalItems = workload.finalItems.filter((item) => chosen.has(String(item.orderId)));
  const store = storeOf();
  const injected = { conflict: 0, throttle: 0, unknownOutcome: 0, crash: 0, loadFailure: 0 };
  let invocations = 0;

  const consumerOf = (): { consumer: StreamConsumer; faulty: FaultyStore } => {
    const faulty = new FaultyStore(store, random, scenario.faults);
    const runtime = runtimesOf(examples, faulty, silentLogger, { sleep: noSleep, maxRounds: 12 });
    return { consumer: new StreamConsumer(runtime, silentLogger), faulty };
  };

  // Records of one item go to one shard, and within it to one lane, in stream order, as DynamoDB and
  // Lambda's ParallelizationFactor do. Duplicates are slipped in a little later than the original.
  const lanes = new Map<string, Record<string, unknown>[]>();
  for (const record of records) {
    const hash = hashOf(orderIdOf(record));
    const lane = `${hash % scenario.shards}/${Math.floor(hash / scenario.shards) % scenario.lanes}`;
    lanes.set(lane, [...(lanes.get(lane) ?? []), record]);
  }
  for (const [lane, laneRecords] of lanes) {
    const withDuplicates = [...laneRecords];
    for (const record of laneRecords) {
      if (random() < scenario.duplicateRate) {
        const at = Math.min(withDuplicates.length, withDuplicates.indexOf(record) + 1 + Math.floor(random() * 5));
        withDuplicates.splice(at, 0, record);
      }
    }
    lanes.set(lane, withDuplicates);
  }

  const deliverLane = async (laneRecords: readonly Record<string, unknown>[]): Promise<void> => {
    let live = consumerOf();
    const invoke = async (batch: readonly Record<string, unknown>[]): Promise<string | 'crashed' | undefined> => {
      invocations += 1;
      const report = await live.consumer.process(batch).catch((error: unknown) => {
        if (error instanceof Crashed) return undefined;
        throw error;
      });
      if (live.faulty.crashed || report === undefined) {
        add(injected, live.faulty.injected);
        live = consumerOf(); // a new container
        return 'crashed';
      }
      return report.batchItemFailures[0]?.itemIdentifier;
    };
    // A batch as Lambda handles it: retried from the lowest failure reported, retried whole (or bisected)
    // after a function error, sometimes delivered again after it succeeded.
    const handle = async (batch: readonly Record<string, unknown>[], depth: number): Promise<void> => {
      let pending = batch;
      for (let attempt = 0; pending.length > 0; attempt += 1) {
        if (invocations > MAX_INVOCATIONS_PER_LANE * 10) throw new Error('the consumer never caught up');
        const outcome = await invoke(pending);
        if (outcome === 'crashed') {
          if (scenario.bisect && pending.length > 1 && depth < 8) {
            const middle = Math.ceil(pending.length / 2);
            await handle(pending.slice(0, middle), depth + 1);
            await handle(pending.slice(middle), depth + 1);
            return;
          }
          continue;
        }
        if (outcome === undefined) {
          if (random() < scenario.redeliverRate) await invoke(pending); // at least once: the same batch again
          return;
        }
        pending = pending.filter((record) => compareSequences(identifierOf(record), outcome) >= 0);
      }
    };
    for (let start = 0; start < laneRecords.length; start += scenario.batchSize) {
      await handle(laneRecords.slice(start, start + scenario.batchSize), 0);
    }
    add(injected, live.faulty.injected);
  };

  const work: Promise<void>[] = [];
  for (let consumer = 0; consumer < scenario.consumers; consumer += 1) {
    for (const laneRecords of lanes.values()) work.push(deliverLane(laneRecords));
  }
  if (scenario.rebuild) work.push(rebuildBeside(store, records, random, scenario.faults));
  await Promise.all(work);

  return {
    differences: await differencesFromTruth(store, finalItems),
    invocations,
    injected,
  };
}

/**
 * Rebuilds every projection from a scan of the final table while the live consumers run, restarting
 * (and so resuming) after a crash, as an operator would.
 */
async function rebuildBeside(
  store: ReadModelStore,
  records: readonly Record<string, unknown>[],
  random: () => number,
  faults: StoreFaults,
): Promise<void> {
  const finalImages = new Map<string, Record<string, unknown> | undefined>();
  for (const record of records) finalImages.set(orderIdOf(record), (record.dynamodb as { NewImage?: Record<string, unknown> }).NewImage);
  const items = [...finalImages.values()].filter((image): image is Record<string, unknown> => image !== undefined);
  const states = new MemoryRebuildStateStore();
  const registry = new MemoryGenerationRegistry();
  for (const projection of examples) {
    for (let attempt = 0; ; attempt += 1) {
      const faulty = new FaultyStore(store, random, faults);
      const [runtime] = runtimesOf([projection], faulty, silentLogger, { sleep: noSleep, maxRounds: 12 }) as [ProjectionRuntime];
      const rebuilder = new Rebuilder(projection, runtime, new MemorySourceScanner(items, ['orderId']), states, registry, silentLogger, {
        now: Date.now,
        sleep: noSleep,
      });
      try {
        await rebuilder.run({ segments: 3, pageSize: 4 });
        break;
      } catch (error) {
        if (attempt > 200) throw error;
      }
    }
  }
}

function add(total: Record<keyof StoreFaults, number>, more: Record<keyof StoreFaults, number>): void {
  for (const name of Object.keys(total) as (keyof StoreFaults)[]) total[name] += more[name];
}

function orderIdOf(record: Record<string, unknown>): string {
  return (record.dynamodb as { Keys: { orderId: { S: string } } }).Keys.orderId.S;
}

function identifierOf(record: Record<string, unknown>): string {
  return (record.dynamodb as { SequenceNumber: string }).SequenceNumber;
}

function hashOf(text: string): number {
  let hash = 0;
  for (const character of text) hash = (hash * 31 + character.charCodeAt(0)) >>> 0;
  return hash;
}
