import { StreamfoldError } from './errors.js';
import type { Logger } from './logging.js';
import { batchMetrics, writeToStdout, type MetricWriter } from './metrics.js';
import type { FanOutDispatcher, Publishable } from './fanout/dispatcher.js';
import type { EventLog } from './eventlog/define.js';
import { orderByStream, type Misuse, type StreamBatch } from './eventlog/streams.js';
import type { GapReport } from './projection/ports.js';
import type { KeyOutcome, ProjectionRuntime } from './projection/runtime.js';
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
  /** Event logs: gaps in a stream's versions open past the log's timeout. */
  readonly gaps: number;
  /** Event logs: changes to event items, which are reported and not folded. */
  readonly misuse: number;
  /** Now minus the newest applied record's time, in milliseconds. */
  readonly lagMs: number | undefined;
}

export interface BatchReport extends BatchResponse {
  readonly stats: BatchStats;
  readonly errors: readonly StreamfoldError[];
}

/** What the Lambda invocation tells the consumer, when there is one. */
export interface InvocationContext {
  /** Milliseconds left before Lambda stops the invocation (`context.getRemainingTimeInMillis`). */
  readonly remainingTimeMs?: () => number;
  readonly requestId?: string;
}

/**
 * A set of projections fed from the same records: the state projections, keyed by item and ordered by
 * stream sequence; or the projections of one event log, keyed by stream and ordered by version.
 */
export interface ConsumerLane {
  readonly runtime: ProjectionRuntime;
  /** Event logs order by version within a stream; state tables by sequence within an item. */
  readonly log?: EventLog | undefined;
}

/**
 * One batch, from raw records to the answer Lambda expects. The Lambda handler, the local poller and the
 * replay command all go through here: they differ only in where batches come from.
 */
export class StreamConsumer {
  private adopted: Promise<void> | undefined;
  private readonly lanes: readonly ConsumerLane[];

  constructor(
    runtime: ProjectionRuntime | readonly ConsumerLane[],
    private readonly logger: Logger,
    private readonly fanOut?: FanOutDispatcher,
    private readonly registry?: GenerationRegistry,
    private readonly options: {
      readonly sourceTable?: string | undefined;
      readonly now?: () => number;
      /** CloudWatch namespace of the embedded metrics written after each batch; none are written without one. */
      readonly metricsNamespace?: string | undefined;
      /** The `Consumer` dimension of the metrics (`STREAMFOLD_CONSUMER`). */
      readonly consumerName?: string | undefined;
      /** Where metric lines go; stdout by default. */
      readonly writeMetric?: MetricWriter;
    } = {},
  ) {
    this.lanes = Array.isArray(runtime) ? runtime : [{ runtime: runtime as ProjectionRuntime }];
  }

