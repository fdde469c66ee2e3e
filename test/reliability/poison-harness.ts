import fc from 'fast-check';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { DynamoDbDeadLetterStore } from '../../adapters/dynamodb/dead-letters.js';
import { StreamConsumer } from '../../src/consumer/consumer.js';
import { lanesOf } from '../../src/catalog/lanes.js';
import { silentLogger } from '../../src/core/logging.js';
import { seededRandom, shuffle } from '../../src/testing/random.js';
import { generationOf, type Projection } from '../../src/projection/define.js';
import type { AnyProjection } from '../../src/catalog/kinds.js';
import type { Lane } from '../../src/projection/lane.js';
import type { DeadLetterStore, ParkedRecord, ReadModelStore } from '../../src/projection/ports.js';
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
 * Poison under an unkind delivery: the live consumers run projections with a bug (a stage, an event type they
 * do not know), redrives with the fixed projections race them under faults, and a last redrive is made to die
 * after each of its writes in turn (the parked table's and the read model's) before it is run to the end.
 */
export interface PoisonScenario extends DeliveryPlan {
  readonly seed: number;
  /** Items taken from the workload, besides the heavy one. */
  readonly docs: number;
  /** Whether the heavy item (a record too large to park whole) is among them: it is slow to park, so rare. */
  readonly heavy: boolean;
  /** Streams of the event log taken, delivered to a consumer of their own (0: none). */
  readonly streams: number;
  /** Rebuilds from scans of the final tables (binaries as bytes) run beside the live consumers: the sums, the log. */
  readonly rebuild: boolean;
  readonly faults: StoreFaults;
  readonly parking: TableFaults;
  /** Redrives with the fixed projections start after these live invocations. */
  readonly redrivesAt: readonly number[];
}

export const poisonScenarios: fc.Arbitrary<PoisonScenario> = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  docs: fc.integer({ min: 1, max: 5 }),
  heavy: fc.integer({ min: 0, max: 59 }).map((roll) => roll === 0),
  streams: fc.integer({ min: 0, max: 2 }),
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
  | 'redriveDiedAfterParkedTableWrite'
  | 'redriveDiedAfterCommit'
  | 'rebuilds';

/** Planted bugs, to show the harness catches them. */
export interface PoisonMutation {
  readonly store?: () => DynamoDbLimitedStore;
  /** The lane of the state projections in redrives. */
  readonly redriveStateLane?: (projections: readonly Projection[]) => Lane;
  readonly deadLetters?: (real: DeadLetterStore) => DeadLetterStore;
}

export async function runPoisonScenario(workload: PoisonWorkload, scenario: PoisonScenario, mutation: PoisonMutation = {}): Promise<PoisonReport> {
  const run = new PoisonRun(scenario, mutation);
  const slice = sliceOf(workload, scenario, run.random);
  await seedAnchors(run.store);
  const invocations = await run.live(slice);
  await run.lastRedrive();
  const truth = docsTruth(slice.records, slice.finalItems, GROUPS);
  run.counts.rowsOver400KB = truth.refusedRows;
  run.counts.totalsPast38Digits = truth.overflowingTotals;
  const differences = await docsDifferences(run.store, await run.parked(), truth, [...slice.records, ...slice.events], streamsTruth(slice.events));
  return { differences, invocations, injected: run.injected, counts: run.counts };
}

/** The items and streams a scenario takes, their records and their final items. */
function sliceOf(workload: PoisonWorkload, scenario: PoisonScenario, random: () => number) {
  const keys = [...new Set(workload.records.map((record) => keyText(record.dynamodb.Keys)))].filter((key) => key !== workload.heavyKey);
  const items = new Set([...shuffle(random, keys).slice(0, scenario.docs), ...(scenario.heavy ? [workload.heavyKey] : [])]);
  const streamIds = [...new Set(workload.eventItems.map((item) => item.stream?.S ?? ''))];
  const streams = new Set(shuffle(random, streamIds).slice(0, scenario.streams));
  return {
    records: workload.records.filter((record) => items.has(keyText(record.dynamodb.Keys))),
    finalItems: workload.finalItems.filter((item) => items.has(`${Buffer.from(item.id?.B ?? []).toString('base64')}/${item.slot?.N}`)),
    events: workload.eventRecords.filter((record) => streams.has(record.dynamodb.NewImage?.stream?.S ?? '')),
    eventItems: workload.eventItems.filter((item) => streams.has(item.stream?.S ?? '')),
  };
}

