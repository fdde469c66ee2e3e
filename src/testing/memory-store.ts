import { StreamfoldError } from '../core/errors.js';
import type { ViewState } from '../projection/define.js';
import {
  viewRowId,
  type Checkpoint,
  type CommitOutcome,
  type KeyWrite,
  type LoadedState,
  type ReadModelReader,
  type ReadModelRow,
  type ReadModelStore,
  type Refusal,
  type StoredViewRow,
} from '../projection/ports.js';
import type { Decimal } from '../records/decimal.js';
import { addAmounts, sumRowValue } from '../projection/sum-rows.js';
import type { ItemKey } from '../records/item-key.js';
import { wireCopy } from '../records/wire-json.js';

/**
 * The read-model store in memory, with the DynamoDB store's semantics: a key's write lands whole or not at
 * all, and only if its checkpoint still has the revision that was read. For projection unit tests that need
 * no DynamoDB, and for fault injection (`failNextCommits`).
 */
export class MemoryReadModelStore implements ReadModelStore, ReadModelReader {
  private readonly checkpoints = new Map<string, Checkpoint>();
  private readonly views = new Map<string, { key: ItemKey; generation: string; state: ViewState; sequence: string }>();
  private readonly sums = new Map<string, { generation: string; group: string; fields: Map<string, Decimal> }>();
  /** Called before each write; return an outcome to make that write fail instead of landing. */
  interceptWrite: ((write: KeyWrite) => CommitOutcome | undefined) | undefined;
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

  async load(keys: readonly ItemKey[], views: readonly string[]): Promise<LoadedState> {
    const checkpoints = new Map<string, Checkpoint>();
    const viewRows = new Map<string, StoredViewRow>();
    for (const key of keys) {
      const checkpoint = this.checkpoints.get(key.id);
      if (checkpoint !== undefined) checkpoints.set(key.id, checkpoint);
      for (const generation of views) {
        const row = this.views.get(viewRowId(generation, key));
        if (row !== undefined) viewRows.set(viewRowId(generation, key), { state: row.state, sequence: row.sequence });
      }
    }
    return { checkpoints, viewRows };
  }

  async commit(writes: readonly KeyWrite[]): Promise<CommitOutcome[]> {
    this.commits += 1;
    return writes.map((write) => {
      const intercepted = this.interceptWrite?.(write);
      if (intercepted !== undefined) return intercepted;
      if (this.checkpoints.get(write.key.id)?.revision !== write.expectedRevision) return { status: 'conflict' };
      const rowsMoved = write.views.some(
        (view) => this.views.get(viewRowId(view.generation, write.key))?.sequence !== view.expectedSequence,
      );
      if (rowsMoved) return { status: 'conflict' };
      const overflow = this.overflowing(write);
      if (overflow !== undefined) return overflow;
      this.checkpoints.set(write.key.id, asStored(write.checkpoint));
      for (const view of write.views) {
        const id = viewRowId(view.generation, write.key);
        if (view.state === undefined) this.views.delete(id);
        else this.views.set(id, { key: write.key, generation: view.generation, state: view.state, sequence: view.sequence });
      }
      for (const sum of write.sums) {
        const id = `${sum.generation}\u0000${sum.group}`;
        const row = this.sums.get(id) ?? { generation: sum.generation, group: sum.group, fields: new Map() };
        addAmounts(row.fields, sum.amounts);
        this.sums.set(id, row);
      }
      return { status: 'committed' };
    });
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
      for (const row of rows) yield { key: row.key.attributes, value: row.state };
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
