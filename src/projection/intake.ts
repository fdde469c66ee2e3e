import { createHash } from 'node:crypto';
import { StreamfoldError, errorMessage } from '../core/errors.js';
import type { DecodeResult, UndecodableRecord } from '../records/change-event.js';
import type { KeyRun, RunStep } from '../records/order.js';
import { compareSequences, lowestSequence } from '../records/sequence.js';
import { Deadline } from '../core/retry.js';
import { generationOf } from './define.js';
import type { Misuse } from './lane.js';
import { parkedRecordOf } from './parked.js';
import type { GapReport, ParkedRecord } from './ports.js';
import type { KeyOutcome, ProjectionRuntime } from './runtime.js';

/** What one lane made of a batch: each key's outcome, and every record it did not take. */
export interface LaneResult {
  readonly runtime: ProjectionRuntime;
  readonly runs: readonly KeyRun[];
  readonly outcomes: readonly KeyOutcome[];
  /** Records to be delivered again: failed ones, the records of their keys after them, and those held back. */
  readonly notTaken: readonly RunStep[];
  readonly errors: readonly StreamfoldError[];
  readonly failedKeys: ReadonlySet<string>;
  /** Records whose key could not be read and that could not be parked. */
  readonly unplacedReported: readonly UndecodableRecord[];
  /** Changes to an append-only log's items that could not be parked. */
  readonly misuseReported: readonly Misuse[];
  /** Parked records that belong to no one projection (unreadable keys, misuse). */
  readonly unattributedParked: number;
  readonly duplicates: number;
  readonly misuse: number;
  readonly gaps: readonly GapReport[];
  /** Marks a key as not taken from a sequence on (fan-out uses it after the fact). */
  stop(keyId: string, from: string, error: StreamfoldError): void;
}

/**
 * Takes a batch of decoded records through one lane: cut into runs, records that can be placed nowhere
 * parked (or, on a state table, made a barrier no run passes), misuse parked or reported, the runs applied.
 * The live consumer, the rebuild and verify all take their batches this way.
 */
export async function takeBatch(runtime: ProjectionRuntime, decoded: readonly DecodeResult[], deadline: Deadline = Deadline.NONE): Promise<LaneResult> {
  const { lane } = runtime;
  const ordered = lane.order(decoded);
  const unplacedParked = await parkUnreadable(runtime, ordered.unplaced);
  const barrier = unplacedParked || !lane.unplacedIsBarrier ? undefined : barrierOf(ordered.unplaced);
  const runs = barrier === undefined ? ordered.runs : ordered.runs.map((run) => cut(run, barrier));
  const misuseParked = await parkMisuse(runtime, ordered.misuse);
  const outcomes = await runtime.apply(runs, deadline);

  const notTaken = new Set<RunStep>();
  const errors: StreamfoldError[] = [];
  const failedKeys = new Set<string>();
  const stop = (keyId: string, from: string, error: StreamfoldError): void => {
    const run = runs.find((candidate) => candidate.key.id === keyId);
    for (const step of run?.steps ?? []) if (compareSequences(step.sequence, from) >= 0) notTaken.add(step);
    failedKeys.add(keyId);
    errors.push(error);
  };
  for (const outcome of outcomes) {
    if (outcome.failure !== undefined) stop(outcome.key.id, outcome.failure.sequence, outcome.failure.error);
  }
  if (barrier !== undefined) {
    ordered.runs.forEach((run, index) => {
      const kept = new Set(runs[index]?.steps);
      for (const step of run.steps) if (!kept.has(step)) notTaken.add(step);
    });
  }
  return {
    runtime,
    runs,
    outcomes,
    get notTaken() {
      return [...notTaken];
    },
    errors,
    failedKeys,
    unplacedReported: unplacedParked ? [] : ordered.unplaced,
    misuseReported: misuseParked ? [] : ordered.misuse,
    unattributedParked: (unplacedParked ? ordered.unplaced.length : 0) + (misuseParked ? ordered.misuse.length : 0),
    duplicates: ordered.duplicates,
    misuse: ordered.misuse.length,
    gaps: outcomes.flatMap((outcome) => outcome.gaps),
    stop,
  };
}

/**
 * Parks records whose item cannot be read (no usable `Keys`): they can never be applied, and nothing but
 * their position is known. Answers whether they were parked; without a dead-letter store, or when parking
 * fails, they are not, and the caller holds them back instead.
 */
async function parkUnreadable(runtime: ProjectionRuntime, records: readonly UndecodableRecord[]): Promise<boolean> {
  if (records.length === 0) return true;
  const parkedAt = runtime.now();
  const parked = records.map((record) => {
    const digest = createHash('sha256').update(JSON.stringify(record.record) ?? '').digest('hex').slice(0, 16);
    const place = { generation: '*', projection: '*', key: `(unreadable ${digest})`, sequence: record.sequence ?? '0', eventID: record.eventID };
    return { ...parkedRecordOf({ ...place, reason: 'failed', record: record.record }, record.error, parkedAt), id: `*|unreadable|${digest}` };
  });
  if (!(await park(runtime, parked))) return false;
  for (const record of records) {
    runtime.logger.child({ eventID: record.eventID, sequence: record.sequence }).warn({ error: record.error.toJSON() }, 'record without a readable key parked');
  }
  return true;
}

/**
 * An append-only log's items are never changed: a change is reported and parked once per projection, never
 * folded, and holds nothing back. Answers whether it was parked.
 */
async function parkMisuse(runtime: ProjectionRuntime, misuse: readonly Misuse[]): Promise<boolean> {
  if (misuse.length === 0) return true;
  const now = runtime.now();
  const errors = misuse.map(({ event }) => {
    const error = new StreamfoldError('MALFORMED_RECORD', `an event log is append-only: this ${event.kind} of an event item is not folded`, {
      eventID: event.eventID,
      key: event.key.id,
      sequence: event.sequence,
    });
    runtime.logger.child({ key: event.key.id, sequence: event.sequence, eventID: event.eventID }).error({ err: error.toJSON() }, 'change to an event item');
    return error;
  });
  const parked = runtime.projections.flatMap((projection) =>
    misuse.map(({ event, record }, index) =>
      parkedRecordOf(
        { generation: generationOf(projection), projection: projection.name, key: event.key.id, sequence: event.sequence, eventID: event.eventID, reason: 'failed', record },
        errors[index] as StreamfoldError,
        now,
      ),
    ),
  );
  return park(runtime, parked);
}

async function park(runtime: ProjectionRuntime, records: readonly ParkedRecord[]): Promise<boolean> {
  if (runtime.deadLetters === undefined) return false;
  try {
    await runtime.deadLetters.park(records);
    return true;
  } catch (error) {
    runtime.logger.error({ err: error, records: records.length }, `parking failed, the records are reported instead: ${errorMessage(error)}`);
    return false;
  }
}

/** No run goes past the lowest sequence of a record that could not be placed; past nothing if one has none. */
function barrierOf(unplaced: readonly UndecodableRecord[]): string | undefined {
  if (unplaced.length === 0) return undefined;
  if (unplaced.some((record) => record.sequence === undefined)) return '0';
  return lowestSequence(unplaced.map((record) => record.sequence));
}

function cut(run: KeyRun, barrier: string): KeyRun {
  return { key: run.key, steps: run.steps.filter((step) => compareSequences(step.sequence, barrier) < 0) };
}