const CONSUMER = 'docs';
const MAX_REDRIVE_RUNS = 200;
const NO_STORE_FAULTS: StoreFaults = { conflict: 0, throttle: 0, unknownOutcome: 0, crash: 0, loadFailure: 0 };
const FIXED = [...fixedDocProjections, fixedStreamHistory];

interface ProcessOptions {
  readonly faults?: StoreFaults;
  readonly parking?: TableFaults;
  readonly crashAtWrite?: number;
  readonly redrive?: boolean;
}

/** One process: runtimes over the shared stores, whose read-model store and parked table die together. */
interface Process {
  readonly fate: Fate;
  readonly faulty: FaultyStore;
  readonly deadLetters: DeadLetterStore;
  readonly runtimes: ProjectionRuntime[];
  /** Adds what was injected into it to the run's counts. */
  finish(): void;
}

/** One scenario's stores, processes and counts. */
class PoisonRun {
  readonly random: () => number;
  readonly store: DynamoDbLimitedStore;
  readonly parkedTable = new MemoryDynamoDbTable('parked', { partition: 'pk', sort: 'sk' });
  readonly injected = noFaultsInjected();
  readonly counts: Record<PoisonCount, number>;
  private readonly inParts = new Set<string>();

  constructor(
    private readonly scenario: PoisonScenario,
    private readonly mutation: PoisonMutation,
  ) {
    this.random = seededRandom(scenario.seed);
    this.store = mutation.store?.() ?? new DynamoDbLimitedStore();
    this.counts = {
      rowsOver400KB: 0,
      totalsPast38Digits: 0,
      parkedInParts: 0,
      parkingThrottled: 0,
      parkingUnprocessed: 0,
      redrivesRacing: 0,
      redriveCrashes: 0,
      redriveDiedAfterParkedTableWrite: 0,
      redriveDiedAfterCommit: 0,
      rebuilds: scenario.rebuild ? 1 : 0,
    };
    this.parkedTable.onPut = (item) => {
      const [main, part] = (item.sk?.S ?? '').split('#part#');
      if (part === undefined) return;
      this.inParts.add(`${item.pk?.S}|${main}`);
      this.counts.parkedInParts = this.inParts.size;
    };
  }

  process(projections: readonly AnyProjection[], options: ProcessOptions): Process {
    const faults = options.faults ?? NO_STORE_FAULTS;
    const faulty = new FaultyStore(this.store, this.random, faults);
    const fate = new Fate({ faulty, random: this.random, crashRate: faults.crash, crashAtWrite: options.crashAtWrite });
    const client = new MemoryDynamoDbClient(this.parkedTable, fate, this.random, options.parking);
    const real = new DynamoDbDeadLetterStore({ client: client.asClient(), table: this.parkedTable.name, consumer: CONSUMER, sleep: noSleep });
    const deadLetters = this.mutation.deadLetters?.(real) ?? real;
    const store = new ProcessStore(faulty, fate, this.store);
    const planted = this.mutation.redriveStateLane;
    const laneOf = (lane: Lane) => (options.redrive === true && lane.kind === 'state' && planted !== undefined ? planted(lane.projections as Projection[]) : lane);
    const runtimes = lanesOf(projections).map((lane) => new ProjectionRuntime(laneOf(lane), store, silentLogger, { sleep: noSleep, maxRounds: 12, deadLetters }));
    const finish = () => {
      this.counts.parkingThrottled += client.injected.throttle;
      this.counts.parkingUnprocessed += client.injected.unprocessed;
    };
    return { fate, faulty, deadLetters, runtimes, finish };
  }

