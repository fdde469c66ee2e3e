import fc from 'fast-check';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDbDeadLetterStore } from '../../adapters/dynamodb/dead-letters.js';
import { StreamConsumer } from '../../src/consumer.js';
import { lanesOf } from '../../src/lanes.js';
import { silentLogger } from '../../src/logging.js';
import { seededRandom, shuffle } from '../../src/local/random.js';
import { generationOf, type Projection } from '../../src/projection/define.js';
import type { AnyProjection } from '../../src/projection/kinds.js';
import type { Lane } from '../../src/projection/lane.js';
import type { DeadLetterStore, ParkedRecord, ReadModelReader, ReadModelStore } from '../../src/projection/ports.js';
import { Redriver } from '../../src/projection/redrive.js';
import { ProjectionRuntime } from '../../src/projection/runtime.js';
import { Decimal } from '../../src/records/decimal.js';
import { itemKeyFromKeys } from '../../src/records/item-key.js';
import { FaultyStore, type StoreFaults } from '../support/faulty-store.js';
import { MemoryDynamoDbClient, MemoryDynamoDbTable, type TableFaults } from '../support/memory-dynamodb-table.js';
import { noSleep } from '../support/messages.js';
import { deliver, deliveryPlans, noFaultsInjected, rate, storeFaults, type DeliveryPlan } from './delivery.js';
import { docsDifferences } from './docs-differences.js';
import { fixedDocProjections, fixedStreamHistory, liveDocProjections, liveStreamHistory, rebuiltDocProjections } from './docs-projections.js';
import { docsTruth, keyText, streamsTruth, type RawRecord } from './docs-truth.js';
import { ANCHOR_AMOUNT, GROUPS } from './docs-workload.js';
import { DynamoDbLimitedStore, Fate, ProcessStore } from './processes.js';
import { rebuildBeside } from './rebuild-beside.js';

/** The `Docs` workload's real stream records and final table, and which item is the heavy one; the same of `DocEvents`. */
export interface PoisonWorkload {
  readonly records: readonly RawRecord[];
  readonly finalItems: readonly Record<string, AttributeValue>[];
  readonly heavyKey: string;
  readonly eventRecords: readonly RawRecord[];
  readonly eventItems: readonly Record<string, AttributeValue>[];
}

/**
 * Poison under an unkind delivery: the live consumers run projections with a bug (a stage they do not know),
 * redrives with the fixed projections race them, and a last redrive is made to die after each of its writes
 * in turn before it is run to the end.
 */
export interface PoisonScenario extends DeliveryPlan {
  readonly seed: number;
  /** Items taken from the workload, besides the heavy one. */
  readonly docs: number;
  /** Whether the heavy item (a record too large to park whole) is among them: it is slow to park, so rare. */
  readonly heavy: boolean;
  /** Streams of the event log taken, delivered to a consumer of their own (0: none). */
  readonly streams: number;
  /** A rebuild of the sums from a scan of the final table (binaries as bytes) runs beside the live consumers. */
  readonly rebuild: boolean;
  readonly faults: StoreFaults;
  readonly parking: TableFaults;
  /** Redrives with the fixed projections start after these live invocations. */
  readonly redrivesAt: readonly number[];
}

export const poisonScenarios: fc.Arbitrary<PoisonScenario> = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  docs: fc.integer({ min: 1, max: 6 }),
  heavy: fc.integer({ min: 0, max: 39 }).map((roll) => roll === 0),
  streams: fc.integer({ min: 0, max: 4 }),
  rebuild: fc.boolean(),
  ...deliveryPlans,
  faults: storeFaults,
  parking: fc.record({ throttle: rate(0.1), unprocessed: rate(0.2) }),
  redrivesAt: fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 3 }),
});

export interface PoisonReport {
  readonly differences: string[];
  readonly invocations: number;
  readonly injected: Record<keyof StoreFaults, number>;
  readonly counts: Record<PoisonCount, number>;
}

export type PoisonCount =
  | 'rowsOver400KB'
  | 'totalsPast38Digits'
  | 'parkedInParts'
  | 'parkingThrottled'
  | 'parkingUnprocessed'
  | 'redrivesRacing'
  | 'redriveCrashes'
  | 'rebuilds';

