import { randomUUID } from 'node:crypto';
import {
  BatchGetItemCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteItemsCommand,
  type AttributeValue,
  type DynamoDBClient,
  type KeysAndAttributes,
  type TransactWriteItem,
} from '@aws-sdk/client-dynamodb';
import { chunk, mapConcurrent } from '../../src/concurrency.js';
import { StreamfoldError } from '../../src/errors.js';
import {
  viewRowId,
  type Checkpoint,
  type CommitOutcome,
  type KeyWrite,
  type LoadedState,
  type ReadModelReader,
  type ReadModelRow,
  type ReadModelStore,
  type StoredViewRow,
  type ViewWrite,
} from '../../src/projection/ports.js';
import { addAmounts, byKey, sumRowValue } from '../../src/projection/sum-rows.js';
import type { Decimal } from '../../src/records/decimal.js';
import type { ItemKey } from '../../src/records/item-key.js';
import { backoffDelay, DEFAULT_BACKOFF, sleep as defaultSleep, type BackoffPolicy, type Sleep } from '../../src/retry.js';
import { cancellationReasons, classifyWriteError } from './errors.js';
import { itemSize, writeUnits } from './item-size.js';
import { pages } from './pages.js';
import {
  ATTR,
  checkpointKey,
  decodeCheckpoint,
  decodeItemKeyAttributes,
  decodeViewValue,
  DEFAULT_TABLE_NAMES,
  encodeCheckpoint,
  encodeViewRow,
  shardSortKey,
  sumFields,
  sumRowPartition,
  VIEW_SORT_KEY,
  viewRowKey,
  type SdkItem,
  type TableNames,
} from './layout.js';
import { DynamoDbUsage } from './usage.js';

export interface OpenGap {
  readonly generation: string;
  readonly stream: string;
  readonly missing: string;
  readonly held: readonly string[];
  readonly since: number | undefined;
  readonly blockedAt: string | undefined;
}

export const TRANSACT_MAX_ITEMS = 100;
export const TRANSACT_MAX_BYTES = 4 * 1024 * 1024;
export const BATCH_GET_MAX_KEYS = 100;
/** Left under the 4 MB request limit for the request's own envelope and expressions. */
const TRANSACT_BYTE_BUDGET = Math.floor(TRANSACT_MAX_BYTES * 0.9);

export interface DynamoDbStoreOptions {
  readonly client: DynamoDBClient;
  /** Namespaces checkpoints: one name per source table a read model is built from. */
  readonly consumer: string;
  readonly tables?: TableNames;
  /** Transactions (and batch reads) in flight at once. */
  readonly concurrency?: number;
  /** Attempts of one transaction under throttling before its keys are handed back to be retried later. */
  readonly maxAttempts?: number;
  readonly backoff?: BackoffPolicy;
  readonly sleep?: Sleep;
  readonly random?: () => number;
  readonly usage?: DynamoDbUsage;
}

interface Unit {
  readonly index: number;
  readonly write: KeyWrite;
  readonly checkpoint: SdkItem;
  readonly views: readonly TransactWriteItem[];
  /** Every row the unit touches, sum groups by generation and group (their shard is chosen per transaction). */
  readonly rows: ReadonlySet<string>;
  readonly bytes: number;
}

/**
 * Read models and checkpoints in DynamoDB. Each key's write lands atomically with its checkpoint in a
 * `TransactWriteItems` call; keys are packed into as few calls as the 100-item limit allows, and the sum
 * deltas of one call are merged so that each group row gets one `ADD`.
 */
export class DynamoDbReadModelStore implements ReadModelStore, ReadModelReader {
  readonly tables: TableNames;
  readonly usage: DynamoDbUsage;
  private readonly client: DynamoDBClient;
  private readonly consumer: string;
  private readonly concurrency: number;
  private readonly maxAttempts: number;
  private readonly backoff: BackoffPolicy;
  private readonly sleep: Sleep;
  private readonly random: () => number;

  constructor(options: DynamoDbStoreOptions) {
    this.client = options.client;
    this.consumer = options.consumer;
    this.tables = options.tables ?? DEFAULT_TABLE_NAMES;
    this.concurrency = options.concurrency ?? 4;
    this.maxAttempts = options.maxAttempts ?? 6;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
    this.usage = options.usage ?? new DynamoDbUsage();
  }

