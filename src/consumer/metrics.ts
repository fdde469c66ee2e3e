import type { Misuse } from '../projection/lane.js';
import type { GapReport } from '../projection/ports.js';
import type { KeyOutcome } from '../projection/runtime.js';
import type { UndecodableRecord } from '../records/change-event.js';
import type { RunStep } from '../records/order.js';

/** What one batch did for one projection. */
export interface ProjectionMetrics {
  readonly projection: string;
  readonly applied: number;
  /** Already applied: duplicates, redeliveries, stale records. */
  readonly skipped: number;
  readonly parked: number;
  /** Records of the projection's lane not applied now, to be delivered again. */
  readonly failed: number;
  /** Now minus the time of the newest record applied, when one was. */
  readonly lagMs: number | undefined;
  /** Event logs: streams whose gap has stayed open past the log's timeout. */
  readonly openGaps?: number;
}

/** One embedded-metric document, written as one JSON line. */
export type MetricDocument = Record<string, unknown>;

/**
 * Where embedded-metric lines go. Not through the logger: a log level must never drop them, or an alarm
 * that treats missing data as fine goes silent.
 */
export type MetricWriter = (document: MetricDocument) => void;

/** The default writer: one JSON line on stdout, where Lambda sends it to CloudWatch Logs. */
export const writeToStdout: MetricWriter = (document) => {
  process.stdout.write(`${JSON.stringify(document)}\n`);
};

type MetricField = Exclude<keyof ProjectionMetrics, 'projection'>;
const METRICS: readonly (readonly [name: string, field: MetricField, unit: 'Count' | 'Milliseconds'])[] = [
  ['RecordsApplied', 'applied', 'Count'],
  ['RecordsSkipped', 'skipped', 'Count'],
  ['RecordsParked', 'parked', 'Count'],
  ['RecordsFailed', 'failed', 'Count'],
  ['LagMilliseconds', 'lagMs', 'Milliseconds'],
  ['OpenGaps', 'openGaps', 'Count'],
];

/**
 * One projection's metrics as a CloudWatch embedded-metric-format document: CloudWatch turns the line into
 * metrics with no API call from the function. Every metric is kept per `Consumer` and `Projection`, and all
 * but `RecordsFailed` also per `Consumer` alone (summed over projections, which one alarm can watch). A
 * failed record fails every projection of its lane, so the consumer's `RecordsFailed` comes once per batch
 * from `consumerMetrics` instead, counting records.
 */
export function embeddedMetrics(namespace: string, consumer: string, metrics: ProjectionMetrics, timestamp: number): MetricDocument {
  const present = METRICS.filter(([, field]) => metrics[field] !== undefined);
  const directive = (dimensions: string[], names: typeof present) => ({
    Namespace: namespace,
    Dimensions: [dimensions],
    Metrics: names.map(([name, , unit]) => ({ Name: name, Unit: unit })),
  });
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        directive(['Consumer', 'Projection'], present),
        directive(['Consumer'], present.filter(([name]) => name !== 'RecordsFailed')),
      ],
    },
    Consumer: consumer,
    Projection: metrics.projection,
    ...Object.fromEntries(present.map(([name, field]) => [name, metrics[field]])),
  };
}

/** The consumer's own line: records failed (each once), and records parked that belong to no one projection. */
export function consumerMetrics(
  namespace: string,
  consumer: string,
  counts: { readonly failed: number; readonly parked: number },
  timestamp: number,
): MetricDocument {
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          Dimensions: [['Consumer']],
          Metrics: [
            { Name: 'RecordsFailed', Unit: 'Count' },
            { Name: 'RecordsParked', Unit: 'Count' },
          ],
        },
      ],
    },
    Consumer: consumer,
    RecordsFailed: counts.failed,
    RecordsParked: counts.parked,
  };
}

/** What one lane of the consumer did in a batch, as far as its metrics need to know. */
export interface LaneMetricsInput {
  readonly isEventLog: boolean;
  readonly projections: readonly string[];
  readonly outcomes: readonly Pick<KeyOutcome, 'byProjection'>[];
  readonly notTaken: readonly RunStep[];
  readonly unplacedReported: readonly UndecodableRecord[];
  readonly misuseReported: readonly Misuse[];
  readonly gaps: readonly GapReport[];
  /** Parked records of no one projection: unreadable keys, changes to event items. */
  readonly unattributedParked: number;
}

/**
 * The documents of one batch: one per projection (applied, skipped, parked, failed, lag, open gaps) and one
 * for the consumer, with the records failed counted once however many lanes and projections they failed,
 * and the parked records that belong to no one projection (fan-out messages among them).
 */
export function batchMetrics(
  lanes: readonly LaneMetricsInput[],
  fanOutParked: number,
  options: { readonly namespace: string; readonly consumer: string; readonly now: number },
): MetricDocument[] {
  const { namespace, consumer, now } = options;
  const documents: MetricDocument[] = [];
  const failedRecords = new Set<unknown>();
  let unattributed = fanOutParked;
  for (const lane of lanes) {
    const failed = [
      ...lane.notTaken.map((step) => (step.type === 'event' ? step.record : step.failure.record)),
      ...lane.unplacedReported.map((record) => record.record),
      ...lane.misuseReported.map((entry) => entry.record),
    ];
    for (const record of failed) failedRecords.add(record);
    unattributed += lane.unattributedParked;
    for (const [projection, total] of totalsByProjection(lane)) {
      documents.push(
        embeddedMetrics(
          namespace,
          consumer,
          {
            projection,
            applied: total.applied,
            skipped: total.skipped,
            parked: total.parked,
            failed: failed.length,
            lagMs: total.newest === undefined ? undefined : Math.max(0, now - total.newest),
            ...(lane.isEventLog ? { openGaps: lane.gaps.filter((gap) => gap.projection === projection).length } : {}),
          },
          now,
        ),
      );
    }
  }
  documents.push(consumerMetrics(namespace, consumer, { failed: failedRecords.size, parked: unattributed }, now));
  return documents;
}

function totalsByProjection(lane: LaneMetricsInput) {
  const byName = new Map<string, { applied: number; skipped: number; parked: number; newest: number | undefined }>();
  for (const projection of lane.projections) byName.set(projection, { applied: 0, skipped: 0, parked: 0, newest: undefined });
  for (const outcome of lane.outcomes) {
    for (const counts of outcome.byProjection) {
      const total = byName.get(counts.projection);
      if (total === undefined) continue;
      total.applied += counts.applied;
      total.skipped += counts.skipped;
      total.parked += counts.parked;
      if (counts.newestTime !== undefined && (total.newest === undefined || counts.newestTime > total.newest)) total.newest = counts.newestTime;
    }
  }
  return byName;
}