  /**
   * On a projection's first deployment its version becomes the one readers use; later versions wait for
   * a rebuild to promote them. Done once per container; a failure is logged and tried again next batch.
   */
  private adoptGenerations(): Promise<void> {
    const registry = this.registry;
    if (registry === undefined) return Promise.resolve();
    this.adopted ??= (async () => {
      const oldest = new Map<string, number>();
      for (const projection of this.lanes.flatMap((lane) => lane.runtime.projections)) {
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
   * `invocation` carries Lambda's remaining time and request id; nothing reads it yet (the deadline
   * handling will).
   */
  async process(records: readonly unknown[], invocation: InvocationContext = {}): Promise<BatchReport> {
    // Beside the batch, not before it: on a cold start it is one more round trip the answer need not wait for.
    const adopting = this.adoptGenerations();
    const decodeOptions = { table: this.options.sourceTable };
    const decoded = records.some(isKinesisRecord)
      ? decodeKinesisRecords(records, decodeOptions)
      : decodeRecords(records, decodeOptions);
    const results = await Promise.all(this.lanes.map((lane) => this.processLane(lane, decoded)));

    // Fan-out comes after the projections applied, and only for what they applied or took before: for a
    // state table, each item's records up to its failure; for an event log, the events applied now and those
    // delivered again, in version order (an event held behind a gap goes out when it applies).
    const publishing = results[0];
    const dispatched =
      this.fanOut?.enabled && publishing !== undefined
        ? await this.fanOut.dispatch(
            publishing.isEventLog
              ? publishing.outcomes.map(streamPublishable)
              : publishing.runs.map((run, index) => ({ run, stopAt: publishing.outcomes[index]?.failure?.sequence })),
          )
        : undefined;
    for (const failure of dispatched?.failures ?? []) publishing?.stop(failure.key, failure.sequence, failure.error);

    const identifiers = results.flatMap((result) => [
      ...result.notTaken.map((step) => identifierOf(step)),
      ...result.misuseReported.map((entry) => entry.identifier),
    ]);
    const errors = results.flatMap((result) => result.errors);
    for (const result of results) {
      for (const record of result.unplacedReported) {
        errors.push(record.error);
        identifiers.push(record.identifier ?? this.lowestIdentifierOf(decoded, record));
        this.logger
          .child({ eventID: record.eventID, sequence: record.sequence })
          .error({ err: record.error.toJSON(), code: record.error.code }, record.error.message);
      }
    }
    const sum = (pick: (result: LaneResult) => number) => results.reduce((total, result) => total + pick(result), 0);
    const newest = Math.max(...results.map((result) => result.newestTime ?? Number.NEGATIVE_INFINITY));
    const gaps = results.flatMap((result) => result.gaps);
    for (const gap of gaps) {
      this.logger
        .child({ projection: gap.projection, key: gap.stream })
        .warn({ missing: gap.missing, held: gap.held, openForMs: gap.openForMs }, 'a gap in an event stream is still open');
    }
    const lowestFailed = lowest(identifiers);
    const stats: BatchStats = {
      records: records.length,
      applied: sum((result) => result.applied),
      parked: sum((result) => result.parked) + (dispatched?.parked ?? 0),
      stale: sum((result) => result.stale),
      duplicates: sum((result) => result.duplicates),
      failed: sum((result) => result.notTaken.length + result.unplacedReported.length + result.misuseReported.length),
      keys: sum((result) => result.runs.length),
      failedKeys: sum((result) => result.failedKeys.size),
      published: dispatched?.published ?? 0,
      gaps: gaps.length,
      misuse: sum((result) => result.misuse),
      lagMs: Number.isFinite(newest) ? Math.max(0, (this.options.now ?? Date.now)() - newest) : undefined,
    };
    this.logger.info({ stats, lowestFailedIdentifier: lowestFailed }, 'batch processed');
    this.writeMetrics(results, dispatched?.parked ?? 0);
    await adopting;
    // Lambda restarts the shard from the lowest reported identifier: reporting one is enough, and what
    // follows it and was applied is skipped as stale on redelivery.
    return { batchItemFailures: lowestFailed === undefined ? [] : [{ itemIdentifier: lowestFailed }], stats, errors };
  }

  private async processLane(lane: ConsumerLane, decoded: readonly DecodeResult[]): Promise<LaneResult> {
    const ordered = lane.log === undefined ? orderByKey(decoded) : orderByStream(decoded, lane.log);
    // A record whose item cannot be told is parked when parking is on. Otherwise, for a state table, it is a
    // barrier: no run goes past its sequence (past nothing if it has none), since it might belong to any of
    // them. An event log needs no barrier: versions, not arrival, order a stream.
    const unplacedParked = await lane.runtime.parkUnreadable(ordered.unplaced);
    const barrier = unplacedParked || lane.log !== undefined ? undefined : barrierOf(ordered.unplaced);
    const runs = barrier === undefined ? ordered.runs : ordered.runs.map((run) => cut(run, barrier));
    let misuse: readonly Misuse[] = [];
    let misuseReported: readonly Misuse[] = [];
    if ('misuse' in ordered) {
      misuse = (ordered as StreamBatch).misuse;
      // Parked when parking is on; otherwise reported as failed, since nothing may be dropped.
      if (!(await this.reportMisuse(lane, misuse))) misuseReported = misuse;
    }
    const outcomes = await lane.runtime.apply(runs);

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
    let newestTime: number | undefined;
    for (const outcome of outcomes) {
      if (outcome.newestTime !== undefined && (newestTime === undefined || outcome.newestTime > newestTime)) newestTime = outcome.newestTime;
    }
    return {
      isEventLog: lane.log !== undefined,
      misuseReported,
      unattributedParked: (unplacedParked ? ordered.unplaced.length : 0) + (misuseReported.length === 0 ? misuse.length : 0),
      projections: [...new Set(lane.runtime.projections.map((projection) => projection.name))],
      runs,
      outcomes,
      stop,
      get notTaken() {
        return [...notTaken];
      },
      errors,
      failedKeys,
      unplacedReported: unplacedParked ? [] : ordered.unplaced,
      applied: outcomes.reduce((total, outcome) => total + outcome.applied, 0),
      parked: outcomes.reduce((total, outcome) => total + outcome.parked, 0) + (unplacedParked ? ordered.unplaced.length : 0),
      stale: outcomes.reduce((total, outcome) => total + outcome.stale, 0),
      duplicates: ordered.duplicates,
      misuse: misuse.length,
      gaps: outcomes.flatMap((outcome) => outcome.gaps),
      newestTime,
    };
  }

  /** The batch's embedded-metric lines, written past the logger so that no log level drops them. */
  private writeMetrics(results: readonly LaneResult[], fanOutParked: number): void {
    const namespace = this.options.metricsNamespace;
    if (namespace === undefined) return;
    const now = (this.options.now ?? Date.now)();
    const write = this.options.writeMetric ?? writeToStdout;
    for (const line of batchMetrics(results, fanOutParked, { namespace, consumer: this.options.consumerName ?? 'default', now })) write(line);
  }

  /**
   * An event log is append-only: a change to an event item is reported (and parked), never folded. Answers
   * whether it was parked.
   */
  private async reportMisuse(lane: ConsumerLane, misuse: readonly Misuse[]): Promise<boolean> {
    if (misuse.length === 0) return true;
    const errors = misuse.map(
      ({ event }) =>
        new StreamfoldError('MALFORMED_RECORD', `an event log is append-only: this ${event.kind} of an event item is not folded`, {
          eventID: event.eventID,
          key: event.key.id,
          sequence: event.sequence,
        }),
    );
    misuse.forEach(({ event }, index) => {
      this.logger
        .child({ key: event.key.id, sequence: event.sequence, eventID: event.eventID })
        .error({ err: errors[index]?.toJSON() }, 'change to an event item');
    });
    return lane.runtime.parkMisuse(misuse.map((entry, index) => ({ ...entry, error: errors[index] as StreamfoldError })));
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

interface LaneResult {
  readonly isEventLog: boolean;
  readonly misuseReported: readonly Misuse[];
  readonly unattributedParked: number;
  readonly projections: readonly string[];
  readonly runs: readonly KeyRun[];
  readonly outcomes: readonly KeyOutcome[];
  /** Marks a key as failed from a sequence on (fan-out uses it after the fact). */
  readonly stop: (keyId: string, from: string, error: StreamfoldError) => void;
  readonly notTaken: readonly RunStep[];
  readonly errors: StreamfoldError[];
  readonly failedKeys: ReadonlySet<string>;
  readonly unplacedReported: readonly UndecodableRecord[];
  readonly applied: number;
  readonly parked: number;
  readonly stale: number;
  readonly duplicates: number;
  readonly misuse: number;
  readonly gaps: readonly GapReport[];
  readonly newestTime: number | undefined;
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

/** An event-log key's publishable events as a run, in version order, and which of them no redelivery brings back. */
function streamPublishable(outcome: KeyOutcome): Publishable {
  const events = outcome.publishable ?? [];
  return {
    run: {
      key: outcome.key,
      steps: events.map(({ event, record }) => ({ type: 'event' as const, sequence: event.sequence, identifier: event.sequence, event, record })),
    },
    stopAt: undefined,
    notRedelivered: new Set(events.filter((entry) => entry.fromCheckpoint).map((entry) => entry.event.sequence)),
  };
}

function cut(run: KeyRun, barrier: string): KeyRun {
  return { key: run.key, steps: run.steps.filter((step) => compareSequences(step.sequence, barrier) < 0) };
}