  async load(keys: readonly ItemKey[], views: readonly string[]): Promise<LoadedState> {
    const wanted: { table: string; key: SdkItem; id: string; kind: 'checkpoint' | 'view' }[] = [];
    for (const key of keys) {
      wanted.push({ table: this.tables.checkpoints, key: checkpointKey(this.consumer, key), id: key.id, kind: 'checkpoint' });
      for (const generation of views) {
        wanted.push({
          table: this.tables.readModels,
          key: viewRowKey(generation, key),
          id: viewRowId(generation, key),
          kind: 'view',
        });
      }
    }
    const byLocation = new Map(wanted.map((entry) => [locationOf(entry.table, entry.key), entry]));
    const checkpoints = new Map<string, Checkpoint>();
    const viewRows = new Map<string, StoredViewRow>();
    await mapConcurrent(chunk(wanted, BATCH_GET_MAX_KEYS), this.concurrency, async (part) => {
      for (const [table, item] of await this.batchGet(part)) {
        const entry = byLocation.get(locationOf(table, item));
        if (entry?.kind === 'checkpoint') checkpoints.set(entry.id, decodeCheckpoint(item));
        else if (entry?.kind === 'view') {
          viewRows.set(entry.id, { state: decodeViewValue(item), sequence: item[ATTR.sequence]?.S ?? '' });
        }
      }
    });
    return { checkpoints, viewRows };
  }

  private async batchGet(entries: readonly { table: string; key: SdkItem }[]): Promise<[string, SdkItem][]> {
    let request: Record<string, KeysAndAttributes> = {};
    for (const { table, key } of entries) {
      (request[table] ??= { Keys: [], ConsistentRead: true }).Keys?.push(key);
    }
    const found: [string, SdkItem][] = [];
    for (let attempt = 0; Object.keys(request).length > 0; attempt += 1) {
      if (attempt >= this.maxAttempts) {
        throw new StreamfoldError('STORE_WRITE_FAILED', 'BatchGetItem kept returning unprocessed keys', {
          retryable: true,
        });
      }
      if (attempt > 0) await this.sleep(backoffDelay(this.backoff, attempt - 1, this.random));
      this.usage.request('BatchGetItem');
      const response = await this.client.send(
        new BatchGetItemCommand({ RequestItems: request, ReturnConsumedCapacity: 'TOTAL' }),
      );
      for (const capacity of response.ConsumedCapacity ?? []) this.usage.consumedReadUnits += capacity.CapacityUnits ?? 0;
      for (const [table, items] of Object.entries(response.Responses ?? {})) {
        for (const item of items) found.push([table, item]);
      }
      request = response.UnprocessedKeys ?? {};
    }
    return found;
  }

  async commit(writes: readonly KeyWrite[]): Promise<CommitOutcome[]> {
    const outcomes = new Array<CommitOutcome>(writes.length);
    const units: Unit[] = [];
    writes.forEach((write, index) => {
      let unit: Unit;
      try {
        unit = this.unitOf(write, index);
      } catch (error) {
        // A value that cannot be encoded fails its own key, never the batch.
        outcomes[index] = { status: 'failed', error };
        return;
      }
      if (unit.rows.size > TRANSACT_MAX_ITEMS) {
        outcomes[index] = {
          status: 'failed',
          error: new StreamfoldError(
            'STORE_WRITE_FAILED',
            `one source item changes ${unit.rows.size} rows, more than a transaction's ${TRANSACT_MAX_ITEMS}`,
            { key: write.key.id },
          ),
        };
      } else {
        units.push(unit);
      }
    });
    await mapConcurrent(pack(units), this.concurrency, async (transaction) => {
      const results = await this.commitUnits(transaction);
      transaction.forEach((unit, position) => {
        outcomes[unit.index] = results[position] ?? { status: 'retry', error: new Error('no outcome') };
      });
    });
    return outcomes;
  }

