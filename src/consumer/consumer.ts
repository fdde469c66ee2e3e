import { StreamfoldError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import { batchMetrics, writeToStdout, type MetricWriter } from './metrics.js';
import type { FanOutDispatcher, Publishable } from '../fanout/dispatcher.js';
import { takeBatch, type LaneResult } from '../projection/intake.js';
import type { KeyOutcome, ProjectionRuntime } from '../projection/runtime.js';
import type { GenerationRegistry } from '../projection/ports.js';
import type { DecodeResult, UndecodableRecord } from '../records/change-event.js';
import { decodeRecords } from '../records/decode.js';
import { decodeKinesisRecords, isKinesisRecord } from '../records/kinesis.js';
import { identifierOf } from '../records/order.js';
import { lowestSequence } from '../records/sequence.js';
import type { BatchResponse } from '../records/stream-record.js';
import { DEFAULT_DEADLINE_MARGIN_MS, Deadline } from '../core/retry.js';

export interface BatchStats {
  readonly records: number;
  /** Records at least one projection applied now. */
  readonly applied: number;
  /** Records at least one projection set aside in the dead-letter store: poison, or waiting behind poison. */
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

/** What the Lambda runtime says of the invocation, for the consumer to plan with. */
export interface InvocationContext {
  /** Milliseconds until Lambda ends the invocation (`context.getRemainingTimeInMillis`). */
  readonly remainingTimeMs?: () => number;
  readonly requestId?: string;
}

export interface ConsumerOptions {
  readonly sourceTable?: string | undefined;
  readonly now?: () => number;
  /** CloudWatch namespace of the embedded metrics logged after each batch; none are logged without one. */
  readonly metricsNamespace?: string | undefined;
  /** Near Lambda's deadline no new round starts: this much time is kept to answer (milliseconds). */
  readonly deadlineMarginMs?: number;
  /** The `Consumer` dimension of the metrics (`STREAMFOLD_CONSUMER`). */
  readonly consumerName?: string | undefined;
  /** Where metric lines go; stdout by default. */
  readonly writeMetric?: MetricWriter;
}

/**
 * One batch, from raw records to the answer Lambda expects. The Lambda handler, the local poller and the
 * replay command all go through here: they differ only in where batches come from.
 */
export class StreamConsumer {
  private adopted: Promise<void> | undefined;
  private readonly runtimes: readonly ProjectionRuntime[];

  constructor(
    runtimes: ProjectionRuntime | readonly ProjectionRuntime[],
    private readonly logger: Logger,
    private readonly fanOut?: FanOutDispatcher,
    private readonly registry?: GenerationRegistry,
    private readonly options: ConsumerOptions = {},
  ) {
    this.runtimes = Array.isArray(runtimes) ? runtimes : [runtimes as ProjectionRuntime];
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
      for (const projection of this.runtimes.flatMap((runtime) => runtime.projections)) {
        oldest.set(projection.name, Math.min(projection.version, oldest.get(projection.name) ?? projection.version));
      }
      // Every version this consumer runs is live from now: a rebuild from an export checks its time against this.
      const now = Date.now();
      const live = this.runtimes.flatMap((runtime) => runtime.projections).map((projection) => registry.markLive?.(projection.name, projection.version, now));
      await Promise.all([...[...oldest].map(([name, version]) => registry.adopt(name, version)), ...live]);
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
    const deadline = new Deadline(invocation.remainingTimeMs, this.options.deadlineMarginMs ?? DEFAULT_DEADLINE_MARGIN_MS);
    const decodeOptions = { table: this.options.sourceTable };
    const decoded = records.some(isKinesisRecord) ? decodeKinesisRecords(records, decodeOptions) : decodeRecords(records, decodeOptions);
    const results = await Promise.all(this.runtimes.map((runtime) => takeBatch(runtime, decoded, deadline)));

    // Fan-out comes after the projections applied, and only for what they applied or took before: for a
    // state table, each item's records up to its failure; for an event log, the events applied now and those
    // delivered again, in version order (an event held behind a gap goes out when it applies).
    const publishing = results[0];
    const dispatched =
      this.fanOut?.enabled && publishing !== undefined
        ? await this.fanOut.dispatch(
            publishing.runtime.lane.kind === 'event-log'
              ? publishing.outcomes.map(streamPublishable)
              : publishing.runs.map((run, index) => ({ run, stopAt: publishing.outcomes[index]?.failure?.sequence })),
            deadline,
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
        this.logger.child({ eventID: record.eventID, sequence: record.sequence }).error({ err: record.error.toJSON(), code: record.error.code }, record.error.message);
      }
    }
    for (const gap of results.flatMap((result) => result.gaps)) {
      this.logger.child({ projection: gap.projection, key: gap.stream }).warn({ missing: gap.missing, held: gap.held, openForMs: gap.openForMs }, 'a gap in an event stream is still open');
    }
    const lowestFailed = lowestSequence(identifiers);
    const stats = this.statsOf(records.length, results, dispatched);
    this.logger.info({ stats, lowestFailedIdentifier: lowestFailed }, 'batch processed');
    this.writeMetrics(results, dispatched?.parked ?? 0);
    await adopting;
    // Lambda restarts the shard from the lowest reported identifier: reporting one is enough, and what
    // follows it and was applied is skipped as stale on redelivery.
    return { batchItemFailures: lowestFailed === undefined ? [] : [{ itemIdentifier: lowestFailed }], stats, errors };
  }

  private statsOf(records: number, results: readonly LaneResult[], dispatched: { parked: number; published: number } | undefined): BatchStats {
    const sum = (pick: (result: LaneResult) => number) => results.reduce((total, result) => total + pick(result), 0);
    const outcomes = (pick: (outcome: KeyOutcome) => number) => sum((result) => result.outcomes.reduce((total, outcome) => total + pick(outcome), 0));
    const newest = Math.max(...results.flatMap((result) => result.outcomes.map((outcome) => outcome.newestTime ?? Number.NEGATIVE_INFINITY)));
    return {
      records,
      applied: outcomes((outcome) => outcome.applied),
      parked: outcomes((outcome) => outcome.parked) + sum((result) => result.unattributedParked) + (dispatched?.parked ?? 0),
      stale: outcomes((outcome) => outcome.stale),
      duplicates: sum((result) => result.duplicates),
      failed: sum((result) => result.notTaken.length + result.unplacedReported.length + result.misuseReported.length),
      keys: sum((result) => result.runs.length),
      failedKeys: sum((result) => result.failedKeys.size),
      published: dispatched?.published ?? 0,
      gaps: sum((result) => result.gaps.length),
      misuse: sum((result) => result.misuse),
      lagMs: Number.isFinite(newest) ? Math.max(0, (this.options.now ?? Date.now)() - newest) : undefined,
    };
  }

  /** The batch's embedded-metric lines, written past the logger so that no log level drops them. */
  private writeMetrics(results: readonly LaneResult[], fanOutParked: number): void {
    const namespace = this.options.metricsNamespace;
    if (namespace === undefined) return;
    const now = (this.options.now ?? Date.now)();
    const write = this.options.writeMetric ?? writeToStdout;
    const lanes = results.map((result) => ({
      isEventLog: result.runtime.lane.kind === 'event-log',
      projections: result.runtime.projections.map((projection) => projection.name),
      outcomes: result.outcomes,
      notTaken: result.notTaken,
      unplacedReported: result.unplacedReported,
      misuseReported: result.misuseReported,
      gaps: result.gaps,
      unattributedParked: result.unattributedParked,
    }));
    for (const line of batchMetrics(lanes, fanOutParked, { namespace, consumer: this.options.consumerName ?? 'default', now })) write(line);
  }

  /**
   * A record that names nothing Lambda can restart from: the batch is retried from its first record, and
   * everything applied is then skipped as stale. Without any identifier at all, only failing the whole
   * invocation makes Lambda retry.
   */
  private lowestIdentifierOf(decoded: readonly DecodeResult[], record: UndecodableRecord): string {
    const found = lowestSequence(decoded.map((result) => result.identifier));
    if (found === undefined) {
      throw new StreamfoldError('MALFORMED_RECORD', 'no record of the batch carries a sequence number', { eventID: record.eventID, cause: record.error });
    }
    return found;
  }
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
