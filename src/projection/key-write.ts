import type { ItemKey } from '../records/item-key.js';
import type { KeyRun, RunStep } from '../records/order.js';
import { compareSequences } from '../records/sequence.js';
import { contributionDelta } from './contribution.js';
import { generationOf, type Projection } from './define.js';
import type { Fold } from './fold.js';
import {
  viewRowId,
  type Checkpoint,
  type CheckpointEntry,
  type KeyWrite,
  type LoadedState,
  type ParkedRecord,
  type StoredViewRow,
  type SumDelta,
  type ViewWrite,
} from './ports.js';

/** What one projection's fold comes to: its entry, its view row, its sum deltas. */
export interface ProjectionChanges {
  readonly entry: CheckpointEntry | undefined;
  readonly view: ViewWrite | undefined;
  readonly sums: SumDelta[];
}

const NOTHING: ProjectionChanges = { entry: undefined, view: undefined, sums: [] };

/**
 * The entry, view row and sum deltas one projection's fold comes to. A view's entry lives in its row, so
 * whenever the entry moves the row is written, if only to carry it (`keepState`).
 */
function projectionChanges(
  projection: Projection,
  steps: readonly RunStep[],
  previous: CheckpointEntry | undefined,
  storedRow: StoredViewRow | undefined,
  fold: Fold,
): ProjectionChanges {
  const progressed = fold.applied.size > 0 || fold.parked.length > 0 || fold.blockedAt !== previous?.blockedAt;
  if (!progressed || fold.sequence === undefined) return NOTHING;
  const generation = generationOf(projection);
  // A redrive folds parked records from before its block: the checkpoint never goes back.
  const sequence = previous !== undefined && compareSequences(previous.sequence, fold.sequence) > 0 ? previous.sequence : fold.sequence;
  if (projection.kind === 'view') {
    // Written whenever a record applied, a delete included even if no row was read: the read may have
    // missed a row another writer had just put, and the write's condition is what finds that out. A row
    // already written at a later sequence is never rolled back: only its entry moves.
    const rowIsAhead = storedRow !== undefined && compareSequences(storedRow.sequence, fold.sequence) > 0;
    const writesState = fold.applied.size > 0 && !rowIsAhead;
    const lastStep = writesState ? steps[Math.max(...fold.applied)] : undefined;
    const view: ViewWrite = {
      generation,
      state: writesState ? fold.state : storedRow?.state,
      keepState: !writesState,
      expectedRevision: storedRow?.revision,
      sequence: writesState ? fold.sequence : (storedRow?.sequence ?? fold.sequence),
      approximateTime: lastStep?.type === 'event' ? lastStep.event.approximateTime : undefined,
    };
    return { entry: { sequence, blockedAt: fold.blockedAt }, view, sums: [] };
  }
  const contribution = fold.contribution ?? new Map();
  const sums: SumDelta[] = [];
  for (const [group, amounts] of contributionDelta(previous?.contribution, contribution)) {
    sums.push({ generation, group, shards: projection.shards, amounts });
  }
  return { entry: { sequence, contribution, blockedAt: fold.blockedAt }, view: undefined, sums };
}

/**
 * A state table key's write from its projections' folds (`all`: every projection of the lane; its views keep
 * their entries in their rows, so the checkpoint item is written only when a sum's entry moves).
 *
 * A sum record that leaves the item's contribution as it was adds nothing to any group, but its sequence is
 * still recorded (in the checkpoint item alone, with no transaction, when nothing else goes with it): records
 * of one item may arrive out of order across batches, and an older record that arrives after it, with a
 * different contribution, must be found stale. Were the sequence not recorded, the older record would apply
 * and the sum would keep a contribution the item no longer has.
 */
export function writeOf(
  run: KeyRun,
  loaded: LoadedState,
  all: readonly Projection[],
  folds: ReadonlyMap<Projection, Fold>,
  entriesInRows: ReadonlySet<string>,
): KeyWrite | undefined {
  const checkpoint = loaded.checkpoints.get(run.key.id);
  const entries = new Map(checkpoint?.entries);
  const views: ViewWrite[] = [];
  const sums: SumDelta[] = [];
  const parked: ParkedRecord[] = [];
  let itemChanged = false;
  for (const projection of all) {
    const fold = folds.get(projection);
    if (fold === undefined) continue;
    const generation = generationOf(projection);
    const changes = projectionChanges(projection, run.steps, checkpoint?.entries.get(generation), loaded.viewRows.get(viewRowId(generation, run.key)), fold);
    if (changes.entry === undefined) continue;
    entries.set(generation, changes.entry);
    if (changes.view !== undefined) views.push(changes.view);
    else itemChanged = true;
    sums.push(...changes.sums);
    parked.push(...fold.parked.map(({ record }) => record));
  }
  if (!itemChanged && views.length === 0) return undefined;
  return keyWrite(run.key, checkpoint, entries, views, sums, parked, { entriesInRows, checkpointChanged: itemChanged });
}

/** A key's write: its changes, and its checkpoint at the next revision, conditional on the one read. */
export function keyWrite(
  key: ItemKey,
  checkpoint: Checkpoint | undefined,
  entries: ReadonlyMap<string, CheckpointEntry>,
  views: readonly ViewWrite[],
  sums: readonly SumDelta[],
  parked: readonly ParkedRecord[],
  layout: Pick<KeyWrite, 'entriesInRows' | 'checkpointChanged'> = {},
): KeyWrite {
  return {
    key,
    expectedRevision: checkpoint?.revision,
    checkpoint: { revision: (checkpoint?.revision ?? 0) + (layout.checkpointChanged === false ? 0 : 1), entries },
    ...layout,
    views,
    sums,
    parked,
  };
}

/**
 * A write that moves one projection's entry and nothing else (a purge lifting a block): through the view
 * row that carries it, or the checkpoint item.
 */
export function entryWrite(key: ItemKey, loaded: LoadedState, generation: string, entry: CheckpointEntry): KeyWrite {
  const checkpoint = loaded.checkpoints.get(key.id);
  const entries = new Map([...(checkpoint?.entries ?? []), [generation, entry]]);
  const row = loaded.viewRows.get(viewRowId(generation, key));
  if (row === undefined) return keyWrite(key, checkpoint, entries, [], [], []);
  const view: ViewWrite = { generation, state: row.state, keepState: true, expectedRevision: row.revision, sequence: row.sequence, approximateTime: undefined };
  return keyWrite(key, checkpoint, entries, [view], [], [], { entriesInRows: new Set([generation]), checkpointChanged: false });
}