  private unitOf(write: KeyWrite, index: number): Unit {
    const checkpoint = encodeCheckpoint(this.consumer, write.key, write.checkpoint);
    const rows = new Set<string>([`checkpoint\u0000${write.key.id}`]);
    let bytes = itemSize(checkpoint);
    const views: TransactWriteItem[] = write.views.map((view) => {
      rows.add(viewRowId(view.generation, write.key));
      const condition = rowCondition(view);
      if (view.state === undefined) {
        return {
          Delete: { TableName: this.tables.readModels, Key: viewRowKey(view.generation, write.key), ...condition },
        };
      }
      const item = encodeViewRow(view.generation, write.key, view.state, view.sequence, view.approximateTime);
      bytes += itemSize(item);
      return { Put: { TableName: this.tables.readModels, Item: item, ...condition } };
    });
    for (const sum of write.sums) {
      rows.add(sumRowId(sum.generation, sum.group));
      bytes += 200 + sum.group.length;
    }
    return { index, write, checkpoint, views, rows, bytes };
  }

  /** Writes units in one transaction, retrying throttling; splits the ones that conflict or are invalid. */
  private async commitUnits(units: readonly Unit[]): Promise<CommitOutcome[]> {
    const { items, owners } = this.transaction(units);
    const token = randomUUID();
    for (let attempt = 0; ; attempt += 1) {
      try {
        this.usage.request('TransactWriteItems');
        await this.client.send(new TransactWriteItemsCommand({ TransactItems: items, ClientRequestToken: token }));
        this.usage.itemsWritten += items.length;
        for (const item of items) this.usage.billedWriteUnits += writeUnits(transactItemSize(item), true);
        return units.map(() => ({ status: 'committed' }));
      } catch (error) {
        switch (classifyWriteError(error)) {
          case 'conflict':
            return this.afterConflict(units, owners, error);
          case 'throttled':
            if (attempt + 1 >= this.maxAttempts) return units.map(() => ({ status: 'retry', error }));
            await this.sleep(backoffDelay(this.backoff, attempt, this.random));
            continue;
          case 'invalid':
            return this.isolateInvalid(units, error);
          case 'unknown':
            return units.map(() => ({ status: 'retry', error }));
        }
      }
    }
  }

  /** Only the keys whose checkpoint or row moved must be planned again; the others are sent again as they are. */
  private async afterConflict(units: readonly Unit[], owners: readonly number[], error: unknown): Promise<CommitOutcome[]> {
    const reasons = cancellationReasons(error);
    const conflicted = units.map(() => reasons.length === 0);
    reasons.forEach((reason, index) => {
      const owner = owners[index] ?? -1;
      if (reason.Code === 'ConditionalCheckFailed' && owner >= 0) conflicted[owner] = true;
    });
    const others = units.filter((_, position) => !conflicted[position]);
    const retried = others.length > 0 && others.length < units.length ? await this.commitUnits(others) : [];
    let next = 0;
    return units.map((_, position) =>
      conflicted[position] || others.length === units.length
        ? { status: 'conflict' }
        : (retried[next++] ?? { status: 'conflict' }),
    );
  }

  /** Halves the units until the invalid key stands alone, so one bad key fails by itself. */
  private async isolateInvalid(units: readonly Unit[], error: unknown): Promise<CommitOutcome[]> {
    if (units.length === 1) return [{ status: 'failed', error }];
    const middle = Math.ceil(units.length / 2);
    const [first, second] = await Promise.all([
      this.commitUnits(units.slice(0, middle)),
      this.commitUnits(units.slice(middle)),
    ]);
    return [...first, ...second];
  }

  /** The transaction's items, and for each item the unit that owns it (-1 for a shared sum row). */
  private transaction(units: readonly Unit[]): { items: TransactWriteItem[]; owners: number[] } {
    const items: TransactWriteItem[] = [];
    const owners: number[] = [];
    const sums = new Map<string, { generation: string; group: string; shards: number; amounts: Map<string, Decimal> }>();
    units.forEach((unit, position) => {
      items.push({ Put: this.checkpointPut(unit) }, ...unit.views);
      for (let count = 0; count < 1 + unit.views.length; count += 1) owners.push(position);
      for (const sum of unit.write.sums) {
        const id = sumRowId(sum.generation, sum.group);
        let merged = sums.get(id);
        if (merged === undefined) {
          merged = { generation: sum.generation, group: sum.group, shards: sum.shards, amounts: new Map() };
          sums.set(id, merged);
        }
        addAmounts(merged.amounts, sum.amounts);
      }
    });
    for (const sum of sums.values()) {
      const amounts = [...sum.amounts].filter(([, amount]) => !amount.isZero);
      if (amounts.length === 0) continue;
      items.push({ Update: this.sumUpdate(sum.generation, sum.group, sum.shards, amounts) });
      owners.push(-1);
    }
    return { items, owners };
  }

