import type { TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { viewRowId, type KeyWrite, type ViewWrite } from '../../src/projection/ports.js';
import { transactItemOf, type GuardedPut, type GuardedWrite } from './guarded.js';
import { itemSize } from './item-size.js';
import { ATTR, encodeCheckpoint, encodeEntry, encodeViewRow, viewRowKey, type SdkItem, type TableNames } from './layout.js';
import { sumRowId, type Unit } from './transactions.js';

/** One item written by itself, with a condition of its own: 1 write unit per KB. */
export interface Single {
  readonly index: number;
  /** A view row's generation; the checkpoint item's own entries' when it is the checkpoint. */
  readonly generations: readonly string[];
  readonly kind: 'row' | 'checkpoint';
  readonly write: GuardedWrite;
  /** The size it is billed at. */
  readonly bytes: number;
}

/**
 * One key's write as the store sends it. Each projection's effects travel with its entry: a state table's
 * view row carries its entry and is written alone; the checkpoint item (sums, event logs) is written in one
 * transaction with the sum deltas and the view rows whose entries it keeps, or alone when it is the only item.
 */
export interface KeyParts {
  readonly index: number;
  readonly write: KeyWrite;
  readonly singles: readonly Single[];
  readonly unit: Unit | undefined;
}

/** Attributes a view row may have in one version and not in the next. */
const ROW_OPTIONAL = [ATTR.value, ATTR.time, ATTR.entry];
/** Attributes a view row has alike in every version: they name the row. */
const ROW_FIXED = [ATTR.generation, ATTR.rowKey, ATTR.itemKey];
const NO_ENTRIES: ReadonlySet<string> = new Set();

export function partsOf(consumer: string, tables: TableNames, write: KeyWrite, index: number): KeyParts {
  const inRows = write.entriesInRows ?? NO_ENTRIES;
  const singles: Single[] = write.views.filter((view) => inRows.has(view.generation)).map((view) => rowSingle(tables, write, view, index));
  const items: Unit['items'][number][] = [];
  const rows = new Set<string>();
  let checkpoint: SdkItem | undefined;
  if (write.checkpointChanged !== false) {
    const entries = new Map([...write.checkpoint.entries].filter(([generation]) => !inRows.has(generation)));
    checkpoint = encodeCheckpoint(consumer, write.key, { revision: write.checkpoint.revision, entries });
    const put: GuardedPut = { type: 'put', table: tables.checkpoints, item: checkpoint, keyNames: [ATTR.pk], expectedRevision: write.expectedRevision, removable: [], fixed: [ATTR.rowKey] };
    if (write.sums.length === 0 && write.views.every((view) => inRows.has(view.generation))) {
      return { index, write, singles: [...singles, { index, generations: [...entries.keys()], kind: 'checkpoint', write: put, bytes: itemSize(checkpoint) }], unit: undefined };
    }
    items.push({ generation: undefined, item: transactItemOf(put), bytes: itemSize(checkpoint) });
    rows.add(`checkpoint\u0000${write.key.id}`);
  }
  for (const view of write.views.filter((candidate) => !inRows.has(candidate.generation))) {
    rows.add(viewRowId(view.generation, write.key));
    items.push({ generation: view.generation, ...heldRowItem(tables, write, view) });
  }
  for (const sum of write.sums) rows.add(sumRowId(sum.generation, sum.group));
  if (items.length === 0 && write.sums.length === 0) return { index, write, singles, unit: undefined };
  const bytes = items.reduce((total, item) => total + item.bytes, 0) + write.sums.reduce((total, sum) => total + 200 + sum.group.length, 0);
  return { index, write, singles, unit: { index, write, checkpoint, items, rows, bytes } };
}

/** A state table's view row, carrying its projection's entry: written alone, over the revision read. */
function rowSingle(tables: TableNames, write: KeyWrite, view: ViewWrite, index: number): Single {
  const entry = write.checkpoint.entries.get(view.generation);
  const revision = (view.expectedRevision ?? 0) + 1;
  if (view.keepState === true && view.expectedRevision !== undefined && view.expectedRevision > 0) {
    // Only the entry moves: the row's state, whatever its size, stays as it is.
    const set: SdkItem = { [ATTR.revision]: { N: String(revision) } };
    if (entry !== undefined) set[ATTR.entry] = encodeEntry(entry);
    const key = viewRowKey(view.generation, write.key);
    return { index, generations: [view.generation], kind: 'row', write: { type: 'update', table: tables.readModels, key, set, expectedRevision: view.expectedRevision }, bytes: itemSize({ ...key, ...set }) };
  }
  // A row with no state yet, or one whose state is deleted, is a tombstone carrying the entry.
  const state = view.keepState === true ? undefined : view.state;
  const item = encodeViewRow(view.generation, write.key, state, view.sequence, view.approximateTime, revision, entry);
  const put: GuardedPut = { type: 'put', table: tables.readModels, item, keyNames: [ATTR.pk, ATTR.sk], expectedRevision: view.expectedRevision, removable: ROW_OPTIONAL, fixed: ROW_FIXED };
  return { index, generations: [view.generation], kind: 'row', write: put, bytes: itemSize(item) };
}

/** An event log's view row, whose entry the checkpoint item keeps: written in its transaction. */
function heldRowItem(tables: TableNames, write: KeyWrite, view: ViewWrite): { item: TransactWriteItem; bytes: number } {
  const revision = (view.expectedRevision ?? 0) + 1;
  if (view.state === undefined) {
    const key = viewRowKey(view.generation, write.key);
    const condition = {
      ConditionExpression: '#rev = :rev',
      ExpressionAttributeNames: { '#rev': ATTR.revision },
      ExpressionAttributeValues: { ':rev': { N: String(view.expectedRevision ?? 0) } },
    };
    return { item: { Delete: { TableName: tables.readModels, Key: key, ...condition } }, bytes: 0 };
  }
  const item = encodeViewRow(view.generation, write.key, view.state, view.sequence, view.approximateTime, revision, undefined);
  return { item: transactItemOf({ type: 'put', table: tables.readModels, item, keyNames: [ATTR.pk, ATTR.sk], expectedRevision: view.expectedRevision, removable: [], fixed: [] }), bytes: itemSize(item) };
}
