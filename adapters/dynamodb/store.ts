import { randomUUID } from 'node:crypto';
import { BatchGetItemCommand, TransactWriteItemsCommand, type DynamoDBClient, type KeysAndAttributes } from '@aws-sdk/client-dynamodb';
import { chunk, mapConcurrent } from '../../src/core/concurrency.js';
import { StreamfoldError } from '../../src/core/errors.js';
import { combineOutcomes } from '../../src/projection/combine-outcomes.js';
import {
  viewRowId,
  type Checkpoint,
  type CheckpointEntry,
  type CommitOutcome,
  type KeyWrite,
  type LoadedState,
  type LoadOptions,
  type ReadModelStore,
  type Refusal,
  type StoredViewRow,
} from '../../src/projection/ports.js';
import type { ItemKey } from '../../src/records/item-key.js';
import { backoffDelay, DEFAULT_BACKOFF, Deadline, sleep as defaultSleep, type BackoffPolicy, type Sleep } from '../../src/core/retry.js';
import { cancellationReasons, classifyWriteError } from './errors.js';
import { writeUnits } from './item-size.js';
import { BATCH_GET_MAX_KEYS } from './batches.js';
import { ATTR, checkpointKey, decodeCheckpoint, decodeViewRow, DEFAULT_TABLE_NAMES, viewRowKey, type SdkItem, type TableNames } from './layout.js';
import { refusalsOf, viewRowRefusal } from './limits.js';
import type { ViewState } from '../../src/projection/define.js';
import { DynamoDbReads } from './reads.js';
import { refusedOutcome } from './refused.js';
import { partsOf, type Single } from './parts.js';
import { writeSingles } from './singles.js';
import { pack, transactionOf, transactItemSize, type Unit } from './transactions.js';
import { DynamoDbUsage } from './usage.js';

export { TRANSACT_MAX_ITEMS } from './transactions.js';

export interface DynamoDbStoreOptions {
  readonly client: DynamoDBClient;
  /** Namespaces checkpoints: one name per source table a read model is built from. */
  readonly consumer: string;
  readonly tables?: TableNames;
  /** Requests of each kind in flight at once: batch reads, transactions, batches of items written alone. */
  readonly concurrency?: number;
  /** Attempts of one transaction under throttling before its keys are handed back to be retried later. */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffPolicy;
  readonly sleep?: Sleep;
  readonly random?: () => number;
  readonly usage?: DynamoDbUsage;
}

/**
 * Read models and checkpoints in DynamoDB. Each projection's effects land atomically with its own entry: a
 * state table's view row carries its projection's entry and is written alone, with a condition on the row's
 * revision (batched 25 to a `BatchExecuteStatement`, 1 write unit per KB); the checkpoint item, which keeps
 * the sums' (and event logs') entries, is written in a `TransactWriteItems` call with the sum deltas, keys
 * packed into as few calls as the 100-item limit allows and the deltas of one call merged so that each group
 * row gets one `ADD`; a checkpoint item with nothing to go with it is written alone.
 */
export class DynamoDbReadModelStore extends DynamoDbReads implements ReadModelStore {
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly backoff: BackoffPolicy;
  private readonly sleep: Sleep;
  private readonly random: () => number;

