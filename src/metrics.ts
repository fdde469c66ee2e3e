/** What one batch did for one projection. */
export interface ProjectionMetrics {
  readonly projection: string;
  readonly applied: number;
  /** Already applied: duplicates, redeliveries, stale records. */
  readonly skipped: number;
  readonly parked: number;
  /** Not applied now, to be delivered again. */
  readonly failed: number;
  /** Now minus the time of the newest record applied, when one was. */
  readonly lagMs: number | undefined;
  /** Event logs: streams whose gap has stayed open past the log's timeout. */
  readonly openGaps?: number;
}

const METRICS = [
  ['RecordsApplied', 'applied', 'Count'],
  ['RecordsSkipped', 'skipped', 'Count'],
  ['RecordsParked', 'parked', 'Count'],
  ['RecordsFailed', 'failed', 'Count'],
  ['LagMilliseconds', 'lagMs', 'Milliseconds'],
  ['OpenGaps', 'openGaps', 'Count'],
] as const;

/**
 * The metrics as a CloudWatch embedded-metric-format object: logged as one JSON line, CloudWatch turns it
 * into metrics (dimension `Projection`), with no API call from the function.
 */
export function embeddedMetrics(namespace: string, metrics: ProjectionMetrics, timestamp: number): Record<string, unknown> {
  const present = METRICS.filter(([, field]) => metrics[field] !== undefined);
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: namespace,
          // Per projection, and (the empty set) for the whole consumer, which one alarm can watch.
          Dimensions: [['Projection'], []],
          Metrics: present.map(([name, , unit]) => ({ Name: name, Unit: unit })),
        },
      ],
    },
    Projection: metrics.projection,
    ...Object.fromEntries(present.map(([name, field]) => [name, metrics[field]])),
  };
}
