import { StreamfoldError, errorMessage, isStreamfoldError } from '../core/errors.js';
import { encodeItem, isPlainRecord } from '../records/attribute-value.js';
import type { ChangeEvent } from '../records/change-event.js';
import type { RunStep } from '../records/order.js';
import { compareSequences } from '../records/sequence.js';
import { contributionDelta, toContributionAmounts } from './contribution.js';
import { generationOf, type Projection, type ViewState } from './define.js';
import { eventIdOf, parkedRecordOf } from './parked.js';
import type { Decimal } from '../records/decimal.js';
import type { CheckpointEntry, ContributionAmounts, ParkedRecord } from './ports.js';
import type { ImageParser } from './typed-event.js';

export interface FoldContext {
  readonly parking: boolean;
  readonly now: () => number;
  readonly parser: ImageParser;
  /** This projection's records refused for good: by sequence. */
  readonly refused: ReadonlyMap<string, StreamfoldError> | undefined;
  /** A redrive: the steps are the parked records themselves, folded from the state before the block. */
  readonly lifted: boolean;
  /** Why the store would refuse this row (its size), checked after each record. */
  readonly checkRow?: ((state: ViewState) => StreamfoldError | undefined) | undefined;
  /** This sum's stored totals by group and field, when a refusal made them known. */
  readonly totals?: ReadonlyMap<string, ReadonlyMap<string, Decimal>> | undefined;
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
  /**
   * Steps the checkpoint already covers because an earlier delivery parked them (at or past its block): a
   * page of a rebuild folded again after a crash says they are parked, not that they were already applied.
   */
  readonly parkedBefore: ReadonlySet<number>;
}

/**
 * Folds one key's steps `[0, limit)` through one projection, from its checkpoint on. A record that can never
 * succeed is parked; after it, a `wait` projection parks the key's later records too (in order), a `skip`
 * projection applies them. A record that fails for a passing reason stops the fold there.
 */
export function foldProjection(
  projection: Projection,
  steps: readonly RunStep[],
  limit: number,
  entry: CheckpointEntry | undefined,
  storedRow: ViewState | undefined,
  context: FoldContext,
  keyId: string,
): Fold {
  let sequence = context.lifted ? undefined : entry?.sequence;
  let blockedAt = context.lifted ? undefined : entry?.blockedAt;
  const blockedBefore = blockedAt;
  let state = storedRow;
  let contribution = entry?.contribution;
  const applied = new Set<number>();
  const parked: { index: number; record: ParkedRecord }[] = [];
  const parkedBefore = new Set<number>();
  const generation = generationOf(projection);
  const waits = projection.onPoison !== 'skip';
  const park = (index: number, step: RunStep, reason: ParkedRecord['reason'], error: StreamfoldError): void => {
    const record = step.type === 'event' ? step.record : step.failure.record;
    const place = { generation, projection: projection.name, key: keyId, sequence: step.sequence, eventID: eventIdOf(step) };
    parked.push({ index, record: parkedRecordOf({ ...place, reason, record }, error, context.now()) });
    sequence = step.sequence;
  };
  const stopped = (index: number, error: StreamfoldError): Fold => ({
    end: index,
    applied,
    parked,
    sequence,
    state,
    contribution,
    blockedAt,
    failure: { index, error },
    parkedBefore,
  });
  for (let index = 0; index < limit; index += 1) {
    const step = steps[index];
    if (step === undefined) continue;
    if (sequence !== undefined && compareSequences(step.sequence, sequence) <= 0) {
      if (blockedBefore !== undefined && compareSequences(step.sequence, blockedBefore) >= 0 && compareSequences(step.sequence, entry?.sequence ?? '0') <= 0) parkedBefore.add(index);
      continue;
    }
    if (blockedAt !== undefined && waits) {
      const waiting = new StreamfoldError('PROJECTION_FAILED', `waits behind the record parked at sequence ${blockedAt}`, {
        projection: projection.name,
        key: keyId,
        sequence: step.sequence,
        eventID: eventIdOf(step),
      });
      if (!context.parking) return stopped(index, waiting);
      park(index, step, 'waiting', waiting);
      continue;
    }
    let error = context.refused?.get(step.sequence);
    if (error === undefined && step.type === 'undecodable') error = step.failure.error.locate({ projection: projection.name });
    if (error === undefined && step.type === 'event') {
      try {
        const next = applyEvent(projection, step.event, state, contribution, context.parser);
        if (projection.kind === 'sum' && next.contribution !== undefined) {
          assertStorableDelta(entry?.contribution, next.contribution, projection, step.event);
          if (context.totals !== undefined) assertStorableTotals(context.totals, entry?.contribution, next.contribution, projection, step.event);
        }
        // Checked at each record, as if it were written alone: what a batch would end on must not decide it.
        const refused = next.state === undefined || projection.kind !== 'view' ? undefined : context.checkRow?.(next.state);
        if (refused !== undefined) throw placed(refused, projection, step.event);
        ({ state, contribution } = next);
      } catch (caught) {
        error = caught as StreamfoldError;
      }
    }
    if (error === undefined) {
      sequence = step.sequence;
      applied.add(index);
      // Once a later record of a `skip` projection applies, the one parked before it is overtaken.
      if (!waits) blockedAt = undefined;
      continue;
    }
    if (error.retryable || !context.parking) return stopped(index, error);
    park(index, step, 'failed', error);
    blockedAt ??= step.sequence;
  }
  return { end: limit, applied, parked, sequence, state, contribution, blockedAt, failure: undefined, parkedBefore };
}

