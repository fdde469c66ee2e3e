import fc from 'fast-check';
import { runtimesOf } from '../../src/catalog/lanes.js';
import { StreamConsumer } from '../../src/consumer/consumer.js';
import { silentLogger } from '../../src/core/logging.js';
import type { Difference } from '../../demo/orders-truth.js';
import { differencesFromTruth } from '../support/expectations.js';
import { seededRandom } from '../../src/testing/random.js';
import type { AnyProjection } from '../../src/catalog/kinds.js';
import type { ReadModelReader, ReadModelStore } from '../../src/projection/ports.js';
import type { ProjectionRuntime } from '../../src/projection/runtime.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import examples from '../../projections/index.js';
import { FaultyStore, type StoreFaults } from '../support/faulty-store.js';
import { noSleep } from '../support/messages.js';
import { deliver, deliveryPlans, noFaultsInjected, storeFaults, type DeliveryPlan } from './delivery.js';
import { rebuildBeside } from './rebuild-beside.js';

/** Real stream records read from DynamoDB Local, and the table they left behind. */
export interface Workload {
  readonly records: readonly Record<string, unknown>[];
  /** A scan of the final table: the ground truth. */
  readonly finalItems: readonly Record<string, unknown>[];
}

/** One way an unkind event source mapping, a failing store and a dying container could treat the records. */
export interface Scenario extends DeliveryPlan {
  readonly seed: number;
  /** Orders taken from the workload: fewer orders, more contention on the same customers. */
  readonly orders: number;
  /** A rebuild from a scan of the final table runs beside the live consumers. */
  readonly rebuild: boolean;
  readonly faults: StoreFaults;
}

export const scenarios: fc.Arbitrary<Scenario> = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  orders: fc.integer({ min: 3, max: 40 }),
  ...deliveryPlans,
  rebuild: fc.boolean(),
  faults: storeFaults,
});

export interface ScenarioReport {
  readonly differences: Difference[];
  readonly invocations: number;
  readonly injected: Record<keyof StoreFaults, number>;
}

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
  const injected = noFaultsInjected();
  const runtimesIn = (projections: readonly AnyProjection[]) => {
    const faulty = new FaultyStore(store, random, scenario.faults);
    return { faulty, runtimes: runtimesOf(projections, faulty, silentLogger, { sleep: noSleep, maxRounds: 12 }) };
  };
  const newContainer = () => {
    const { faulty, runtimes } = runtimesIn(examples);
    return { consumer: new StreamConsumer(runtimes, silentLogger), crashed: () => faulty.crashed, injected: faulty.injected };
  };
  const work: Promise<unknown>[] = [deliver(records, scenario, random, orderIdOf, newContainer, injected)];
  if (scenario.rebuild) {
    const finalImages = new Map<string, Record<string, unknown> | undefined>();
    for (const record of records) finalImages.set(orderIdOf(record), (record.dynamodb as { NewImage?: Record<string, unknown> }).NewImage);
    const items = [...finalImages.values()].filter((image): image is Record<string, unknown> => image !== undefined);
    work.push(rebuildBeside(examples, items, ['orderId'], (projection) => runtimesIn([projection]).runtimes[0] as ProjectionRuntime));
  }
  const [invocations] = (await Promise.all(work)) as [number];

  return {
    differences: await differencesFromTruth(store, finalItems),
    invocations,
    injected,
  };
}

function orderIdOf(record: Record<string, unknown>): string {
  return (record.dynamodb as { Keys: { orderId: { S: string } } }).Keys.orderId.S;
}
