import { StreamfoldError, errorMessage, isStreamfoldError } from '../core/errors.js';
import type { ContributionAmounts, CheckpointEntry } from '../projection/ports.js';
import type { KeyPlan } from '../projection/plan.js';
import { addAmounts } from '../projection/sum-rows.js';
import type { ChangeEvent } from '../records/change-event.js';
import type { Decimal } from '../records/decimal.js';
import { decodeRecord } from '../records/decode.js';
import type { KeyRun, RunStep } from '../records/order.js';
import type { DomainEvent, EventLog } from './define.js';
import { locateEvent } from './streams.js';

/** An event of a stream waiting to be applied: delivered now (`step`), or held in the checkpoint since. */
export interface Candidate {
  readonly version: bigint;
  /** The record the event came in, as delivered; kept in the checkpoint while the event waits. */
  readonly record: unknown;
  readonly step: RunStep | undefined;
}

/** The domain event a waiting candidate holds: decoded from its record again if it waited in a checkpoint. */
export function domainEvent(candidate: Candidate, log: EventLog, stream: string): { domain: DomainEvent<unknown>; change: ChangeEvent } {
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
export function addContribution(delta: Map<string, Map<string, Decimal>>, contribution: ContributionAmounts): void {
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

export function placed(error: unknown, projection: string, stream: string, version: bigint): StreamfoldError {
  const location = { projection, key: stream, sequence: version.toString() };
  if (isStreamfoldError(error)) return error.locate(location);
  return new StreamfoldError('PROJECTION_FAILED', `the projection threw: ${errorMessage(error)}`, { cause: error, ...location });
}


/** A failure that may pass: nothing of this stream is taken now, and Lambda delivers it again. */
export function failed(run: KeyRun, error: StreamfoldError): KeyPlan & { gaps: [] } {
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
    byProjection: [],
  };
}

export function sameEntry(previous: CheckpointEntry | undefined, next: CheckpointEntry): boolean {
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
