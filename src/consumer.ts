import { StreamfoldError } from './errors.js';
import type { Logger } from './logging.js';
import type { FanOutDispatcher } from './fanout/dispatcher.js';
import type { ProjectionRuntime } from './projection/runtime.js';
import type { GenerationRegistry } from './rebuild/ports.js';
import type { DecodeResult, UndecodableRecord } from './records/change-event.js';
import { decodeRecords } from './records/decode.js';
import { decodeKinesisRecords, isKinesisRecord } from './records/kinesis.js';
import { identifierOf, orderByKey, type KeyRun, type RunStep } from './records/order.js';
import { compareSequences } from './records/sequence.js';
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
  private adopted: Promise<void> | undefined;

  constructor(
    private readonly runtime: ProjectionRuntime,
    private readonly logger: Logger,
    private readonly fanOut?: FanOutDispatcher,
    private readonly registry?: GenerationRegistry,
    private readonly options: { readonly sourceTable?: string | undefined; readonly now?: () => number } = {},
  ) {}

  /**
   * On a projection's first deployment its version becomes the one readers use; later versions wait for
   * a rebuild to promote them. Done once per container; a failure is logged and tried again next batch.
   */
  private adoptGenerations(): Promise<void> {
    const registry = this.registry;
    if (registry === undefined) return Promise.resolve();
    this.adopted ??= (async () => {
      const oldest = new Map<string, number>();
      for (const projection of this.runtime.projections) {
        oldest.set(projection.name, Math.min(projection.version, oldest.get(projection.name) ?? projection.version));
      }
      await Promise.all([...oldest].map(([name, version]) => registry.adopt(name, version)));
    })().catch((error: unknown) => {
      this.adopted = undefined;
      this.logger.warn({ err: error }, 'could not record the current generation of the projections');
    });
    return this.adopted;
  }

  /**
   * Processes one batch. Records are DynamoDB stream records, or Kinesis records carrying DynamoDB change
   * records (told apart by their shape); either way the answer names records as Lambda knows them.
   */
  async process(records: readonly unknown[]): Promise<BatchReport> {
    await this.adoptGenerations();
    const decodeOptions = { table: this.options.sourceTable };
    const decoded = records.some(isKinesisRecord)
      ? decodeKinesisRecords(records, decodeOptions)
      : decodeRecords(records, decodeOptions);
    const ordered = orderByKey(decoded);
    // A record whose item cannot be told is parked when parking is on. Otherwise it is a barrier: no run
    // goes past its sequence (past nothing if it has none), since it might belong to any of them.
    const unplacedParked = await this.runtime.parkUnreadable(ordered.unplaced);
    const barrier = unplacedParked ? undefined : barrierOf(ordered.unplaced);
    const batch = barrier === undefined ? ordered : { ...ordered, runs: ordered.runs.map((run) => cut(run, barrier)) };
    const outcomes = await this.runtime.apply(batch.runs);
    // Fan-out comes after the projections applied, and only for what they applied or took before.
    const dispatched = this.fanOut?.enabled
      ? await this.fanOut.dispatch(batch.runs.map((run, index) => ({ run, stopAt: outcomes[index]?.failure?.sequence })))
      : undefined;

    // Every record not taken now comes again: Lambda restarts from the lowest identifier reported.
    const notTaken = new Set<RunStep>();
    const errors: StreamfoldError[] = [];
    const failedKeys = new Set<string>();
    const stopKey = (keyId: string, from: string, error: StreamfoldError): void => {
      const run = batch.runs.find((candidate) => candidate.key.id === keyId);
      for (const step of run?.steps ?? []) if (compareSequences(step.sequence, from) >= 0) notTaken.add(step);
      failedKeys.add(keyId);
      errors.push(error);
    };
    let applied = 0;
    let parked = (dispatched?.parked ?? 0) + (unplacedParked ? ordered.unplaced.length : 0);
    let stale = 0;
    let newestTime: number | undefined;
    for (const outcome of outcomes) {
      applied += outcome.applied;
      parked += outcome.parked;
      stale += outcome.stale;
      if (outcome.newestTime !== undefined && (newestTime === undefined || outcome.newestTime > newestTime)) {
        newestTime = outcome.newestTime;
      }
      if (outcome.failure !== undefined) stopKey(outcome.key.id, outcome.failure.sequence, outcome.failure.error);
    }
    for (const failure of dispatched?.failures ?? []) stopKey(failure.key, failure.sequence, failure.error);
    const identifiers = [...notTaken].map(identifierOf);
    let failed = notTaken.size;
    if (barrier !== undefined) {
      ordered.runs.forEach((run, index) => {
        const kept = new Set(batch.runs[index]?.steps);
        for (const step of run.steps) {
          if (kept.has(step)) continue;
          failed += 1;
          identifiers.push(identifierOf(step));
        }
      });
    }
    for (const record of unplacedParked ? [] : ordered.unplaced) {
      failed += 1;
      errors.push(record.error);
      identifiers.push(record.identifier ?? this.lowestIdentifierOf(decoded, record));
      this.logger
        .child({ eventID: record.eventID, sequence: record.sequence })
        .error({ err: record.error.toJSON(), code: record.error.code }, record.error.message);
    }

    const lowestFailed = lowest(identifiers);
    const stats: BatchStats = {
      records: records.length,
      applied,
      parked,
      stale,
      duplicates: batch.duplicates,
      failed,
      keys: batch.runs.length,
      failedKeys: failedKeys.size,
      published: dispatched?.published ?? 0,
      lagMs: newestTime === undefined ? undefined : Math.max(0, (this.options.now ?? Date.now)() - newestTime),
    };
    this.logger.info({ stats, lowestFailedIdentifier: lowestFailed }, 'batch processed');
    // Lambda restarts the shard from the lowest reported identifier: reporting one is enough, and what
    // follows it and was applied is skipped as stale on redelivery.
    return { batchItemFailures: lowestFailed === undefined ? [] : [{ itemIdentifier: lowestFailed }], stats, errors };
  }

  /**
   * A record that names nothing Lambda can restart from: the batch is retried from its first record, and
   * everything applied is then skipped as stale. Without any identifier at all, only failing the whole
   * invocation makes Lambda retry.
   */
  private lowestIdentifierOf(decoded: readonly DecodeResult[], record: UndecodableRecord): string {
    const found = lowest(decoded.map((result) => result.identifier));
    if (found === undefined) {
      throw new StreamfoldError('MALFORMED_RECORD', 'no record of the batch carries a sequence number', {
        eventID: record.eventID,
        cause: record.error,
      });
    }
    return found;
  }
}

/** No run goes past the lowest sequence of a record that could not be placed; past nothing if one has none. */
function barrierOf(unplaced: readonly UndecodableRecord[]): string | undefined {
  if (unplaced.length === 0) return undefined;
  if (unplaced.some((record) => record.sequence === undefined)) return '0';
  return lowest(unplaced.map((record) => record.sequence));
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
