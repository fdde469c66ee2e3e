import { StreamfoldError, errorMessage, isStreamfoldError } from '../errors.js';
import type { ChangeEvent } from '../records/change-event.js';
import type { KeyRun } from '../records/order.js';
import { compareSequences } from '../records/sequence.js';
import { contributionDelta, toContributionAmounts } from './contribution.js';
import { generationOf, type Projection, type ViewState } from './define.js';
import {
  viewRowId,
  type CheckpointEntry,
  type ContributionAmounts,
  type KeyWrite,
  type LoadedState,
  type SumDelta,
  type ViewWrite,
} from './ports.js';
import type { ImageParser } from './typed-event.js';

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
  /** Sequence of the first record applied now: where the key fails if the write cannot be made. */
  readonly firstApplied: { readonly sequence: string; readonly eventID: string } | undefined;
  /** Records every projection had already applied: duplicates of earlier deliveries, or stale. */
  readonly stale: number;
  /** The first record that cannot be applied; the key's later records wait behind it. */
  readonly failure: KeyFailure | undefined;
  /** Approximate time of the newest record applied, for lag. */
  readonly newestTime: number | undefined;
}

interface Fold {
  /** Steps folded: `[0, end)`. */
  readonly end: number;
  readonly applied: ReadonlySet<number>;
  readonly sequence: string | undefined;
  readonly state: ViewState | undefined;
  readonly contribution: ContributionAmounts | undefined;
  readonly failure: { readonly index: number; readonly error: StreamfoldError } | undefined;
}

/**
 * Folds one key's run through every projection, from the checkpoint on. A key stops at its first record
 * that fails in any projection, so its later records never take effect out of order.
 */
export function planKey(
  run: KeyRun,
  loaded: LoadedState,
  projections: readonly Projection[],
  parser: ImageParser,
): KeyPlan {
  const checkpoint = loaded.checkpoints.get(run.key.id);
  let limit = run.steps.length;
  let failure: KeyFailure | undefined;
  const undecodable = run.steps.findIndex((step) => step.type === 'undecodable');
  if (undecodable >= 0) {
    const step = run.steps[undecodable];
    if (step?.type === 'undecodable') {
      limit = undecodable;
      failure = { sequence: step.sequence, eventID: step.failure.eventID, error: step.failure.error };
    }
  }

  const folds = new Map<Projection, Fold>();
  let settled = false;
  while (!settled) {
    settled = true;
    for (const projection of projections) {
      const previous = folds.get(projection);
      if (previous !== undefined && previous.end <= limit) continue;
      const generation = generationOf(projection);
      const fold = foldProjection(
        projection,
        run,
        limit,
        checkpoint?.entries.get(generation),
        loaded.viewRows.get(viewRowId(generation, run.key)),
        parser,
      );
      folds.set(projection, fold);
      if (fold.failure !== undefined && fold.failure.index < limit) {
        const step = run.steps[fold.failure.index];
        limit = fold.failure.index;
        failure = {
          sequence: step?.sequence ?? '',
          eventID: step?.type === 'event' ? step.event.eventID : undefined,
          error: fold.failure.error,
        };
        settled = false;
      }
    }
  }

  const appliedSteps = new Set<number>();
  for (const fold of folds.values()) for (const index of fold.applied) appliedSteps.add(index);
  let newestTime: number | undefined;
  let firstIndex: number | undefined;
  for (const index of appliedSteps) {
    if (firstIndex === undefined || index < firstIndex) firstIndex = index;
    const step = run.steps[index];
    const time = step?.type === 'event' ? step.event.approximateTime : undefined;
    if (time !== undefined && (newestTime === undefined || time > newestTime)) newestTime = time;
  }
  return {
    run,
    write: buildWrite(run, loaded, projections, folds),
    applied: appliedSteps.size,
    firstApplied: firstAppliedOf(run, firstIndex),
    stale: limit - appliedSteps.size,
    failure,
    newestTime,
  };
}

function firstAppliedOf(run: KeyRun, index: number | undefined): KeyPlan['firstApplied'] {
  const step = index === undefined ? undefined : run.steps[index];
  return step?.type === 'event' ? { sequence: step.sequence, eventID: step.event.eventID } : undefined;
}