/** Planted bugs, to show the harness catches them. */
export interface PoisonMutation {
  readonly store?: () => DynamoDbLimitedStore;
  /** The lane of the state projections in redrives. */
  readonly redriveStateLane?: (projections: readonly Projection[]) => Lane;
  readonly deadLetters?: (real: DeadLetterStore) => DeadLetterStore;
}

const CONSUMER = 'docs';
const MAX_REDRIVE_RUNS = 200;

export async function runPoisonScenario(workload: PoisonWorkload, scenario: PoisonScenario, mutation: PoisonMutation = {}): Promise<PoisonReport> {
  const random = seededRandom(scenario.seed);
  const keys = [...new Set(workload.records.map((record) => keyText(record.dynamodb.Keys)))].filter((key) => key !== workload.heavyKey);
  const chosen = new Set([...shuffle(random, keys).slice(0, scenario.docs), ...(scenario.heavy ? [workload.heavyKey] : [])]);
  const records = workload.records.filter((record) => chosen.has(keyText(record.dynamodb.Keys)));
  const finalItems = workload.finalItems.filter((item) => chosen.has(`${Buffer.from(item.id?.B ?? []).toString('base64')}/${item.slot?.N}`));
  const streamIds = [...new Set(workload.eventItems.map((item) => item.stream?.S ?? ''))];
  const streams = new Set(shuffle(random, streamIds).slice(0, scenario.streams));
  const events = workload.eventRecords.filter((record) => streams.has(record.dynamodb.NewImage?.stream?.S ?? ''));
  const eventItems = workload.eventItems.filter((item) => streams.has(item.stream?.S ?? ''));
  const counts: Record<PoisonCount, number> = {
    rowsOver400KB: 0,
    totalsPast38Digits: 0,
    parkedInParts: 0,
    parkingThrottled: 0,
    parkingUnprocessed: 0,
    redrivesRacing: 0,
    redriveCrashes: 0,
    rebuilds: scenario.rebuild ? 1 : 0,
  };
  const injected = noFaultsInjected();

  const store = mutation.store?.() ?? new DynamoDbLimitedStore();
  await seedAnchors(store);
  const parkedTable = new MemoryDynamoDbTable('parked', { partition: 'pk', sort: 'sk' });
  const inParts = new Set<string>();
  parkedTable.onPut = (item) => {
    const [main, part] = (item.sk?.S ?? '').split('#part#');
    if (part !== undefined) inParts.add(`${item.pk?.S}|${main}`);
  };

  /** One process: its read-model store and dead-letter store die together. */
  const processOf = (projections: readonly AnyProjection[], options: { faults?: StoreFaults; parking?: TableFaults; crashAtWrite?: number; redrive?: boolean }) => {
    const faults = options.faults ?? NO_STORE_FAULTS;
    const faulty = new FaultyStore(store, random, faults);
    const fate = new Fate({ faulty, random, crashRate: faults.crash, crashAtWrite: options.crashAtWrite });
    const client = new MemoryDynamoDbClient(parkedTable, fate, random, options.parking);
    const real = new DynamoDbDeadLetterStore({ client: client.asClient(), table: parkedTable.name, consumer: CONSUMER, sleep: noSleep });
    const deadLetters = mutation.deadLetters?.(real) ?? real;
    const processStore = new ProcessStore(faulty, fate, store);
    const laneOf = (lane: Lane) =>
      options.redrive === true && lane.kind === 'state' && mutation.redriveStateLane !== undefined ? mutation.redriveStateLane(lane.projections as Projection[]) : lane;
    const runtimes = lanesOf(projections).map((lane) => new ProjectionRuntime(laneOf(lane), processStore, silentLogger, { sleep: noSleep, maxRounds: 12, deadLetters }));
    const finish = () => {
      counts.parkingThrottled += client.injected.throttle;
      counts.parkingUnprocessed += client.injected.unprocessed;
    };
    return { faulty, fate, deadLetters, runtimes, finish };
  };
  const redriveOnce = async (process: ReturnType<typeof processOf>): Promise<'done' | 'crashed' | 'failed'> => {
    try {
      await new Redriver(process.runtimes, process.deadLetters, silentLogger, { sleep: noSleep, maxRounds: 12 }).redrive();
      return process.fate.dead ? 'crashed' : 'done';
    } catch (error) {
      if (process.fate.dead) return 'crashed';
      return 'failed';
    } finally {
      process.finish();
    }
  };

  const racing: Promise<unknown>[] = [];
  const redrivesAt = new Set(scenario.redrivesAt);
  const containerOf = (projections: readonly AnyProjection[]) => () => {
    const process = processOf(projections, { faults: scenario.faults, parking: scenario.parking });
    return {
      consumer: new StreamConsumer(process.runtimes, silentLogger),
      crashed: () => process.fate.dead,
      injected: process.faulty.injected,
      retire: process.finish,
    };
  };
  const fixed = [...fixedDocProjections, fixedStreamHistory];
  const itemOf = (record: Record<string, unknown>) => keyText((record as unknown as RawRecord).dynamodb.Keys);
  const rawRecords = (raw: readonly RawRecord[]) => raw as unknown as Record<string, unknown>[];
  const work: Promise<unknown>[] = [
    deliver(rawRecords(records), scenario, random, itemOf, containerOf(liveDocProjections), injected, (count) => {
      if (!redrivesAt.has(count)) return;
      counts.redrivesRacing += 1;
      racing.push(redriveOnce(processOf(fixed, { faults: scenario.faults, parking: scenario.parking, redrive: true })));
    }),
    deliver(rawRecords(events), scenario, random, itemOf, containerOf([liveStreamHistory]), injected),
  ];
  if (scenario.rebuild) {
    const runtimeOf = (projection: AnyProjection) => processOf([projection], { faults: scenario.faults, parking: scenario.parking }).runtimes[0] as ProjectionRuntime;
    work.push(rebuildBeside(rebuiltDocProjections, finalItems, ['id', 'slot'], runtimeOf));
    work.push(rebuildBeside([liveStreamHistory], eventItems, ['stream', 'version'], runtimeOf));
  }
  const [invocations] = (await Promise.all(work)) as [number];
  await Promise.all(racing);

  // The last redrive, with the fixed projections: it dies after its first write, is run again and dies after
  // its second, and so on, until one run finishes.
  for (let crashAt = 1; ; crashAt += 1) {
    if (crashAt > MAX_REDRIVE_RUNS) throw new Error('the redrive never finished');
    const outcome = await redriveOnce(processOf(fixed, { crashAtWrite: crashAt, redrive: true }));
    if (outcome === 'done') break;
    if (outcome === 'failed') throw new Error(`a redrive without faults failed (run ${crashAt})`);
    counts.redriveCrashes += 1;
  }

  const parked: ParkedRecord[] = [];
  const healthy = new DynamoDbDeadLetterStore({ client: new MemoryDynamoDbClient(parkedTable, new Fate()).asClient(), table: parkedTable.name, consumer: CONSUMER });
  for await (const record of healthy.list()) parked.push(record);
  counts.parkedInParts = inParts.size;
  const truth = docsTruth(records, finalItems, GROUPS);
  counts.rowsOver400KB = truth.refusedRows;
  counts.totalsPast38Digits = truth.overflowingTotals;
  const differences = await docsDifferences(store as ReadModelReader, parked, truth, [...records, ...events], streamsTruth(events));
  return { differences, invocations, injected, counts };
}

const NO_STORE_FAULTS: StoreFaults = { conflict: 0, throttle: 0, unknownOutcome: 0, crash: 0, loadFailure: 0 };

/** Every group of `group-totals` opens with the anchor, written before any consumer starts. */
async function seedAnchors(store: ReadModelStore): Promise<void> {
  const generation = generationOf({ name: 'group-totals', version: 1 });
  const [outcome] = await store.commit([
    {
      key: itemKeyFromKeys({ id: { S: 'opening-balances' } }, 'key'),
      parked: [],
      expectedRevision: undefined,
      checkpoint: { revision: 1, entries: new Map() },
      views: [],
      sums: GROUPS.map((group) => ({ generation, group, shards: 1, amounts: new Map([['amount', Decimal.parse(ANCHOR_AMOUNT.toString())]]) })),
    },
  ]);
  if (outcome?.status !== 'committed') throw new Error('could not seed the opening balances');
}
