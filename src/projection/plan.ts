import { StreamfoldError, errorMessage, isStreamfoldError } from '../errors.js';
import { encodeItem, isPlainRecord } from '../records/attribute-value.js';
import type { ChangeEvent } from '../records/change-event.js';
import type { ItemKey } from '../records/item-key.js';
import type { KeyRun, RunStep } from '../records/order.js';
import { compareSequences, padSequence } from '../records/sequence.js';
import { contributionDelta, toContributionAmounts } from './contribution.js';
import { generationOf, type Projection, type ViewState } from './define.js';
import {
  viewRowId,
  type Checkpoint,
  type CheckpointEntry,
  type ContributionAmounts,
  type KeyWrite,
  type LoadedState,
  type GapReport,
  type ParkedRecord,
  type StoredViewRow,
  type SumDelta,
  type ViewWrite,
} from './ports.js';
import type { ImageParser } from './typed-event.js';

export interface KeyFailure {
  readonly sequence: string;
  readonly eventID: string | undefined;
  readonly error: StreamfoldError;
}

export interface PlanOptions {
  /**
   * Whether records that can never succeed are parked (and the key goes on) rather than reported as failed
   * (and the key stops there until Lambda gives up on them).
   */
  readonly parking: boolean;
  readonly now: () => number;
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
  /** The first record that cannot be applied now but may be later; the key's later records wait. */
  readonly failure: KeyFailure | undefined;
  /** Approximate time of the newest record applied, for lag. */
  readonly newestTime: number | undefined;
  /** Event logs: gaps in a stream's versions open past the log's timeout. */
  readonly gaps?: readonly GapReport[];
  /** The same counts per projection, for its metrics. */
  readonly byProjection?: readonly ProjectionCounts[];
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
  readonly applied: number;
  readonly parked: number;
  readonly skipped: number;
  readonly newestTime: number | undefined;
}

export interface Fold {
  /** Steps folded: `[0, end)`. */
  readonly end: number;
  readonly applied: ReadonlySet<number>;
  readonly parked: readonly { readonly index: number; readonly record: ParkedRecord }[];
  readonly sequence: string | undefined;
  readonly state: ViewState | undefined;
  readonly contribution: ContributionAmounts | undefined;
  readonly blockedAt: string | undefined;
  readonly failure: { readonly index: number; readonly error: StreamfoldError } | undefined;
}

/**
 * Folds one key's run through every projection, from its checkpoint on. A record that can never succeed
 * in a projection is parked there (and, unless the projection skips, the key's later records wait behind
 * it); a record that fails for a passing reason stops the key in every projection, so its later records
 * never take effect out of order.
 */
export function planKey(
  run: KeyRun,
  loaded: LoadedState,
  projections: readonly Projection[],
  parser: ImageParser,
  options: PlanOptions,
): KeyPlan {
  const checkpoint = loaded.checkpoints.get(run.key.id);
  let limit = run.steps.length;
  let failure: KeyFailure | undefined;
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
        run.steps,
        limit,
        checkpoint?.entries.get(generation),
        loaded.viewRows.get(viewRowId(generation, run.key))?.state,
        parser,
        options,
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
  const first = taken.length === 0 ? undefined : run.steps[Math.min(...taken)];
  let newestTime: number | undefined;
  for (const index of applied) {
    const step = run.steps[index];
    const time = step?.type === 'event' ? step.event.approximateTime : undefined;
    if (time !== undefined && (newestTime === undefined || time > newestTime)) newestTime = time;
  }
  const byProjection = projections.map((projection): ProjectionCounts => {
    const fold = folds.get(projection);
    let newest: number | undefined;
    for (const index of fold?.applied ?? []) {
      const step = run.steps[index];
      const time = step?.type === 'event' ? step.event.approximateTime : undefined;
      if (time !== undefined && (newest === undefined || time > newest)) newest = time;
    }
    const appliedHere = fold?.applied.size ?? 0;
    const parkedHere = fold?.parked.length ?? 0;
    return { projection: projection.name, applied: appliedHere, parked: parkedHere, skipped: Math.max(0, limit - appliedHere - parkedHere), newestTime: newest };
  });
  return {
    run,
    write: buildWrite(run, loaded, projections, folds),
    byProjection,
    applied: applied.size,
    parked: [...parked].filter((index) => !applied.has(index)).length,
    firstApplied: first === undefined ? undefined : { sequence: first.sequence, eventID: eventIdOf(first) },
    stale: limit - new Set(taken).size,
    failure,
    newestTime,
  };
}