function foldProjection(
  projection: Projection,
  run: KeyRun,
  limit: number,
  entry: CheckpointEntry | undefined,
  storedRow: ViewState | undefined,
  parser: ImageParser,
): Fold {
  let sequence = entry?.sequence;
  let state = storedRow;
  let contribution = entry?.contribution;
  const applied = new Set<number>();
  for (let index = 0; index < limit; index += 1) {
    const step = run.steps[index];
    if (step === undefined || step.type !== 'event') continue;
    if (sequence !== undefined && compareSequences(step.sequence, sequence) <= 0) continue;
    try {
      if (projection.kind === 'view') {
        // A view's state is whatever its evolve() returns; stored rows are plain records of it.
        state = projection.evolve(state, parser.event(projection, step.event)) as ViewState | undefined;
      } else {
        contribution = contributionOf(projection, step.event, parser);
      }
    } catch (error) {
      return { end: index, applied, sequence, state, contribution, failure: { index, error: placed(error, projection, step.event) } };
    }
    sequence = step.sequence;
    applied.add(index);
  }
  return { end: limit, applied, sequence, state, contribution, failure: undefined };
}

function contributionOf(
  projection: Extract<Projection, { kind: 'sum' }>,
  event: ChangeEvent,
  parser: ImageParser,
): ContributionAmounts {
  if (event.kind === 'remove') return new Map();
  if (event.newImage === undefined) {
    throw new StreamfoldError(
      'SCHEMA_MISMATCH',
      `a sum needs the new image of every insert and modify; this stream's view type is ${event.viewType ?? 'unknown'} (use NEW_IMAGE or NEW_AND_OLD_IMAGES)`,
      { field: 'dynamodb.NewImage' },
    );
  }
  const image = parser.image(projection, event, 'NewImage');
  return toContributionAmounts(projection.contribute(image, event.key.attributes));
}

function placed(error: unknown, projection: Projection, event: ChangeEvent): StreamfoldError {
  const location = { projection: projection.name, eventID: event.eventID, key: event.key.id, sequence: event.sequence };
  if (isStreamfoldError(error)) return error.locate(location);
  const step = projection.kind === 'view' ? 'evolve()' : 'contribute()';
  return new StreamfoldError('PROJECTION_FAILED', `${step} threw: ${errorMessage(error)}`, { cause: error, ...location });
}

function buildWrite(
  run: KeyRun,
  loaded: LoadedState,
  projections: readonly Projection[],
  folds: ReadonlyMap<Projection, Fold>,
): KeyWrite | undefined {
  const checkpoint = loaded.checkpoints.get(run.key.id);
  const entries = new Map(checkpoint?.entries);
  const views: ViewWrite[] = [];
  const sums: SumDelta[] = [];
  for (const projection of projections) {
    const fold = folds.get(projection);
    if (fold === undefined || fold.applied.size === 0 || fold.sequence === undefined) continue;
    const generation = generationOf(projection);
    if (projection.kind === 'view') {
      entries.set(generation, { sequence: fold.sequence });
      const existed = loaded.viewRows.has(viewRowId(generation, run.key));
      if (existed || fold.state !== undefined) {
        const lastStep = run.steps[Math.max(...fold.applied)];
        views.push({
          generation,
          state: fold.state,
          sequence: fold.sequence,
          approximateTime: lastStep?.type === 'event' ? lastStep.event.approximateTime : undefined,
        });
      }
    } else {
      const contribution = fold.contribution ?? new Map();
      entries.set(generation, { sequence: fold.sequence, contribution });
      const previous = checkpoint?.entries.get(generation)?.contribution;
      for (const [group, amounts] of contributionDelta(previous, contribution)) {
        sums.push({ generation, group, shards: projection.shards, amounts });
      }
    }
  }
  if (entries.size === (checkpoint?.entries.size ?? 0) && views.length === 0 && sums.length === 0) {
    const unchanged = [...entries].every(([generation, entry]) => checkpoint?.entries.get(generation) === entry);
    if (unchanged) return undefined;
  }
  return {
    key: run.key,
    expectedRevision: checkpoint?.revision,
    checkpoint: { revision: (checkpoint?.revision ?? 0) + 1, entries },
    views,
    sums,
  };
}
