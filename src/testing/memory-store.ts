import { StreamfoldError } from '../core/errors.js';
import type { ViewState } from '../projection/define.js';
import {
  viewRowId,
  type Checkpoint,
  type CheckpointEntry,
  type CommitOutcome,
  type KeyWrite,
  type LoadedState,
  type LoadOptions,
  type ReadModelReader,
  type ReadModelRow,
  type ReadModelStore,
  type Refusal,
  type StoredViewRow,
  type ViewWrite,
} from '../projection/ports.js';
import type { Decimal } from '../records/decimal.js';
import { addAmounts, sumRowValue } from '../projection/sum-rows.js';
import type { ItemKey } from '../records/item-key.js';
import { wireCopy } from '../records/wire-json.js';
import { combineOutcomes } from '../projection/combine-outcomes.js';

/** One part of a key's write that lands by itself: a view row carrying its entry, or the transactional rest. */
export type WritePart = { readonly kind: 'row'; readonly generation: string } | { readonly kind: 'transaction' };

interface Row {
  readonly key: ItemKey;
  readonly generation: string;
  /** `undefined`: a tombstone, kept for the entry it carries. */
  readonly state: ViewState | undefined;
  readonly sequence: string;
  readonly revision: number;
  readonly entry: CheckpointEntry | undefined;
}

/**
 * The read-model store in memory, with the DynamoDB store's semantics: a state table's view row carries its
 * projection's entry and lands by itself, guarded by the row's revision; the checkpoint item (sums, event
 * logs), the view rows whose entries it keeps and the sum deltas land together or not at all, guarded by the
 * item's revision and those rows'. One part of a key's write may land while another meets a moved condition,
 * as on DynamoDB. For projection unit tests that need no DynamoDB, and for fault injection.
 */
export class MemoryReadModelStore implements ReadModelStore, ReadModelReader {
  private readonly checkpoints = new Map<string, Checkpoint>();
  private readonly views = new Map<string, Row>();
  private readonly sums = new Map<string, { generation: string; group: string; fields: Map<string, Decimal> }>();
  /** Called before each write; return an outcome to make that write fail instead of landing. */
  interceptWrite: ((write: KeyWrite) => CommitOutcome | undefined) | undefined;
  /** Called before each part of a write lands; return an outcome to make that part fail instead. */
  interceptPart: ((write: KeyWrite, part: WritePart) => CommitOutcome | undefined) | undefined;
  /** Called after a part landed; `true` loses its answer (a timeout after the request was sent). */
  loseAnswer: ((write: KeyWrite, part: WritePart) => boolean) | undefined;
  commits = 0;

  /**
   * `refusals`: what DynamoDB would refuse of a write before it is sent (sizes, row counts), when a test wants
   * the DynamoDB adapter's limits in memory. A total past 38 significant digits is refused in any case.
   */
  constructor(
    private readonly limits: {
      readonly refusals?: (write: KeyWrite) => readonly Refusal[];
      readonly viewRowRefusal?: (generation: string, key: ItemKey, state: ViewState) => StreamfoldError | undefined;
    } = {},
  ) {}

  refusals(write: KeyWrite): readonly Refusal[] {
    return this.limits.refusals?.(write) ?? [];
  }

  viewRowRefusal(generation: string, key: ItemKey, state: ViewState): StreamfoldError | undefined {
    return this.limits.viewRowRefusal?.(generation, key, state);
  }

  async load(keys: readonly ItemKey[], views: readonly string[], _deadline?: unknown, options: LoadOptions = {}): Promise<LoadedState> {
    const checkpoints = new Map<string, Checkpoint>();
    const viewRows = new Map<string, StoredViewRow>();
    for (const key of keys) {
      const item = options.checkpointItems === false ? undefined : this.checkpoints.get(key.id);
      const entries = new Map(item?.entries);
      for (const generation of views) {
        const row = this.views.get(viewRowId(generation, key));
        if (row === undefined) continue;
        viewRows.set(viewRowId(generation, key), { state: row.state, sequence: row.sequence, revision: row.revision });
        if (row.entry !== undefined) entries.set(generation, row.entry);
      }
      if (item !== undefined || entries.size > 0) checkpoints.set(key.id, { revision: item?.revision ?? 0, entries });
    }
    return { checkpoints, viewRows };
  }

  async commit(writes: readonly KeyWrite[]): Promise<CommitOutcome[]> {
    this.commits += 1;
    return writes.map((write) => {
      const intercepted = this.interceptWrite?.(write);
      if (intercepted !== undefined) return intercepted;
      const inRows = write.entriesInRows ?? new Set<string>();
      const outcomes = write.views.filter((view) => inRows.has(view.generation)).map((view) => this.answer(write, { kind: 'row', generation: view.generation }, this.writeRow(write, view)));
      const rest = write.views.filter((view) => !inRows.has(view.generation));
      if (write.checkpointChanged !== false || rest.length > 0 || write.sums.length > 0) {
        outcomes.push(this.answer(write, { kind: 'transaction' }, this.writeTransaction(write, rest, inRows)));
      }
      return combineOutcomes(outcomes);
    });
  }