  constructor(options: DynamoDbStoreOptions) {
    super(options.client, options.tables ?? DEFAULT_TABLE_NAMES, options.consumer, options.usage ?? new DynamoDbUsage());
    this.concurrency = options.concurrency ?? 4;
    this.maxAttempts = options.maxAttempts ?? 6;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  async load(keys: readonly ItemKey[], views: readonly string[], deadline: Deadline = Deadline.NONE, options: LoadOptions = {}): Promise<LoadedState> {
    const wanted: { table: string; key: SdkItem; id: string; kind: 'checkpoint' | 'view'; generation: string; keyId: string }[] = [];
    for (const key of keys) {
      if (options.checkpointItems !== false) {
        wanted.push({ table: this.tables.checkpoints, key: checkpointKey(this.consumer, key), id: key.id, kind: 'checkpoint', generation: '', keyId: key.id });
      }
      for (const generation of views) {
        wanted.push({ table: this.tables.readModels, key: viewRowKey(generation, key), id: viewRowId(generation, key), kind: 'view', generation, keyId: key.id });
      }
    }
    const byLocation = new Map(wanted.map((entry) => [locationOf(entry.table, entry.key), entry]));
    const items = new Map<string, Checkpoint>();
    const rowEntries = new Map<string, Map<string, CheckpointEntry>>();
    const viewRows = new Map<string, StoredViewRow>();
    await mapConcurrent(chunk(wanted, BATCH_GET_MAX_KEYS), this.concurrency, async (part) => {
      for (const [table, item] of await this.batchGet(part, deadline)) {
        const entry = byLocation.get(locationOf(table, item));
        if (entry?.kind === 'checkpoint') items.set(entry.id, decodeCheckpoint(item));
        else if (entry?.kind === 'view') {
          const { row, entry: carried } = decodeViewRow(item);
          viewRows.set(entry.id, row);
          if (carried === undefined) continue;
          const entries = rowEntries.get(entry.keyId) ?? new Map<string, CheckpointEntry>();
          rowEntries.set(entry.keyId, entries.set(entry.generation, carried));
        }
      }
    });
    return { checkpoints: mergedCheckpoints(items, rowEntries), viewRows };
  }

  private async batchGet(entries: readonly { table: string; key: SdkItem }[], deadline: Deadline): Promise<[string, SdkItem][]> {
    let request: Record<string, KeysAndAttributes> = {};
    for (const { table, key } of entries) (request[table] ??= { Keys: [], ConsistentRead: true }).Keys?.push(key);
    const found: [string, SdkItem][] = [];
    for (let attempt = 0; Object.keys(request).length > 0; attempt += 1) {
      const pause = attempt === 0 ? 0 : backoffDelay(this.backoff, attempt - 1, this.random);
      if (attempt >= this.maxAttempts || !deadline.allows(pause)) {
        throw new StreamfoldError('STORE_WRITE_FAILED', 'BatchGetItem kept returning unprocessed keys', { retryable: true });
      }
      await this.sleep(pause);
      this.usage.request('BatchGetItem');
      const response = await this.client.send(new BatchGetItemCommand({ RequestItems: request, ReturnConsumedCapacity: 'TOTAL' }), {
        abortSignal: deadline.signal(),
      });
      for (const capacity of response.ConsumedCapacity ?? []) this.usage.consumedReadUnits += capacity.CapacityUnits ?? 0;
      for (const [table, items] of Object.entries(response.Responses ?? {})) for (const item of items) found.push([table, item]);
      request = response.UnprocessedKeys ?? {};
    }
    return found;
  }

  viewRowRefusal(generation: string, key: ItemKey, state: ViewState): StreamfoldError | undefined {
    try {
      return viewRowRefusal(generation, key, state);
    } catch {
      // A value that cannot be encoded is refused when the write is made, naming it.
      return undefined;
    }
  }

  refusals(write: KeyWrite): readonly Refusal[] {
    try {
      return refusalsOf(partsOf(this.consumer, this.tables, write, 0));
    } catch {
      // A value that cannot be encoded is refused when the write is made, naming it.
      return [];
    }
  }

  async commit(writes: readonly KeyWrite[], deadline: Deadline = Deadline.NONE): Promise<CommitOutcome[]> {
    const outcomes = writes.map((): CommitOutcome[] => []);
    const singles: Single[] = [];
    const units: Unit[] = [];
    writes.forEach((write, index) => {
      try {
        const parts = partsOf(this.consumer, this.tables, write, index);
        const [refused] = refusalsOf(parts);
        if (refused !== undefined) {
          outcomes[index]?.push({ status: 'refused', error: refused.error.locate({ key: write.key.id }), generations: [refused.generation] });
          return;
        }
        singles.push(...parts.singles);
        if (parts.unit !== undefined) units.push(parts.unit);
      } catch (error) {
        // A value that cannot be encoded fails its own key, never the batch.
        outcomes[index]?.push({ status: 'refused', error: asError(error, write), generations: [...write.checkpoint.entries.keys()] });
      }
    });
    const options = { client: this.client, usage: this.usage, concurrency: this.concurrency, maxAttempts: this.maxAttempts, backoff: this.backoff, sleep: this.sleep, random: this.random, deadline };
    await Promise.all([
      writeSingles(singles, options).then((results) => singles.forEach((single, position) => outcomes[single.index]?.push(results[position] ?? NO_OUTCOME))),
      mapConcurrent(pack(units), this.concurrency, async (transaction) => {
        const results = await this.commitUnits(transaction, deadline);
        transaction.forEach((unit, position) => outcomes[unit.index]?.push(results[position] ?? NO_OUTCOME));
      }),
    ]);
    // Parts that landed stay landed: a key with another part in conflict is planned again from a fresh read,
    // which finds them applied (see `KeyWrite`).
    return outcomes.map(combineOutcomes);
  }

  /** Writes units in one transaction, retrying throttling; splits the ones that conflict or are invalid. */
  private async commitUnits(units: readonly Unit[], deadline: Deadline): Promise<CommitOutcome[]> {
    const transaction = transactionOf(this.tables, units, this.random);
    const token = randomUUID();
    for (let attempt = 0; ; attempt += 1) {
      try {
        this.usage.request('TransactWriteItems');
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: transaction.items, ClientRequestToken: token }), { abortSignal: deadline.signal() });
        this.usage.itemsWritten += transaction.items.length;
        for (const item of transaction.items) this.usage.billedWriteUnits += writeUnits(transactItemSize(item), true);
        return units.map(() => ({ status: 'committed' }));
      } catch (error) {
        switch (classifyWriteError(error)) {
          case 'conflict':
            return this.afterConflict(units, transaction.owners, error, deadline);
          case 'throttled': {
            const pause = backoffDelay(this.backoff, attempt, this.random);
            if (attempt + 1 >= this.maxAttempts || !deadline.allows(pause)) return units.map(() => ({ status: 'retry', error }));
            await this.sleep(pause);
            continue;
          }
          case 'invalid':
            return units.length === 1 ? [await refusedOutcome(this.client, units[0] as Unit, transaction, error)] : this.isolateInvalid(units, deadline);
          case 'unknown':
            return units.map(() => ({ status: 'retry', error }));
        }
      }
    }
  }

  /** Only the keys whose checkpoint or row moved must be planned again; the others are sent again as they are. */
  private async afterConflict(units: readonly Unit[], owners: readonly number[], error: unknown, deadline: Deadline): Promise<CommitOutcome[]> {
    const reasons = cancellationReasons(error);
    const conflicted = units.map(() => reasons.length === 0);
    reasons.forEach((reason, index) => {
      const owner = owners[index] ?? -1;
      if (reason.Code === 'ConditionalCheckFailed' && owner >= 0) conflicted[owner] = true;
    });
    const others = units.filter((_, position) => !conflicted[position]);
    const retried = others.length > 0 && others.length < units.length ? await this.commitUnits(others, deadline) : [];
    let next = 0;
    return units.map((_, position) => (conflicted[position] || others.length === units.length ? { status: 'conflict' } : (retried[next++] ?? { status: 'conflict' })));
  }

  /** Halves the units until the invalid key stands alone, so one bad key fails by itself. */
  private async isolateInvalid(units: readonly Unit[], deadline: Deadline): Promise<CommitOutcome[]> {
    const middle = Math.ceil(units.length / 2);
    const [first, second] = await Promise.all([this.commitUnits(units.slice(0, middle), deadline), this.commitUnits(units.slice(middle), deadline)]);
    return [...first, ...second];
  }
}