/** Applies one event to a projection's state: the one place where a view evolves and a sum contributes. */
export function applyEvent(
  projection: Projection,
  event: ChangeEvent,
  state: ViewState | undefined,
  contribution: ContributionAmounts | undefined,
  parser: ImageParser,
): { state: ViewState | undefined; contribution: ContributionAmounts | undefined } {
  try {
    if (projection.kind === 'view') {
      const next: unknown = projection.evolve(state, parser.event(projection, event));
      return { state: storableState(next), contribution };
    }
    return { state, contribution: contributionOf(projection, event, parser) };
  } catch (error) {
    throw placed(error, projection, event);
  }
}

/**
 * A row must be a plain object DynamoDB can store. Checked here, at the record that produced it, so a
 * `Date` or a 39-digit number fails that record alone rather than the whole batch's write.
 */
export function storableState(next: unknown): ViewState | undefined {
  if (next === undefined) return undefined;
  if (!isPlainRecord(next)) {
    throw new StreamfoldError('INVALID_PROJECTION', 'evolve() must return a plain object or undefined', {
      field: 'evolve()',
    });
  }
  encodeItem(next, 'value');
  return next;
}

/**
 * A sum's change is written as one `ADD` of `new - old`, which DynamoDB must be able to hold: moving an
 * amount from 1E-10 to 1E+30 needs 41 digits. Such a record fails alone, with the field named.
 */
function assertStorableDelta(previous: ContributionAmounts | undefined, next: ContributionAmounts): void {
  // The difference of two integers below 10^37 has at most 38 digits: nothing to check in the usual case.
  if (onlyModestIntegers(next) && (previous === undefined || onlyModestIntegers(previous))) return;
  for (const [group, amounts] of contributionDelta(previous, next)) {
    for (const [field, amount] of amounts) {
      try {
        amount.assertStorable();
      } catch (error) {
        throw new StreamfoldError(
          'INVALID_NUMBER',
          `the change to ${group}.${field} cannot be added in DynamoDB: ${errorMessage(error)}`,
          { field: `contribute().${group}.${field}`, cause: error },
        );
      }
    }
  }
}

export function foldProjection(
  projection: Projection,
  steps: readonly RunStep[],
  limit: number,
  entry: CheckpointEntry | undefined,
  storedRow: ViewState | undefined,
  parser: ImageParser,
  options: PlanOptions,
  keyId: string,
): Fold {
  let sequence = entry?.sequence;
  let state = storedRow;
  let contribution = entry?.contribution;
  let blockedAt = entry?.blockedAt;
  const applied = new Set<number>();
  const parked: { index: number; record: ParkedRecord }[] = [];
  const generation = generationOf(projection);
  const park = (index: number, step: RunStep, reason: ParkedRecord['reason'], error: StreamfoldError): void => {
    parked.push({ index, record: parkedRecord(projection, generation, keyId, step, reason, error, options.now()) });
    sequence = step.sequence;
  };
  for (let index = 0; index < limit; index += 1) {
    const step = steps[index];
    if (step === undefined) continue;
    if (sequence !== undefined && compareSequences(step.sequence, sequence) <= 0) continue;
    if (blockedAt !== undefined) {
      const waiting = new StreamfoldError('PROJECTION_FAILED', `waits behind the record parked at sequence ${blockedAt}`, {
        projection: projection.name,
        key: keyId,
        sequence: step.sequence,
        eventID: eventIdOf(step),
      });
      if (!options.parking) return stopped(index, waiting);
      park(index, step, 'waiting', waiting);
      continue;
    }
    let error: StreamfoldError | undefined;
    if (step.type === 'undecodable') {
      error = step.failure.error.locate({ projection: projection.name });
    } else {
      try {
        ({ state, contribution } = applyEvent(projection, step.event, state, contribution, parser));
        if (projection.kind === 'sum' && contribution !== undefined) {
          try {
            assertStorableDelta(entry?.contribution, contribution);
          } catch (invalid) {
            throw placed(invalid, projection, step.event);
          }
        }
      } catch (caught) {
        error = caught as StreamfoldError;
      }
    }
    if (error === undefined) {
      sequence = step.sequence;
      applied.add(index);
      continue;
    }
    if (error.retryable || !options.parking) return stopped(index, error);
    park(index, step, 'failed', error);
    if (projection.onPoison !== 'skip') blockedAt = step.sequence;
  }
  return { end: limit, applied, parked, sequence, state, contribution, blockedAt, failure: undefined };

  function stopped(index: number, error: StreamfoldError): Fold {
    return { end: index, applied, parked, sequence, state, contribution, blockedAt, failure: { index, error } };
  }
}

function parkedRecord(
  projection: Projection,
  generation: string,
  keyId: string,
  step: RunStep,
  reason: ParkedRecord['reason'],
  error: StreamfoldError,
  now: number,
): ParkedRecord {
  const record = step.type === 'event' ? step.record : step.failure.record;
  return parkedRecordOf({ generation, projection: projection.name, key: keyId, sequence: step.sequence, eventID: eventIdOf(step), reason, record }, error, now);
}