  private answer(write: KeyWrite, part: WritePart, outcome: CommitOutcome): CommitOutcome {
    const lost = outcome.status === 'committed' && this.loseAnswer?.(write, part) === true;
    return lost ? { status: 'retry', error: new Error('the answer was lost after the write landed') } : outcome;
  }

  /** A view row that carries its entry: it lands alone, if it still has the revision read. */
  private writeRow(write: KeyWrite, view: ViewWrite): CommitOutcome {
    const intercepted = this.interceptPart?.(write, { kind: 'row', generation: view.generation });
    if (intercepted !== undefined) return intercepted;
    const id = viewRowId(view.generation, write.key);
    const stored = this.views.get(id);
    if (stored?.revision !== view.expectedRevision) return { status: 'conflict' };
    this.views.set(id, {
      key: write.key,
      generation: view.generation,
      state: view.keepState === true ? stored?.state : view.state,
      sequence: view.keepState === true ? (stored?.sequence ?? view.sequence) : view.sequence,
      revision: (stored?.revision ?? 0) + 1,
      entry: write.checkpoint.entries.get(view.generation),
    });
    return { status: 'committed' };
  }

  /** The checkpoint item, the rows whose entries it keeps and the sum deltas: all of them, or none. */
  private writeTransaction(write: KeyWrite, views: readonly ViewWrite[], inRows: ReadonlySet<string>): CommitOutcome {
    const intercepted = this.interceptPart?.(write, { kind: 'transaction' });
    if (intercepted !== undefined) return intercepted;
    const writesItem = write.checkpointChanged !== false;
    if (writesItem && (this.checkpoints.get(write.key.id)?.revision ?? 0) !== (write.expectedRevision ?? 0)) return { status: 'conflict' };
    if (views.some((view) => this.views.get(viewRowId(view.generation, write.key))?.revision !== view.expectedRevision)) return { status: 'conflict' };
    const overflow = this.overflowing(write);
    if (overflow !== undefined) return overflow;
    if (writesItem) {
      const entries = new Map([...write.checkpoint.entries].filter(([generation]) => !inRows.has(generation)));
      this.checkpoints.set(write.key.id, asStored({ revision: write.checkpoint.revision, entries }));
    }
    for (const view of views) {
      const id = viewRowId(view.generation, write.key);
      const revision = (this.views.get(id)?.revision ?? 0) + 1;
      if (view.state === undefined) this.views.delete(id);
      else this.views.set(id, { key: write.key, generation: view.generation, state: view.state, sequence: view.sequence, revision, entry: undefined });
    }
    for (const sum of write.sums) {
      const id = `${sum.generation}\u0000${sum.group}`;
      const row = this.sums.get(id) ?? { generation: sum.generation, group: sum.group, fields: new Map() };
      addAmounts(row.fields, sum.amounts);
      this.sums.set(id, row);
    }
    return { status: 'committed' };
  }

  /** Like DynamoDB, a total that would need more than 38 significant digits is refused, and nothing lands. */
  private overflowing(write: KeyWrite): CommitOutcome | undefined {
    for (const sum of write.sums) {
      const fields = this.sums.get(`${sum.generation}\u0000${sum.group}`)?.fields;
      for (const [field, amount] of sum.amounts) {
        try {
          (fields?.get(field)?.add(amount) ?? amount).assertStorable();
        } catch (error) {
          const message = `the total of ${field} in group "${sum.group}" of ${sum.generation} would need more than 38 significant digits`;
          const totals = [...(fields ?? [])].map(([name, total]) => ({ generation: sum.generation, group: sum.group, field: name, total }));
          return { status: 'refused', error: new StreamfoldError('STORE_WRITE_FAILED', message, { cause: error }), generations: [sum.generation], totals };
        }
      }
    }
    return undefined;
  }

  async *rows(generation: string, kind: 'view' | 'sum'): AsyncIterable<ReadModelRow> {
    if (kind === 'view') {
      const rows = [...this.views.values()].filter((row) => row.generation === generation);
      rows.sort((a, b) => (a.key.id < b.key.id ? -1 : a.key.id > b.key.id ? 1 : 0));
      // A tombstone only carries its projection's entry: readers never see it.
      for (const row of rows) if (row.state !== undefined) yield { key: row.key.attributes, value: row.state };
      return;
    }
    const rows = [...this.sums.values()].filter((row) => row.generation === generation);
    rows.sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
    for (const row of rows) {
      const value = sumRowValue(row.fields);
      if (value !== undefined) yield { key: row.group, value };
    }
  }
}

/**
 * The checkpoint as DynamoDB would hand it back: the events held behind a gap go through the same wire JSON
 * as the checkpoint item's, so a test sees copies (binaries as bytes), never the objects it passed in.
 */
function asStored(checkpoint: Checkpoint): Checkpoint {
  const held = [...checkpoint.entries.values()].some((entry) => entry.pending !== undefined && entry.pending.size > 0);
  if (!held) return checkpoint;
  const entries = new Map(
    [...checkpoint.entries].map(([generation, entry]) => [
      generation,
      entry.pending === undefined ? entry : { ...entry, pending: new Map([...entry.pending].map(([version, record]) => [version, wireCopy(record)])) },
    ]),
  );
  return { ...checkpoint, entries };
}