  /** A redrive run to its end, or to its process's death. */
  async redrive(process: Process): Promise<'done' | 'crashed'> {
    try {
      await new Redriver(process.runtimes, process.deadLetters, silentLogger, { sleep: noSleep, maxRounds: 12 }).redrive();
      return process.fate.dead ? 'crashed' : 'done';
    } catch (error) {
      if (process.fate.dead) return 'crashed';
      throw error;
    } finally {
      process.finish();
    }
  }

  /**
   * The live consumers (of the table and of the log) with the bugs, the rebuilds beside them, and redrives
   * with the fix started among their invocations, under faults (a racing redrive may fail: it is an operator's
   * command, run again later). Answers the invocations.
   */
  async live(slice: ReturnType<typeof sliceOf>): Promise<number> {
    const faulty = { faults: this.scenario.faults, parking: this.scenario.parking };
    const containerOf = (projections: readonly AnyProjection[]) => () => {
      const process = this.process(projections, faulty);
      return { consumer: new StreamConsumer(process.runtimes, silentLogger), crashed: () => process.fate.dead, injected: process.faulty.injected, retire: process.finish };
    };
    const racing: Promise<unknown>[] = [];
    const redrivesAt = new Set(this.scenario.redrivesAt);
    const startRedrive = (count: number) => {
      if (!redrivesAt.has(count)) return;
      this.counts.redrivesRacing += 1;
      racing.push(this.redrive(this.process(FIXED, { ...faulty, redrive: true })).catch(() => undefined));
    };
    const itemOf = (record: Record<string, unknown>) => keyText((record as unknown as RawRecord).dynamodb.Keys);
    const raw = (records: readonly RawRecord[]) => records as unknown as Record<string, unknown>[];
    const deliveries = [
      deliver(raw(slice.records), this.scenario, this.random, itemOf, containerOf(liveDocProjections), this.injected, startRedrive),
      deliver(raw(slice.events), this.scenario, this.random, itemOf, containerOf([liveStreamHistory]), this.injected),
    ];
    const rebuilds: Promise<void>[] = [];
    if (this.scenario.rebuild) {
      const runtimeOf = (projection: AnyProjection) => this.process([projection], faulty).runtimes[0] as ProjectionRuntime;
      rebuilds.push(rebuildBeside(rebuiltDocProjections, slice.finalItems, ['id', 'slot'], runtimeOf));
      rebuilds.push(rebuildBeside([liveStreamHistory], slice.eventItems, ['stream', 'version'], runtimeOf));
    }
    const [invocations] = await Promise.all([Promise.all(deliveries), Promise.all(rebuilds)]);
    await Promise.all(racing);
    return invocations.reduce((total, count) => total + count, 0);
  }

  /**
   * The last redrive, with the fixed projections and no faults: it dies after its first write, is run again
   * and dies after its second, and so on, until one run finishes.
   */
  async lastRedrive(): Promise<void> {
    for (let crashAt = 1; ; crashAt += 1) {
      if (crashAt > MAX_REDRIVE_RUNS) throw new Error('the redrive never finished');
      const process = this.process(FIXED, { crashAtWrite: crashAt, redrive: true });
      if ((await this.redrive(process)) === 'done') return;
      this.counts.redriveCrashes += 1;
      if (process.fate.diedAfter === 'a read-model commit') this.counts.redriveDiedAfterCommit += 1;
      else this.counts.redriveDiedAfterParkedTableWrite += 1;
    }
  }

  /** Everything left in the parked table, read back through the adapter. */
  async parked(): Promise<ParkedRecord[]> {
    const client = new MemoryDynamoDbClient(this.parkedTable, new Fate());
    const deadLetters = new DynamoDbDeadLetterStore({ client: client.asClient(), table: this.parkedTable.name, consumer: CONSUMER });
    const parked: ParkedRecord[] = [];
    for await (const record of deadLetters.list()) parked.push(record);
    return parked;
  }
}

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