/** What is parked, and where: the rest of a parked record (its id, the error's fields, the time) follows. */
export type ParkingPlace = Omit<ParkedRecord, 'id' | 'error' | 'parkedAt'>;

/** A parked record: one id per generation, item and sequence, so parking the same record twice writes it once. */
export function parkedRecordOf(place: ParkingPlace, error: StreamfoldError, now: number): ParkedRecord {
  return {
    id: parkedId(place.generation, place.key, place.sequence),
    generation: place.generation,
    projection: place.projection,
    key: place.key,
    sequence: place.sequence,
    eventID: place.eventID,
    reason: place.reason,
    error: { code: error.code, message: error.message, field: error.field },
    record: place.record,
    parkedAt: new Date(now).toISOString(),
  };
}

export function parkedId(generation: string, keyId: string, sequence: string): string {
  return `${generation}|${keyId}|${padSequence(sequence)}`;
}

function eventIdOf(step: RunStep | undefined): string | undefined {
  if (step === undefined) return undefined;
  return step.type === 'event' ? step.event.eventID : step.failure.eventID;
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

const MODEST = 10n ** 28n;

/** Integers below 10^36 (a coefficient below 10^28 times at most 10^8), checked without printing digits. */
function onlyModestIntegers(contribution: ContributionAmounts): boolean {
  for (const amounts of contribution.values()) {
    for (const amount of amounts.values()) {
      if (amount.exponent < 0 || amount.exponent > 8 || amount.coefficient >= MODEST || amount.coefficient <= -MODEST) {
        return false;
      }
    }
  }
  return true;
}

/** The checkpoint entry, view row and sum deltas a fold comes to, for one projection. */
export function projectionChanges(
  projection: Projection,
  steps: readonly RunStep[],
  previous: CheckpointEntry | undefined,
  storedRow: StoredViewRow | undefined,
  fold: Fold,
): { entry: CheckpointEntry | undefined; view: ViewWrite | undefined; sums: SumDelta[] } {
  const progressed = fold.applied.size > 0 || fold.parked.length > 0 || fold.blockedAt !== previous?.blockedAt;
  if (!progressed || fold.sequence === undefined) return { entry: undefined, view: undefined, sums: [] };
  const generation = generationOf(projection);
  if (projection.kind === 'view') {
    let view: ViewWrite | undefined;
    // Written whenever a record applied, a delete included even if no row was read: the read may have
    // missed a row another writer had just put, and the write's condition is what finds that out. A row
    // already written at a later sequence (by a consumer under another name) is never rolled back.
    const rowIsAhead = storedRow !== undefined && compareSequences(storedRow.sequence, fold.sequence) > 0;
    if (fold.applied.size > 0 && !rowIsAhead) {
      const lastStep = steps[Math.max(...fold.applied)];
      view = {
        generation,
        state: fold.state,
        expectedSequence: storedRow?.sequence,
        sequence: fold.sequence,
        approximateTime: lastStep?.type === 'event' ? lastStep.event.approximateTime : undefined,
      };
    }
    return { entry: { sequence: fold.sequence, blockedAt: fold.blockedAt }, view, sums: [] };
  }
  const contribution = fold.contribution ?? new Map();
  const sums: SumDelta[] = [];
  for (const [group, amounts] of contributionDelta(previous?.contribution, contribution)) {
    sums.push({ generation, group, shards: projection.shards, amounts });
  }
  return { entry: { sequence: fold.sequence, contribution, blockedAt: fold.blockedAt }, view: undefined, sums };
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
  const parked: ParkedRecord[] = [];
  let changed = false;
  for (const projection of projections) {
    const fold = folds.get(projection);
    if (fold === undefined) continue;
    const generation = generationOf(projection);
    const changes = projectionChanges(
      projection,
      run.steps,
      checkpoint?.entries.get(generation),
      loaded.viewRows.get(viewRowId(generation, run.key)),
      fold,
    );
    if (changes.entry === undefined) continue;
    changed = true;
    entries.set(generation, changes.entry);
    if (changes.view !== undefined) views.push(changes.view);
    sums.push(...changes.sums);
    parked.push(...fold.parked.map(({ record }) => record));
  }
  if (!changed) return undefined;
  return keyWrite(run.key, checkpoint, entries, views, sums, parked);
}

/** A key's write: its changes, and its checkpoint at the next revision, conditional on the one read. */
export function keyWrite(
  key: ItemKey,
  checkpoint: Checkpoint | undefined,
  entries: ReadonlyMap<string, CheckpointEntry>,
  views: readonly ViewWrite[],
  sums: readonly SumDelta[],
  parked: readonly ParkedRecord[],
): KeyWrite {
  return {
    key,
    expectedRevision: checkpoint?.revision,
    checkpoint: { revision: (checkpoint?.revision ?? 0) + 1, entries },
    views,
    sums,
    parked,
  };
}
