import type { StreamfoldError } from '../core/errors.js';
import type { ChangeEvent } from '../records/change-event.js';
import type { KeyRun, RunStep } from '../records/order.js';
import { generationOf, type Projection } from './define.js';
import { foldProjection, type Fold } from './fold.js';
import { writeOf } from './key-write.js';
import type { PlanContext } from './lane.js';
import { eventIdOf } from './parked.js';
import { viewRowId, type GapReport, type KeyWrite, type LoadedState } from './ports.js';

export interface KeyFailure {
  readonly sequence: string;
  readonly eventID: string | undefined;
  readonly error: StreamfoldError;
}

/** What one key's records of a batch come to, before anything is written. */
export interface KeyPlan {
  readonly run: KeyRun;
  /** `undefined` when every record was already applied. */
  readonly write: KeyWrite | undefined;
  /** Records that at least one projection applies now. */
  readonly applied: number;
  /** Records that at least one projection parks now. */
  readonly parked: number;
  /** Sequence of the first record taken now: where the key fails if the write cannot be made. */
  readonly firstApplied: { readonly sequence: string; readonly eventID: string | undefined } | undefined;
  /** Records every projection had already taken: duplicates of earlier deliveries, or stale. */
  readonly stale: number;
  /** Of those, the records an earlier delivery parked (the checkpoint holds them as its block); a state table's. */
  readonly parkedBefore?: number;
  /** The first record that cannot be applied now but may be later; the key's later records wait. */
  readonly failure: KeyFailure | undefined;
  /** Approximate time of the newest record applied, for lag. */
  readonly newestTime: number | undefined;
  /** Event logs: gaps in a stream's versions open past the log's timeout. */
  readonly gaps?: readonly GapReport[];
  /** The same counts per projection, for its metrics, and what each applied (to blame a refused write). */
  readonly byProjection: readonly ProjectionCounts[];
  /** Event logs: what fan-out may publish, in version order (held events wait until they apply). */
  readonly publishable?: readonly PublishableEvent[];
}

/** An event of a stream for fan-out: applied now, or delivered again after it had applied. */
export interface PublishableEvent {
  readonly event: ChangeEvent;
  readonly record: unknown;
  /** It applied from the checkpoint, where it had waited: no later delivery of this batch brings it back. */
  readonly fromCheckpoint: boolean;
}

export interface ProjectionCounts {
  readonly projection: string;
  readonly generation: string;
  readonly applied: number;
  readonly parked: number;
  readonly skipped: number;
  readonly newestTime: number | undefined;
  /** The sequences (versions, for an event log) this projection applies now, in order. */
  readonly appliedSequences: readonly string[];
}

/**
 * Plans one key's run of a state table through every projection, from its checkpoint on. A record that can
 * never succeed in a projection is parked there; a record that fails for a passing reason stops the key in
 * every projection, so its later records never take effect out of order.
 */
/** `entriesInRows`: the generations of `all` that keep their checkpoint entry in their view row (the views). */
export function planKey(run: KeyRun, loaded: LoadedState, all: readonly Projection[], context: PlanContext, entriesInRows: ReadonlySet<string>): KeyPlan {
  const projections = context.lifted === undefined ? all : all.filter((projection) => generationOf(projection) === context.lifted);
  const checkpoint = loaded.checkpoints.get(run.key.id);
  let limit = run.steps.length;
  let failure: KeyFailure | undefined;
  const folds = new Map<Projection, Fold>();
  // A passing failure in one projection cuts the run for all: fold again up to it until none cuts further.
  for (let settled = false; !settled; ) {
    settled = true;
    for (const projection of projections) {
      const previous = folds.get(projection);
      if (previous !== undefined && previous.end <= limit) continue;
      const generation = generationOf(projection);
      const fold = foldProjection(
        projection,
        run.steps,
        limit,
        checkpoint?.entries.get(generation),
        loaded.viewRows.get(viewRowId(generation, run.key))?.state,
        {
          ...context,
          refused: context.refused.get(generation),
          lifted: context.lifted === generation,
          checkRow: context.checkRow === undefined ? undefined : (state) => context.checkRow?.(generation, run.key, state),
          totals: context.totals?.get(generation),
        },
        run.key.id,
      );
      folds.set(projection, fold);
      if (fold.failure !== undefined && fold.failure.index < limit) {
        const step = run.steps[fold.failure.index];
        limit = fold.failure.index;
        failure = { sequence: step?.sequence ?? '', eventID: eventIdOf(step), error: fold.failure.error };
        settled = false;
      }
    }
  }

  const applied = new Set<number>();
  const parked = new Set<number>();
  for (const fold of folds.values()) {
    for (const index of fold.applied) applied.add(index);
    for (const { index } of fold.parked) parked.add(index);
  }
  const taken = [...applied, ...parked];
  const takenNow = new Set(taken);
  const parkedBefore = new Set<number>();
  for (const fold of folds.values()) for (const index of fold.parkedBefore) if (index < limit && !takenNow.has(index)) parkedBefore.add(index);
  const first = taken.length === 0 ? undefined : run.steps[Math.min(...taken)];
  const byProjection = projections.map((projection): ProjectionCounts => {
    const fold = folds.get(projection);
    const indexes = [...(fold?.applied ?? [])].sort((a, b) => a - b);
    const appliedHere = indexes.length;
    const parkedHere = fold?.parked.length ?? 0;
    return {
      projection: projection.name,
      generation: generationOf(projection),
      applied: appliedHere,
      parked: parkedHere,
      skipped: Math.max(0, limit - appliedHere - parkedHere),
      newestTime: newestOf(run.steps, indexes),
      appliedSequences: indexes.map((index) => run.steps[index]?.sequence ?? ''),
    };
  });
  return {
    run,
    write: writeOf(run, loaded, all, folds, entriesInRows),
    byProjection,
    applied: applied.size,
    parked: parked.size,
    firstApplied: first === undefined ? undefined : { sequence: first.sequence, eventID: eventIdOf(first) },
    stale: limit - takenNow.size,
    parkedBefore: parkedBefore.size,
    failure,
    newestTime: newestOf(run.steps, applied),
  };
}

function newestOf(steps: readonly RunStep[], indexes: Iterable<number>): number | undefined {
  let newest: number | undefined;
  for (const index of indexes) {
    const step = steps[index];
    const time = step?.type === 'event' ? step.event.approximateTime : undefined;
    if (time !== undefined && (newest === undefined || time > newest)) newest = time;
  }
  return newest;
}