/** Applies one event to a projection's state: the one place where a view evolves and a sum contributes. */
function applyEvent(
  projection: Projection,
  event: ChangeEvent,
  state: ViewState | undefined,
  contribution: ContributionAmounts | undefined,
  parser: ImageParser,
): { state: ViewState | undefined; contribution: ContributionAmounts | undefined } {
  try {
    if (event.kind !== 'remove' && event.newImage === undefined) throw missingImage(projection, event);
    if (projection.kind === 'view') {
      const next: unknown = projection.evolve(state, parser.event(projection, event));
      return { state: storableState(next), contribution };
    }
    if (event.kind === 'remove') return { state, contribution: new Map() };
    return { state, contribution: toContributionAmounts(projection.contribute(parser.image(projection, event, 'NewImage'), event.key.attributes)) };
  } catch (error) {
    throw placed(error, projection, event);
  }
}

/**
 * Views and sums fold the item's new image; a stream that carries none (`KEYS_ONLY`, `OLD_IMAGE`) would
 * otherwise hand `evolve` an insert without its item, and a view that deletes its row then loses it.
 */
function missingImage(projection: Projection, event: ChangeEvent): StreamfoldError {
  return new StreamfoldError(
    'SCHEMA_MISMATCH',
    `${projection.name} needs the new image of every insert and modify, and this stream's view type is ` +
      `${event.viewType ?? 'unknown'}: use NEW_IMAGE or NEW_AND_OLD_IMAGES (the record is parked; no row is changed)`,
    { field: 'dynamodb.NewImage' },
  );
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

const MODEST = 10n ** 28n;

/**
 * A sum's change is written as one `ADD` of `new - old`, which DynamoDB must be able to hold: moving an
 * amount from 1E-10 to 1E+30 needs 41 digits. Such a record fails alone, with the field named.
 */
function assertStorableDelta(previous: ContributionAmounts | undefined, next: ContributionAmounts, projection: Projection, event: ChangeEvent): void {
  // The difference of two integers below 10^37 has at most 38 digits: nothing to check in the usual case.
  if (onlyModestIntegers(next) && (previous === undefined || onlyModestIntegers(previous))) return;
  for (const [group, amounts] of contributionDelta(previous, next)) {
    for (const [field, amount] of amounts) {
      try {
        amount.assertStorable();
      } catch (error) {
        throw placed(
          new StreamfoldError('INVALID_NUMBER', `the change to ${group}.${field} cannot be added in DynamoDB: ${errorMessage(error)}`, {
            field: `contribute().${group}.${field}`,
            cause: error,
          }),
          projection,
          event,
        );
      }
    }
  }
}

/**
 * With the group totals known (read after DynamoDB refused one), each record's contribution is checked as the
 * total it would make: a record is refused for the total it needs, not for where its batch ends.
 */
function assertStorableTotals(
  totals: ReadonlyMap<string, ReadonlyMap<string, Decimal>>,
  previous: ContributionAmounts | undefined,
  next: ContributionAmounts,
  projection: Projection,
  event: ChangeEvent,
): void {
  for (const [group, amounts] of contributionDelta(previous, next)) {
    const known = totals.get(group);
    if (known === undefined) continue;
    for (const [field, amount] of amounts) {
      const total = known.get(field);
      if (total === undefined) continue;
      try {
        total.add(amount).assertStorable();
      } catch (error) {
        const message = `the total of ${field} in group "${group}" of ${generationOf(projection)} would need more than 38 significant digits, which a DynamoDB number cannot hold`;
        throw placed(new StreamfoldError('STORE_WRITE_FAILED', message, { cause: error }), projection, event);
      }
    }
  }
}

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

function placed(error: unknown, projection: Projection, event: ChangeEvent): StreamfoldError {
  const location = { projection: projection.name, eventID: event.eventID, key: event.key.id, sequence: event.sequence };
  if (isStreamfoldError(error)) return error.locate(location);
  const step = projection.kind === 'view' ? 'evolve()' : 'contribute()';
  return new StreamfoldError('PROJECTION_FAILED', `${step} threw: ${errorMessage(error)}`, { cause: error, ...location });
}
