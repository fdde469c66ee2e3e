import { StreamfoldError } from './errors.js';
import type { Logger } from './logging.js';
import type { FanOutDispatcher } from './fanout/dispatcher.js';
import type { ProjectionRuntime } from './projection/runtime.js';
import type { UndecodableRecord } from './records/change-event.js';
import { decodeRecords } from './records/decode.js';
import { orderByKey, type KeyRun } from './records/order.js';
import { compareSequences, isSequence } from './records/sequence.js';
import type { BatchResponse } from './records/stream-record.js';

export interface BatchStats {
  readonly records: number;
  readonly applied: number;
  /** Set aside in the dead-letter store: poison records, and records waiting behind one. */
  readonly parked: number;
  /** Already applied before: a redelivery, or a record older than what the read model holds. */
  readonly stale: number;
  /** Delivered twice within this batch. */
  readonly duplicates: number;
  /** Not applied now, to be delivered again: failed records and the records of their keys after them. */
  readonly failed: number;
  readonly keys: number;
  readonly failedKeys: number;
  /** Messages fan-out delivered. */
  readonly published: number;
  /** Now minus the newest applied record's time, in milliseconds. */
  readonly lagMs: number | undefined;
}

export interface BatchReport extends BatchResponse {
  readonly stats: BatchStats;
  readonly errors: readonly StreamfoldError[];
}

/**
 * One batch, from raw records to the answer Lambda expects. The Lambda handler, the local poller and the
 * replay command all go through here: they differ only in where batches come from.
 */
export class StreamConsumer {
  constructor(
    private readonly runtime: ProjectionRuntime,
    private readonly logger: Logger,
    private readonly fanOut?: FanOutDispatcher,
    private readonly now: () => number = Date.now,
  ) {}

  async process(records: readonly unknown[]): Promise<BatchReport> {
    const decoded = decodeRecords(records);
    const ordered = orderByKey(decoded);
    // A record whose item cannot be told is parked when parking is on. Otherwise it is a barrier: no run
    // goes past its sequence, since it might belong to any of them.
    const unplacedParked = await this.runtime.parkUnreadable(ordered.unplaced);
    const barrier = unplacedParked ? undefined : lowest(ordered.unplaced.map((record) => record.sequence));
    const batch = barrier === undefined ? ordered : { ...ordered, runs: ordered.runs.map((run) => cut(run, barrier)) };
    const outcomes = await this.runtime.apply(batch.runs);
    // Fan-out comes after the projections applied, and only for what they applied or took before.
    const dispatched = this.fanOut?.enabled
      ? await this.fanOut.dispatch(
          batch.runs.map((run, index) => ({ run, stopAt: outcomes[index]?.failure?.sequence })),
        )
      : undefined;

    const failedAt: string[] = [];
    const errors: StreamfoldError[] = [];
    let applied = 0;
    let parked = 0;
    let stale = 0;
    let failed = 0;
    let failedKeys = 0;
    let newestTime: number | undefined;
    outcomes.forEach((outcome, index) => {
      applied += outcome.applied;
      parked += outcome.parked;
      stale += outcome.stale;
      if (outcome.newestTime !== undefined && (newestTime === undefined || outcome.newestTime > newestTime)) {
        newestTime = outcome.newestTime;
      }
      const failure = outcome.failure;
      if (failure === undefined) return;
      failedKeys += 1;
      failedAt.push(failure.sequence);
      errors.push(failure.error);
      const steps = batch.runs[index]?.steps ?? [];
      failed += steps.filter((step) => compareSequences(step.sequence, failure.sequence) >= 0).length;
    });
    const keyFailed = new Set(outcomes.filter((outcome) => outcome.failure !== undefined).map((o) => o.key.id));
    for (const failure of dispatched?.failures ?? []) {
      failedAt.push(failure.sequence);
      errors.push(failure.error);
      if (!keyFailed.has(failure.key)) {
        failedKeys += 1;
        const run = batch.runs.find((candidate) => candidate.key.id === failure.key);
        failed += run?.steps.filter((step) => compareSequences(step.sequence, failure.sequence) >= 0).length ?? 0;
      }
    }
    parked += dispatched?.parked ?? 0;
    if (barrier !== undefined) {
      for (const [index, run] of ordered.runs.entries()) failed += run.steps.length - (batch.runs[index]?.steps.length ?? 0);
    }
    if (unplacedParked) parked += ordered.unplaced.length;
    for (const record of unplacedParked ? [] : ordered.unplaced) {
      failed += 1;
      errors.push(record.error);
      failedAt.push(record.sequence ?? this.lowestSequenceOf(records, record));
      this.logger
        .child({ eventID: record.eventID, sequence: record.sequence })
        .error({ err: record.error.toJSON(), code: record.error.code }, record.error.message);
    }

    const lowestFailed = lowest(failedAt);
    const stats: BatchStats = {
      records: records.length,
      applied,
      parked,
      stale,
      duplicates: batch.duplicates,
      failed,
      keys: batch.runs.length,
      published: dispatched?.published ?? 0,
      failedKeys,
      lagMs: newestTime === undefined ? undefined : Math.max(0, this.now() - newestTime),
    };
    this.logger.info({ stats, lowestFailedSequence: lowestFailed }, 'batch processed');
    // Lambda restarts the shard from the lowest reported sequence: reporting one is enough, and what
    // follows it and was applied is skipped as stale on redelivery.
    return { batchItemFailures: lowestFailed === undefined ? [] : [{ itemIdentifier: lowestFailed }], stats, errors };
  }

  /**
   * A record without a readable key cannot be placed after anything, so the batch is retried from its
   * first record: everything applied is then skipped as stale. Without any sequence at all, only failing
   * the whole invocation makes Lambda retry.
   */
  private lowestSequenceOf(records: readonly unknown[], record: UndecodableRecord): string {
    let lowest: string | undefined;
    for (const candidate of records) {
      const sequence = (candidate as { dynamodb?: { SequenceNumber?: unknown } } | null)?.dynamodb?.SequenceNumber;
      if (isSequence(sequence) && (lowest === undefined || compareSequences(sequence, lowest) < 0)) lowest = sequence;
    }
    if (lowest === undefined) {
      throw new StreamfoldError('MALFORMED_RECORD', 'no record of the batch carries a sequence number', {
        eventID: record.eventID,
        cause: record.error,
      });
    }
    return lowest;
  }
}

function lowest(sequences: readonly (string | undefined)[]): string | undefined {
  let low: string | undefined;
  for (const sequence of sequences) {
    if (sequence !== undefined && (low === undefined || compareSequences(sequence, low) < 0)) low = sequence;
  }
  return low;
}

function cut(run: KeyRun, barrier: string): KeyRun {
  return { key: run.key, steps: run.steps.filter((step) => compareSequences(step.sequence, barrier) < 0) };
}
