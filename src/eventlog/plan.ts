import { StreamfoldError } from '../core/errors.js';
import { generationOf } from '../projection/define.js';
import { toContributionAmounts } from '../projection/contribution.js';
import { storableState } from '../projection/fold.js';
import type { PlanContext } from '../projection/lane.js';
import { parkedRecordOf } from '../projection/parked.js';
import { keyWrite } from '../projection/key-write.js';
import type { KeyPlan, ProjectionCounts, PublishableEvent } from '../projection/plan.js';
import { viewRowId, type CheckpointEntry, type GapReport, type LoadedState, type ParkedRecord, type SumDelta, type ViewWrite } from '../projection/ports.js';
import type { Decimal } from '../records/decimal.js';
import type { KeyRun, RunStep } from '../records/order.js';
import type { EventLog, EventProjection } from './define.js';
import { addContribution, domainEvent, failed, placed, sameEntry, type Candidate } from './stream-steps.js';

/**
 * What a stream's held events may take of its checkpoint item, which DynamoDB caps at 400 KB: shared by the
 * projections of the log, with room left for the rest of the item.
 */
export const HELD_BYTES_PER_STREAM = 256 * 1024;

export type StreamPlanOptions = Omit<PlanContext, 'parser'>;

export interface StreamPlan extends KeyPlan {
  readonly gaps: readonly GapReport[];
}

/**
 * Folds one stream's events in version order from its last contiguous version. An event ahead of a gap
 * waits in the checkpoint (written with it, so it is as durable as what was applied) and is applied, with
 * its successors, when the gap fills; a duplicate is skipped. A sum adds each event's contribution once.
 */
