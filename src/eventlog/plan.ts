import { StreamfoldError, errorMessage, isStreamfoldError } from '../errors.js';
import { generationOf } from '../projection/define.js';
import { toContributionAmounts } from '../projection/contribution.js';
import { addAmounts } from '../projection/sum-rows.js';
import { keyWrite, parkedRecordOf, storableState, type KeyPlan, type ProjectionCounts, type PublishableEvent } from '../projection/plan.js';
import {
  viewRowId,
  type CheckpointEntry,
  type ContributionAmounts,
  type GapReport,
  type LoadedState,
  type ParkedRecord,
  type SumDelta,
  type ViewWrite,
} from '../projection/ports.js';
import type { ChangeEvent } from '../records/change-event.js';
import { Decimal } from '../records/decimal.js';
import { decodeRecord } from '../records/decode.js';
import type { KeyRun, RunStep } from '../records/order.js';
import type { DomainEvent, EventLog, EventProjection } from './define.js';
import { locateEvent } from './streams.js';

/**
 * What a stream's held events may take of its checkpoint item, which DynamoDB caps at 400 KB: shared by the
 * projections of the log, with room left for the rest of the item.
 */
export const HELD_BYTES_PER_STREAM = 256 * 1024;

export interface StreamPlanOptions {
  readonly parking: boolean;
  readonly now: () => number;
  /** How many projections of this log share the checkpoint item; by default those planned together. */
  readonly sharingCheckpoint?: number;
}

export interface StreamPlan extends KeyPlan {
  readonly gaps: readonly GapReport[];
}

interface Candidate {
  readonly version: bigint;
  /** The record the event came in, as delivered; kept in the checkpoint while the event waits. */
  readonly record: unknown;
  readonly step: RunStep | undefined;
}

/**
 * Folds one stream's events in version order from its last contiguous version. An event ahead of a gap
 * waits in the checkpoint (written with it, so it is as durable as what was applied) and is applied, with
 * its successors, when the gap fills; a duplicate is skipped. A sum adds each event's contribution once.
 */
export function planStream(
  run: KeyRun,
  loaded: LoadedState,
  projections: readonly EventProjection[],
  log: EventLog,
  options: StreamPlanOptions,
): StreamPlan {
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
  const heldBudget = Math.floor(HELD_BYTES_PER_STREAM / Math.max(1, options.sharingCheckpoint ?? projections.length));

  for (const projection of projections) {
    const generation = generationOf(projection);
    const previous = checkpoint?.entries.get(generation);
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
        const { domain: event, change } = eventOf(candidate);
        if (projection.kind === 'event-view') {
          state = storableState(projection.evolve(state, event));
        } else {
          addContribution(delta, toContributionAmounts(projection.contribute(event)));
        }
        if (event.approximateTime !== undefined && (newestTime === undefined || event.approximateTime > newestTime)) {
          newestTime = event.approximateTime;
        }
        if (candidate.step === undefined) appliedFromEarlier.add(candidate.version);
        else applied.add(candidate.step);
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
      for (const candidate of inVersionOrder(waiting)) park(candidate, waits, 'waiting');
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
    for (const candidate of waiting.values()) if (candidate.step !== undefined) held.add(candidate.step);
    byProjection.push({
      projection: projection.name,
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
        expectedSequence: storedRow?.sequence,
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

/** The domain event a waiting candidate holds: decoded from its record again if it waited in a checkpoint. */
function domainEvent(candidate: Candidate, log: EventLog, stream: string): { domain: DomainEvent<unknown>; change: ChangeEvent } {
  let event: ChangeEvent;
  if (candidate.step?.type === 'event') {
    event = candidate.step.event;
  } else if (candidate.step?.type === 'undecodable') {
    throw candidate.step.failure.error;
  } else {
    const decoded = decodeRecord(candidate.record, 0);
    if (!decoded.ok) throw decoded.error;
    const located = locateEvent(decoded.event, log, 0);
    if (located instanceof StreamfoldError) throw located;
    event = { ...decoded.event, key: located.key, sequence: located.version };
  }
  const image = event.newImage ?? {};
  const parsed = log.events.safeParse({ type: image[log.type], payload: image[log.payload] });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const [head, ...rest] = issue?.path.map(String) ?? [];
    const attribute = head === 'type' ? log.type : head === 'payload' ? log.payload : head;
    throw new StreamfoldError('SCHEMA_MISMATCH', `the event does not match the log's events: ${issue?.message ?? 'invalid'}`, {
      cause: parsed.error,
      eventID: event.eventID,
      key: stream,
      sequence: candidate.version.toString(),
      field: ['dynamodb', 'NewImage', ...(attribute === undefined ? [] : [attribute]), ...rest].join('.'),
    });
  }
  const domain = {
    ...(parsed.data as object),
    streamId: String(image[log.streamId]),
    version: Number(candidate.version),
    eventID: event.eventID,
    approximateTime: event.approximateTime,
    item: image,
    replay: event.replay,
  } as DomainEvent<unknown>;
  return { domain, change: event };
}


/** Adds one event's contribution into the stream's delta, in place; an amount of zero adds nothing. */
function addContribution(delta: Map<string, Map<string, Decimal>>, contribution: ContributionAmounts): void {
  for (const [group, fields] of contribution) {
    const amounts = [...fields].filter(([, amount]) => !amount.isZero);
    if (amounts.length === 0) continue;
    let target = delta.get(group);
    if (target === undefined) {
      target = new Map();
      delta.set(group, target);
    }
    addAmounts(target, amounts);
  }
}

function placed(error: unknown, projection: string, stream: string, version: bigint): StreamfoldError {
  const location = { projection, key: stream, sequence: version.toString() };
  if (isStreamfoldError(error)) return error.locate(location);
  return new StreamfoldError('PROJECTION_FAILED', `the projection threw: ${errorMessage(error)}`, { cause: error, ...location });
}


/** A failure that may pass: nothing of this stream is taken now, and Lambda delivers it again. */
function failed(run: KeyRun, error: StreamfoldError): StreamPlan {
  const first = run.steps[0];
  return {
    run,
    write: undefined,
    applied: 0,
    parked: 0,
    firstApplied: undefined,
    stale: 0,
    failure: first === undefined ? undefined : { sequence: first.sequence, eventID: first.type === 'event' ? first.event.eventID : undefined, error },
    newestTime: undefined,
    gaps: [],
  };
}

function sameEntry(previous: CheckpointEntry | undefined, next: CheckpointEntry): boolean {
  if (previous === undefined) return next.sequence === '0' && next.pending === undefined && next.blockedAt === undefined;
  return (
    BigInt(previous.sequence) === BigInt(next.sequence) &&
    (previous.blockedAt === undefined) === (next.blockedAt === undefined) &&
    (previous.blockedAt === undefined || BigInt(previous.blockedAt) === BigInt(next.blockedAt ?? '0')) &&
    previous.pendingSince === next.pendingSince &&
    (previous.pending?.size ?? 0) === (next.pending?.size ?? 0) &&
    [...(next.pending?.keys() ?? [])].every((version) => previous.pending?.has(version))
  );
}
