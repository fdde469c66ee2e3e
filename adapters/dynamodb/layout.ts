import { createHash } from 'node:crypto';
import type { AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb';
import { DEFAULT_TABLE_NAMES as CONFIGURED_DEFAULTS } from '../../src/core/config.js';
import { StreamfoldError } from '../../src/core/errors.js';
import { decodeItem, encodeItem, type AttributeMap } from '../../src/records/attribute-value.js';
import { Decimal } from '../../src/records/decimal.js';
import type { ItemKey } from '../../src/records/item-key.js';
import { padSequence } from '../../src/records/sequence.js';
import { fromWireJson, toWireJson } from '../../src/records/wire-json.js';
import type { Checkpoint, CheckpointEntry, ContributionAmounts, StoredViewRow } from '../../src/projection/ports.js';

/**
 * Table layouts. Both tables have a string partition key `pk`; the read-model table also has a string sort
 * key `sk`, so a sum group's shards share one partition key and come back in one Query.
 *
 * read-model table   pk = `<projection>#v<version>#<row key>`
 *                    sk = `view` for a view row, `shard#<i>` for a sum's sub-row
 * checkpoint table   pk = `<consumer>#<item key>`
 * parked table       pk = `<consumer>#<projection>#v<version>#<item key>`, sk = sequence padded to 40 digits
 */
export interface TableNames {
  readonly readModels: string;
  readonly checkpoints: string;
  /** Poison records, parked with their error until a redrive applies them. */
  readonly parked: string;
}

export const DEFAULT_TABLE_NAMES: TableNames = CONFIGURED_DEFAULTS;

export type SdkItem = Record<string, SdkAttributeValue>;

/** DynamoDB caps a partition key at 2,048 bytes; long ones are replaced by a digest and kept in full beside it. */
const MAX_PLAIN_KEY_BYTES = 1024;

export const VIEW_SORT_KEY = 'view';
export const shardSortKey = (shard: number): string => `shard#${shard}`;

export const ATTR = {
  pk: 'pk',
  sk: 'sk',
  generation: '_projection',
  rowKey: '_key',
  itemKey: '_item',
  group: '_group',
  value: 'value',
  sequence: '_seq',
  time: '_at',
  revision: 'rev',
  entries: 'p',
  /** A view row's checkpoint entry (`s`, `b`), as a map. */
  entry: '_cp',
} as const;

export function partitionKey(prefix: string, key: string): string {
  const plain = `${prefix}#${key}`;
  if (Buffer.byteLength(plain, 'utf8') <= MAX_PLAIN_KEY_BYTES) return plain;
  return `${prefix}#sha256:${createHash('sha256').update(key).digest('hex')}`;
}

export const checkpointKey = (consumer: string, key: ItemKey): SdkItem => ({
  [ATTR.pk]: { S: partitionKey(consumer, key.id) },
});

export const viewRowKey = (generation: string, key: ItemKey): SdkItem => ({
  [ATTR.pk]: { S: partitionKey(generation, key.id) },
  [ATTR.sk]: { S: VIEW_SORT_KEY },
});

export const sumRowPartition = (generation: string, group: string): string => partitionKey(generation, group);

/** The attribute maps of `src/records` are the SDK's, but for binaries typed more loosely (base64 allowed). */
export const toSdk = (map: AttributeMap): SdkItem => map as SdkItem;

// Maps below are built with Object.fromEntries: a group named `__proto__` (it comes from item data) must be
// an entry, and `object[name] = value` would set the prototype instead.
export function encodeCheckpoint(consumer: string, key: ItemKey, checkpoint: Checkpoint): SdkItem {
  const entries = Object.fromEntries([...checkpoint.entries].map(([generation, entry]): [string, SdkAttributeValue] => [generation, encodeEntry(entry)]));
  return {
    ...checkpointKey(consumer, key),
    [ATTR.rowKey]: { S: key.id },
    [ATTR.revision]: { N: String(checkpoint.revision) },
    [ATTR.entries]: { M: entries },
  };
}

/** One projection's entry: `s` the sequence, `c` a sum's contribution, `b` the block, `q`/`t` an event log's held events. */
export function encodeEntry(entry: CheckpointEntry): SdkAttributeValue {
  const fields: Record<string, SdkAttributeValue> = { s: { S: padSequence(entry.sequence) } };
  if (entry.contribution !== undefined) fields.c = { M: encodeContribution(entry.contribution) };
  if (entry.blockedAt !== undefined) fields.b = { S: padSequence(entry.blockedAt) };
  if (entry.pending !== undefined && entry.pending.size > 0) {
    fields.q = { M: Object.fromEntries([...entry.pending].map(([version, record]) => [version, { S: toWireJson(record) }])) };
  }
  if (entry.pendingSince !== undefined) fields.t = { N: String(entry.pendingSince) };
  return { M: fields };
}

function encodeContribution(contribution: ContributionAmounts): Record<string, SdkAttributeValue> {
  return Object.fromEntries(
    [...contribution].map(([group, amounts]): [string, SdkAttributeValue] => [
      group,
      { M: Object.fromEntries([...amounts].map(([field, amount]) => [field, { N: amount.toString() }])) },
    ]),
  );
}

/** Reads a checkpoint item back. It is our own bookkeeping, so a malformed one is a bug, reported loudly. */
export function decodeCheckpoint(item: SdkItem): Checkpoint {
  const revision = Number(item[ATTR.revision]?.N);
  const entries = new Map<string, CheckpointEntry>();
  for (const [generation, value] of Object.entries(item[ATTR.entries]?.M ?? {})) {
    const entry = Number.isSafeInteger(revision) ? decodeEntry(value) : undefined;
    if (entry === undefined) throw malformed(item);
    entries.set(generation, entry);
  }
  return { revision, entries };
}

export function decodeEntry(value: SdkAttributeValue): CheckpointEntry | undefined {
  const sequence = value.M?.s?.S;
  if (sequence === undefined) return undefined;
  const groups = value.M?.c?.M;
  const pending = value.M?.q?.M;
  return {
    sequence,
    contribution: groups === undefined ? undefined : decodeContribution(groups),
    blockedAt: value.M?.b?.S,
    pending: pending === undefined ? undefined : new Map(Object.entries(pending).map(([version, record]) => [version, fromWireJson(record.S ?? 'null')])),
    pendingSince: value.M?.t?.N === undefined ? undefined : Number(value.M.t.N),
  };
}

function malformed(item: SdkItem): StreamfoldError {
  return new StreamfoldError('STORE_WRITE_FAILED', `checkpoint ${item[ATTR.pk]?.S ?? '?'} is malformed`);
}

function decodeContribution(groups: Record<string, SdkAttributeValue>): ContributionAmounts {
  const contribution = new Map<string, Map<string, Decimal>>();
  for (const [group, value] of Object.entries(groups)) {
    const amounts = new Map<string, Decimal>();
    for (const [field, amount] of Object.entries(value.M ?? {})) {
      if (amount.N !== undefined) amounts.set(field, Decimal.parse(amount.N));
    }
    contribution.set(group, amounts);
  }
  return contribution;
}

/**
 * A view row. `revision` guards its next write. A state table's view also carries its projection's entry, and
 * stays as a tombstone (no `value`) when its state is deleted, so that the entry is kept.
 */
export function encodeViewRow(
  generation: string,
  key: ItemKey,
  state: Record<string, unknown> | undefined,
  sequence: string,
  approximateTime: number | undefined,
  revision: number,
  entry: CheckpointEntry | undefined,
): SdkItem {
  const item: SdkItem = {
    ...viewRowKey(generation, key),
    [ATTR.generation]: { S: generation },
    [ATTR.rowKey]: { S: key.id },
    [ATTR.itemKey]: { M: toSdk(encodeItem(key.attributes)) },
    [ATTR.sequence]: { S: padSequence(sequence) },
    [ATTR.revision]: { N: String(revision) },
  };
  if (state !== undefined) item[ATTR.value] = { M: toSdk(encodeItem(state, ATTR.value)) };
  if (approximateTime !== undefined) item[ATTR.time] = { N: String(approximateTime) };
  if (entry !== undefined) item[ATTR.entry] = encodeEntry(entry);
  return item;
}

/** A view row's value; `undefined` for a tombstone, which only carries its projection's entry. */
export function decodeViewValue(item: SdkItem): Record<string, unknown> | undefined {
  const value = item[ATTR.value]?.M;
  return value === undefined ? undefined : decodeItem(value, ATTR.value);
}

/** A view row as the planner reads it, and the entry it carries, if any. */
export function decodeViewRow(item: SdkItem): { row: StoredViewRow; entry: CheckpointEntry | undefined } {
  const entryValue = item[ATTR.entry];
  const entry = entryValue === undefined ? undefined : decodeEntry(entryValue);
  if (entryValue !== undefined && entry === undefined) throw malformed(item);
  return { row: { state: decodeViewValue(item), sequence: item[ATTR.sequence]?.S ?? '', revision: Number(item[ATTR.revision]?.N ?? 0) }, entry };
}

/**
 * A row's source-item key, its attributes in name order as `ItemKey.attributes` has them: DynamoDB hands a
 * map's attributes back in an order of its own, and a key that reads back differently would not match.
 */
export function decodeItemKeyAttributes(item: SdkItem): Record<string, unknown> {
  const attributes = Object.entries(item[ATTR.itemKey]?.M ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return decodeItem(Object.fromEntries(attributes), ATTR.itemKey);
}

/** Sum rows keep bookkeeping under `_` names and `pk`/`sk`; every other attribute is a summed field. */
export function sumFields(item: SdkItem): Map<string, Decimal> {
  const fields = new Map<string, Decimal>();
  for (const [name, value] of Object.entries(item)) {
    if (name === ATTR.pk || name === ATTR.sk || name.startsWith('_')) continue;
    if (value.N !== undefined) fields.set(name, Decimal.parse(value.N));
  }
  return fields;
}