const NO_OUTCOME: CommitOutcome = { status: 'retry', error: new Error('no outcome') };

/**
 * The checkpoints as the planner sees them: the checkpoint item's entries and those the view rows carry (a
 * row's wins: it is where a view's entry is written). A key with rows but no checkpoint item has revision 0.
 */
function mergedCheckpoints(items: ReadonlyMap<string, Checkpoint>, rowEntries: ReadonlyMap<string, ReadonlyMap<string, CheckpointEntry>>): Map<string, Checkpoint> {
  const checkpoints = new Map(items);
  for (const [keyId, entries] of rowEntries) {
    const item = items.get(keyId);
    checkpoints.set(keyId, { revision: item?.revision ?? 0, entries: new Map([...(item?.entries ?? []), ...entries]) });
  }
  return checkpoints;
}

function asError(error: unknown, write: KeyWrite): StreamfoldError {
  return (error instanceof StreamfoldError ? error : new StreamfoldError('STORE_WRITE_FAILED', `the write cannot be encoded: ${String(error)}`, { cause: error })).locate({
    key: write.key.id,
  });
}

function locationOf(table: string, item: SdkItem): string {
  return `${table}\u0000${item[ATTR.pk]?.S ?? ''}\u0000${item[ATTR.sk]?.S ?? ''}`;
}