  private checkpointPut(unit: Unit): NonNullable<TransactWriteItem['Put']> {
    const expected = unit.write.expectedRevision;
    return expected === undefined
      ? {
          TableName: this.tables.checkpoints,
          Item: unit.checkpoint,
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': ATTR.pk },
        }
      : {
          TableName: this.tables.checkpoints,
          Item: unit.checkpoint,
          ConditionExpression: '#rev = :rev',
          ExpressionAttributeNames: { '#rev': ATTR.revision },
          ExpressionAttributeValues: { ':rev': { N: String(expected) } },
        };
  }

  private sumUpdate(
    generation: string,
    group: string,
    shards: number,
    amounts: readonly [string, Decimal][],
  ): NonNullable<TransactWriteItem['Update']> {
    const shard = shards > 1 ? Math.floor(this.random() * shards) : 0;
    const names: Record<string, string> = { '#g': ATTR.generation, '#grp': ATTR.group };
    const values: Record<string, AttributeValue> = { ':g': { S: generation }, ':grp': { S: group } };
    const additions = amounts.map(([field, amount], position) => {
      names[`#f${position}`] = field;
      values[`:a${position}`] = { N: amount.toString() };
      return `#f${position} :a${position}`;
    });
    return {
      TableName: this.tables.readModels,
      Key: { [ATTR.pk]: { S: sumRowPartition(generation, group) }, [ATTR.sk]: { S: shardSortKey(shard) } },
      UpdateExpression: `SET #g = :g, #grp = :grp ADD ${additions.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  /** Every row of one generation; sum groups merged over their shards, groups that sum to zero left out. */
  async *rows(generation: string, kind: 'view' | 'sum'): AsyncIterable<ReadModelRow> {
    const groups = new Map<string, Map<string, Decimal>>();
    const scan = pages((startKey: Record<string, AttributeValue> | undefined) => {
      this.usage.request('Scan');
      return this.client.send(
        new ScanCommand({
          TableName: this.tables.readModels,
          FilterExpression: '#g = :g',
          ExpressionAttributeNames: { '#g': ATTR.generation },
          ExpressionAttributeValues: { ':g': { S: generation } },
          ExclusiveStartKey: startKey,
        }),
      );
    });
    for await (const items of scan) {
      for (const item of items) {
        if (kind === 'view') {
          if (item[ATTR.sk]?.S === VIEW_SORT_KEY) yield { key: decodeItemKeyAttributes(item), value: decodeViewValue(item) };
        } else {
          const group = item[ATTR.group]?.S;
          if (group !== undefined) addInto(groups, group, sumFields(item));
        }
      }
    }
    for (const [group, fields] of [...groups].sort(byKey)) {
      const value = sumRowValue(fields);
      if (value !== undefined) yield { key: group, value };
    }
  }

  /** One sum group, merged over its shards; `undefined` when it sums to zero everywhere. */
  async readSum(generation: string, group: string): Promise<Record<string, unknown> | undefined> {
    this.usage.request('Query');
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tables.readModels,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': ATTR.pk },
        ExpressionAttributeValues: { ':pk': { S: sumRowPartition(generation, group) } },
        ConsistentRead: true,
      }),
    );
    const fields = new Map<string, Decimal>();
    for (const item of page.Items ?? []) addAmounts(fields, sumFields(item));
    return sumRowValue(fields);
  }

  /** Event-log streams whose versions have a gap: what is missing, what waits behind it, since when. */
  async *openGaps(generations: readonly string[]): AsyncIterable<OpenGap> {
    const wanted = new Set(generations);
    const scan = pages((startKey: Record<string, AttributeValue> | undefined) => {
      this.usage.request('Scan');
      return this.client.send(
        new ScanCommand({
          TableName: this.tables.checkpoints,
          FilterExpression: 'begins_with(#pk, :consumer)',
          ExpressionAttributeNames: { '#pk': ATTR.pk },
          ExpressionAttributeValues: { ':consumer': { S: `${this.consumer}#` } },
          ExclusiveStartKey: startKey,
        }),
      );
    });
    for await (const items of scan) {
      for (const item of items) {
        if (item[ATTR.revision] === undefined) continue;
        for (const [generation, entry] of decodeCheckpoint(item).entries) {
          if (!wanted.has(generation) || entry.pending === undefined || entry.pending.size === 0) continue;
          yield {
            generation,
            stream: item[ATTR.rowKey]?.S ?? '',
            missing: (BigInt(entry.sequence) + 1n).toString(),
            held: [...entry.pending.keys()],
            since: entry.pendingSince,
            blockedAt: entry.blockedAt,
          };
        }
      }
    }
  }

  /** One view row, without the checkpoint `load()` reads beside it: a reader has no use for it. */
  async readView(generation: string, key: ItemKey): Promise<Record<string, unknown> | undefined> {
    const [found] = await this.batchGet([{ table: this.tables.readModels, key: viewRowKey(generation, key) }]);
    return found === undefined ? undefined : decodeViewValue(found[1]);
  }
}

