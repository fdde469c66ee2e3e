import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';

export interface ObservabilityProps {
  readonly function: lambda.IFunction;
  /** The `Consumer` dimension of the embedded metrics (`STREAMFOLD_CONSUMER`). */
  readonly consumerName: string;
  readonly metricsNamespace: string;
  readonly iteratorAgeThreshold: Duration;
}

/** Per-projection metrics (one series per projection, found by a CloudWatch search): name, statistic, title. */
const PROJECTION_GRAPHS = [
  ['RecordsApplied', 'Sum', 'Records applied'],
  ['RecordsSkipped', 'Sum', 'Records skipped (duplicate or stale)'],
  ['RecordsParked', 'Sum', 'Records parked'],
  ['RecordsFailed', 'Sum', 'Records failed (delivered again)'],
  ['LagMilliseconds', 'Maximum', 'Lag (ms): now minus the newest applied change'],
] as const;

/**
 * A consumer's alarms and its CloudWatch dashboard: the stream's iterator age, what each projection applied,
 * skipped, parked and failed, their lag, and the alarms. Every streamfold metric is read under this
 * consumer's `Consumer` dimension, so two consumers in one account never share a metric or an alarm.
 */
export function addObservability(
  scope: Construct,
  props: ObservabilityProps,
): { iteratorAgeAlarm: cloudwatch.Alarm; parkedRecordsAlarm: cloudwatch.Alarm; dashboard: cloudwatch.Dashboard } {
  const iteratorAgeAlarm = new cloudwatch.Alarm(scope, 'IteratorAge', {
    alarmDescription: 'The oldest stream record waits longer than the threshold: the consumer falls behind.',
    metric: props.function.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
    threshold: props.iteratorAgeThreshold.toMilliseconds(),
    evaluationPeriods: 5,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  const parkedRecordsAlarm = new cloudwatch.Alarm(scope, 'ParkedRecords', {
    alarmDescription: `Records of consumer ${props.consumerName} were parked as poison: list them with \`streamfold parked list\`.`,
    metric: new cloudwatch.Metric({
      namespace: props.metricsNamespace,
      metricName: 'RecordsParked',
      dimensionsMap: { Consumer: props.consumerName },
      statistic: 'Sum',
      period: Duration.minutes(5),
    }),
    threshold: 0,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    // The function writes a consumer line after every batch, so no data means no batch, not a silent failure.
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });

  const perProjection = (metricName: string, statistic: string) =>
    new cloudwatch.MathExpression({
      expression: `SEARCH('{${quoted(props.metricsNamespace)},Consumer,Projection} Consumer=${quoted(props.consumerName)} MetricName="${metricName}"', '${statistic}', 300)`,
      usingMetrics: {},
      period: Duration.minutes(5),
      label: '',
    });
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    widgets: [
      [
        new cloudwatch.AlarmWidget({ title: 'Iterator age (ms), with its alarm', alarm: iteratorAgeAlarm, width: 12 }),
        new cloudwatch.AlarmWidget({ title: 'Records parked, with its alarm', alarm: parkedRecordsAlarm, width: 12 }),
      ],
      PROJECTION_GRAPHS.slice(0, 2).map(([metric, statistic, title]) => graph(title, perProjection(metric, statistic))),
      PROJECTION_GRAPHS.slice(2, 4).map(([metric, statistic, title]) => graph(title, perProjection(metric, statistic))),
      [
        graph(PROJECTION_GRAPHS[4][2], perProjection(PROJECTION_GRAPHS[4][0], PROJECTION_GRAPHS[4][1])),
        new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [iteratorAgeAlarm, parkedRecordsAlarm], width: 12 }),
      ],
    ],
  });
  return { iteratorAgeAlarm, parkedRecordsAlarm, dashboard };
}

const graph = (title: string, expression: cloudwatch.IMetric) => new cloudwatch.GraphWidget({ title, left: [expression], width: 12 });

/** A CloudWatch search term in double quotes, its own quotes and backslashes escaped. */
const quoted = (value: string) => `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
