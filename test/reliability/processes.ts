import { DEFAULT_TABLE_NAMES } from '../../adapters/dynamodb/layout.js';
import { refusalsOf, viewRowRefusal } from '../../adapters/dynamodb/limits.js';
import { partsOf } from '../../adapters/dynamodb/parts.js';
import type { CommitOutcome, KeyWrite, LoadedState, ReadModelStore, Refusal } from '../../src/projection/ports.js';
import type { ItemKey } from '../../src/records/item-key.js';
import type { Deadline } from '../../src/core/retry.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import { Crashed, type FaultyStore } from '../support/faulty-store.js';
import type { ProcessFate } from '../support/memory-dynamodb-table.js';

/**
 * The life of one process (a Lambda container, a redrive run): it dies after its `crashAtWrite`-th write
 * has landed, or after any write at random, and nothing it does after that takes effect. Linked to the
 * `FaultyStore` of the same process, so that a death either one injects is the death of both.
 */
export class Fate implements ProcessFate {
  private writes = 0;
  private died = false;
  /** The write it died after, if it did. */
  diedAfter: string | undefined;

  constructor(
    private readonly options: {
      readonly crashAtWrite?: number;
      readonly crashRate?: number;
      readonly random?: () => number;
      readonly faulty?: FaultyStore;
    } = {},
  ) {}

  get dead(): boolean {
    return this.died || this.options.faulty?.crashed === true;
  }

  assertAlive(): void {
    if (this.dead) throw new Crashed('the process is gone');
  }

  /** `atRandom`: whether this write may also be the one the process dies after by chance. */
  afterWrite(what: string, atRandom = true): void {
    this.writes += 1;
    const { crashAtWrite, crashRate = 0, random = Math.random } = this.options;
    if (this.writes === crashAtWrite || (atRandom && crashRate > 0 && random() < crashRate)) {
      this.died = true;
      this.diedAfter = what;
      if (this.options.faulty !== undefined) this.options.faulty.crashed = true;
      throw new Crashed(`injected: the process died after ${what} landed`);
    }
  }
}

/**
 * The read-model store as one process sees it: nothing after its death, and each commit a write it may die
 * after. The limits come from the store underneath, which the fault-injecting layer in between does not pass on.
 */
export class ProcessStore implements ReadModelStore {
  constructor(
    private readonly inner: ReadModelStore,
    private readonly fate: Fate,
    private readonly limits: Pick<ReadModelStore, 'refusals'>,
  ) {}

  refusals(write: KeyWrite): readonly Refusal[] {
    return this.limits.refusals?.(write) ?? [];
  }

  async load(keys: readonly ItemKey[], views: readonly string[], deadline?: Deadline): Promise<LoadedState> {
    this.fate.assertAlive();
    return this.inner.load(keys, views, deadline);
  }

  async commit(writes: readonly KeyWrite[], deadline?: Deadline): Promise<CommitOutcome[]> {
    this.fate.assertAlive();
    const outcomes = await this.inner.commit(writes, deadline);
    // Random deaths of a commit are the fault-injecting store's: this one only counts the write.
    this.fate.afterWrite('a read-model commit', false);
    return outcomes;
  }
}

/**
 * What the DynamoDB adapter would refuse of one key's write, by its own limits (`refusalsOf`). Kept per write:
 * the runtime asks before sending and the store again when the same write arrives.
 */
const refused = new WeakMap<KeyWrite, readonly Refusal[]>();
export function dynamoDbRefusals(write: KeyWrite): readonly Refusal[] {
  let refusals = refused.get(write);
  if (refusals === undefined) {
    refusals = refusalsOf(partsOf('docs', DEFAULT_TABLE_NAMES, write, 0));
    refused.set(write, refusals);
  }
  return refusals;
}

/**
 * The in-memory store with the DynamoDB adapter's limits: told to the runtime before it sends (as the adapter
 * does), and enforced when a write arrives anyway, as DynamoDB would refuse it. Totals past 38 significant
 * digits the memory store refuses by itself.
 */
export class DynamoDbLimitedStore extends MemoryReadModelStore {
  constructor() {
    super({ refusals: dynamoDbRefusals, viewRowRefusal });
  }

  override async commit(writes: readonly KeyWrite[]): Promise<CommitOutcome[]> {
    const outcomes: (CommitOutcome | undefined)[] = writes.map((write) => {
      const [refusal] = this.refusals(write);
      return refusal === undefined ? undefined : { status: 'refused', error: refusal.error, generations: [refusal.generation] };
    });
    const landing = writes.filter((_, index) => outcomes[index] === undefined);
    const landed = await super.commit(landing);
    let next = 0;
    return outcomes.map((outcome) => outcome ?? landed[next++] ?? { status: 'retry', error: new Error('no outcome') });
  }
}