function addInto(groups: Map<string, Map<string, Decimal>>, group: string, fields: Map<string, Decimal>): void {
  let total = groups.get(group);
  if (total === undefined) {
    total = new Map();
    groups.set(group, total);
  }
  addAmounts(total, fields);
}

/** A view row is written only over the row that was read: the same sequence, or no row at all. */
function rowCondition(view: ViewWrite): Pick<NonNullable<TransactWriteItem['Put']>, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> {
  return view.expectedSequence === undefined
    ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': ATTR.pk } }
    : {
        ConditionExpression: '#seq = :seq',
        ExpressionAttributeNames: { '#seq': ATTR.sequence },
        ExpressionAttributeValues: { ':seq': { S: view.expectedSequence } },
      };
}

function sumRowId(generation: string, group: string): string {
  return `sum\u0000${generation}\u0000${group}`;
}

function locationOf(table: string, item: SdkItem): string {
  return `${table}\u0000${item[ATTR.pk]?.S ?? ''}\u0000${item[ATTR.sk]?.S ?? ''}`;
}

function transactItemSize(item: TransactWriteItem): number {
  if (item.Put?.Item !== undefined) return itemSize(item.Put.Item);
  if (item.Delete?.Key !== undefined) return itemSize(item.Delete.Key);
  if (item.Update !== undefined) {
    return itemSize({ ...item.Update.Key, ...(item.Update.ExpressionAttributeValues ?? {}) });
  }
  return 0;
}

/**
 * Packs units into transactions of at most 100 distinct items. Units are ordered by the sum groups they
 * touch, so keys of one group share a transaction and its single `ADD`.
 */
function pack(units: readonly Unit[]): Unit[][] {
  const signatures = new Map(
    units.map((unit) => [unit, [...unit.rows].filter((row) => row.startsWith('sum')).sort().join('\u0001')]),
  );
  const ordered = [...units].sort((a, b) => {
    const left = signatures.get(a) ?? '';
    const right = signatures.get(b) ?? '';
    return left < right ? -1 : left > right ? 1 : a.index - b.index;
  });
  const transactions: Unit[][] = [];
  let current: Unit[] = [];
  let rows = new Set<string>();
  let bytes = 0;
  for (const unit of ordered) {
    const added = [...unit.rows].filter((row) => !rows.has(row)).length;
    if (current.length > 0 && (rows.size + added > TRANSACT_MAX_ITEMS || bytes + unit.bytes > TRANSACT_BYTE_BUDGET)) {
      transactions.push(current);
      current = [];
      rows = new Set();
      bytes = 0;
    }
    current.push(unit);
    for (const row of unit.rows) rows.add(row);
    bytes += unit.bytes;
  }
  if (current.length > 0) transactions.push(current);
  return transactions;
}