export function planStream(
  run: KeyRun,
  loaded: LoadedState,
  all: readonly EventProjection[],
  log: EventLog,
  options: StreamPlanOptions,
): StreamPlan {
  const projections = options.lifted === undefined ? all : all.filter((projection) => generationOf(projection) === options.lifted);
  const checkpoint = loaded.checkpoints.get(run.key.id);
  const entries = new Map(checkpoint?.entries);
  const views: ViewWrite[] = [];
  const sums: SumDelta[] = [];
  const parked: ParkedRecord[] = [];
  const gaps: GapReport[] = [];
  const applied = new Set<RunStep>();
  const held = new Set<RunStep>();
  const parkedSteps = new Set<RunStep>();
  let changed = false;
  /** Versions applied now that had waited in the checkpoint: counted once, whatever the projections. */
  const appliedFromEarlier = new Set<bigint>();
  /** The events applied now, by version: what fan-out may publish, in version order. */
  const publishable = new Map<bigint, PublishableEvent>();
  /** Below this version every projection had applied the stream before this batch. */
  let appliedByAll: bigint | undefined;
  let newestTime: number | undefined;
  const byProjection: ProjectionCounts[] = [];
  /** Each version's event, decoded and parsed once for all the projections (or why it cannot be). */
  const events = new Map<bigint, ReturnType<typeof domainEvent> | { readonly error: unknown }>();
  const eventOf = (candidate: Candidate): ReturnType<typeof domainEvent> => {
    let found = events.get(candidate.version);
    if (found === undefined) {
      try {
        found = domainEvent(candidate, log, run.key.id);
      } catch (error) {
        found = { error };
      }
      events.set(candidate.version, found);
    }
    if ('error' in found) throw found.error;
    return found;
  };
  // Every projection of the log shares the checkpoint item, also when a redrive plans only one of them.
  const heldBudget = Math.floor(HELD_BYTES_PER_STREAM / Math.max(1, all.length));

  for (const projection of projections) {
    const generation = generationOf(projection);
    const stored = checkpoint?.entries.get(generation);
    // A redrive lifts the block and folds the parked events again, as if they had just arrived.
    const previous = options.lifted === generation && stored !== undefined ? { ...stored, blockedAt: undefined } : stored;
    const refused = options.refused.get(generation);
    const appliedVersions: string[] = [];
    const appliedBefore = BigInt(previous?.sequence ?? '0');
    let version = appliedBefore;
    if (appliedByAll === undefined || appliedBefore < appliedByAll) appliedByAll = appliedBefore;
    let blockedAt = previous?.blockedAt;
    const waiting = new Map<bigint, Candidate>();
    for (const [pendingVersion, record] of previous?.pending ?? []) {
      waiting.set(BigInt(pendingVersion), { version: BigInt(pendingVersion), record, step: undefined });
    }
    for (const step of run.steps) {
      const stepVersion = BigInt(step.sequence);
      if (stepVersion <= version || waiting.has(stepVersion)) continue;
      waiting.set(stepVersion, { version: stepVersion, record: step.type === 'event' ? step.record : step.failure.record, step });
    }

    const storedRow = loaded.viewRows.get(viewRowId(generation, run.key));
    const counts = { applied: 0, parked: 0, newestTime: undefined as number | undefined };
    const park = (candidate: Candidate, error: StreamfoldError, reason: ParkedRecord['reason']): void => {
      const place = { generation, projection: projection.name, key: run.key.id, sequence: candidate.version.toString() };
      const eventID = candidate.step?.type === 'event' ? candidate.step.event.eventID : undefined;
      parked.push(parkedRecordOf({ ...place, eventID, reason, record: candidate.record }, error, options.now()));
      counts.parked += 1;
      if (candidate.step !== undefined) parkedSteps.add(candidate.step);
    };
    let state = storedRow?.state;
    const delta = new Map<string, Map<string, Decimal>>();
    while (blockedAt === undefined) {
      const candidate = waiting.get(version + 1n);
      if (candidate === undefined) break;
      waiting.delete(candidate.version);
      try {
        const refusal = refused?.get(candidate.version.toString());
        if (refusal !== undefined) throw refusal;
        const { domain: event, change } = eventOf(candidate);
        if (projection.kind === 'event-view') {
          state = storableState(projection.evolve(state, event));
          const refusal = state === undefined ? undefined : options.checkRow?.(generation, run.key, state);
          if (refusal !== undefined) throw refusal;
        } else {
          addContribution(delta, toContributionAmounts(projection.contribute(event)));
        }
        if (event.approximateTime !== undefined && (newestTime === undefined || event.approximateTime > newestTime)) {
          newestTime = event.approximateTime;
        }
        if (candidate.step === undefined) appliedFromEarlier.add(candidate.version);
        else applied.add(candidate.step);
        appliedVersions.push(candidate.version.toString());
        publishable.set(candidate.version, { event: change, record: candidate.record, fromCheckpoint: candidate.step === undefined });
        counts.applied += 1;
        if (event.approximateTime !== undefined && (counts.newestTime === undefined || event.approximateTime > counts.newestTime)) {
          counts.newestTime = event.approximateTime;
        }
      } catch (caught) {
        const error = placed(caught, projection.name, run.key.id, candidate.version);
        if (error.retryable || !options.parking) {
          return failed(run, error);
        }
        park(candidate, error, 'failed');
        if (projection.onPoison === 'skip') {
          version = candidate.version;
          continue;
        }
        blockedAt = candidate.version.toString();
        break;
      }
      version = candidate.version;
    }
    if (blockedAt !== undefined && options.parking) {
      // Behind a parked event, later events go to the dead-letter store too, in order, not into the
      // checkpoint: a stream blocked for long would outgrow the checkpoint item. A redrive takes them back.
      const waits = new StreamfoldError('PROJECTION_FAILED', `waits behind the event parked at version ${blockedAt}`, {
        projection: projection.name,
        key: run.key.id,
      });
      // The poison event itself, delivered again, stays parked as it was: with its own error.
      for (const candidate of inVersionOrder(waiting)) if (candidate.version !== BigInt(blockedAt)) park(candidate, waits, 'waiting');
      waiting.clear();
    }
    // Events held behind a gap live in the checkpoint item, whose size DynamoDB caps: past a budget, the
    // newest of them are parked instead (a redrive takes them back once the gap has filled).
    let heldBytes = 0;
    let tooMany: StreamfoldError | undefined;
    for (const candidate of inVersionOrder(waiting)) {
      heldBytes += JSON.stringify(candidate.record)?.length ?? 0;
      if (heldBytes <= heldBudget) continue;
      tooMany ??= new StreamfoldError(
        'PROJECTION_FAILED',
        `held behind the gap at version ${version + 1n}, with more events than the checkpoint keeps`,
        { projection: projection.name, key: run.key.id },
      );
      if (!options.parking) return failed(run, tooMany);
      park(candidate, tooMany, 'waiting');
      waiting.delete(candidate.version);
    }
    // Held: events of this delivery that wait, and those delivered again that the checkpoint already holds
    // (not stale: a rebuild that folds its page again after a kill still says they wait).
    for (const step of run.steps) if (waiting.has(BigInt(step.sequence))) held.add(step);
    byProjection.push({
      projection: projection.name,
      generation,
      appliedSequences: appliedVersions,
      applied: counts.applied,
      parked: counts.parked,
      skipped: run.steps.filter((step) => BigInt(step.sequence) <= appliedBefore).length,
      newestTime: counts.newestTime,
    });

    const pending = new Map(inVersionOrder(waiting).map((candidate) => [candidate.version.toString(), candidate.record]));
    const pendingSince = pending.size === 0 ? undefined : (previous?.pendingSince ?? options.now());
    if (pendingSince !== undefined && blockedAt === undefined && options.now() - pendingSince >= log.gapTimeoutMs) {
      gaps.push({
        projection: projection.name,
        stream: run.key.id,
        missing: (version + 1n).toString(),
        held: [...pending.keys()],
        openForMs: options.now() - pendingSince,
      });
    }
    const entry: CheckpointEntry = { sequence: version.toString(), blockedAt, pending: pending.size === 0 ? undefined : pending, pendingSince };
    if (!sameEntry(previous, entry)) {
      entries.set(generation, entry);
      changed = true;
    }
    // Written whenever an event applied: evolve() may have changed the state object it was given.
    if (counts.applied > 0 && projection.kind === 'event-view' && (state !== undefined || storedRow !== undefined)) {
      views.push({
        generation,
        state,
        expectedRevision: storedRow?.revision,
        sequence: version.toString(),
        approximateTime: newestTime,
      });
    }
    if (projection.kind === 'event-sum') {
      for (const [group, amounts] of delta) sums.push({ generation, group, shards: projection.shards, amounts });
    }
  }

  // A record delivered again after it applied goes out again, as on a state table: at least once, so that
  // a message that failed is sent when Lambda delivers its record again.
  for (const step of run.steps) {
    if (step.type !== 'event' || appliedByAll === undefined || BigInt(step.sequence) > appliedByAll) continue;
    const version = BigInt(step.sequence);
    if (!publishable.has(version)) publishable.set(version, { event: step.event, record: step.record, fromCheckpoint: false });
  }
  const taken = run.steps.filter((step) => applied.has(step) || held.has(step) || parkedSteps.has(step));
  const first = taken[0];
  return {
    run,
    write: changed || views.length > 0 || sums.length > 0 || parked.length > 0 ? keyWrite(run.key, checkpoint, entries, views, sums, parked) : undefined,
    applied: applied.size + appliedFromEarlier.size,
    parked: parkedSteps.size,
    firstApplied: first === undefined ? undefined : { sequence: first.sequence, eventID: first.type === 'event' ? first.event.eventID : undefined },
    stale: run.steps.length - taken.length,
    failure: undefined,
    newestTime,
    gaps,
    byProjection,
    publishable: [...publishable].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, applied]) => applied),
  };
}

function inVersionOrder(waiting: ReadonlyMap<bigint, Candidate>): Candidate[] {
  return [...waiting.values()].sort((a, b) => (a.version < b.version ? -1 : 1));
}
