import { join } from 'node:path';
import { Duration, Names, RemovalPolicy } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, KinesisEventSource, S3OnFailureDestination } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeFunctionFindings } from './acknowledgments.js';
import { LAMBDA_BUNDLING, writeHandlerEntry } from './bundling.js';
import { addObservability } from './observability.js';
import { StreamfoldRebuildRunner, type RebuildRunnerProps } from './rebuild-runner.js';

/** Generated files go where tools keep caches, not among the user's sources. */
const defaultEntryDirectory = (): string => join(process.cwd(), 'node_modules', '.cache', 'streamfold');

/**
 * Lambda's application log level for a `logLevel`: never above INFO, since metric lines carry no level and
 * Lambda files them under INFO (a WARN filter would drop them); `LOG_LEVEL` does the rest of the filtering.
 */
const LAMBDA_LOG_LEVEL: Record<ConsumerLogLevel, lambda.ApplicationLogLevel> = {
  trace: lambda.ApplicationLogLevel.TRACE,
  debug: lambda.ApplicationLogLevel.DEBUG,
  info: lambda.ApplicationLogLevel.INFO,
  warn: lambda.ApplicationLogLevel.INFO,
  error: lambda.ApplicationLogLevel.INFO,
};

export type ConsumerLogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

export interface StreamfoldConsumerProps {
  /** The source table. Its DynamoDB stream feeds the consumer, unless `kinesisStream` is given. */
  readonly sourceTable: dynamodb.ITable;
  /** Kinesis Data Streams for DynamoDB as the source, instead of the table's stream. */
  readonly kinesisStream?: kinesis.IStream;
  /** The projections module (JS or TS), bundled into the function with esbuild. */
  readonly projections: string;
  /**
   * The checkpoint namespace (`STREAMFOLD_CONSUMER`) and the `Consumer` dimension of the metrics and alarms.
   * Defaults to a name unique to this construct in the app. Keep it once deployed: checkpoints are kept per
   * name, and under a new one sums would count every change again.
   */
  readonly consumerName?: string;
  readonly tableNames?: { readonly readModels?: string; readonly checkpoints?: string; readonly parked?: string };
  /** Of the streamfold tables. Defaults to on demand. */
  readonly billingMode?: dynamodb.BillingMode;
  /** Of the streamfold tables and the log group; defaults to RETAIN, since they hold read models and parked records. */
  readonly removalPolicy?: RemovalPolicy;
  /** Defaults to arm64. */
  readonly architecture?: lambda.Architecture;
  readonly memorySize?: number;
  readonly timeout?: Duration;
  /** Defaults to 100. */
  readonly batchSize?: number;
  /** Concurrent batches per shard, 1 to 10; each item's records stay in order. Defaults to 1. */
  readonly parallelizationFactor?: number;
  /** Defaults to 10: a batch that keeps failing goes to the on-failure destination, not on for a day. */
  readonly retryAttempts?: number;
  /** Defaults to 6 hours. */
  readonly maxRecordAge?: Duration;
  /**
   * Where Lambda sends batches it gives up on, as CDK's own types: `S3OnFailureDestination` (the default,
   * with a new bucket: S3 receives the whole records), `SqsDlq` or `SnsDlq` (metadata only).
   */
  readonly onFailure?: lambda.IEventSourceDlq;
  /** Event source filter patterns (`FilterCriteria`), such as `lambda.FilterCriteria.filter({...})`. */
  readonly filters?: Array<Record<string, unknown>>;
  /** Fan-out: every change published to this bus (`STREAMFOLD_EVENTBRIDGE_BUS`). */
  readonly eventBus?: events.IEventBus;
  /** Fan-out: every change sent to this queue (`STREAMFOLD_SQS_QUEUE_URL`). */
  readonly queue?: sqs.IQueue;
  /** Alarm when the oldest record waits longer than this. Defaults to 5 minutes. */
  readonly iteratorAgeThreshold?: Duration;
  /** CloudWatch namespace of the embedded metrics. Defaults to `streamfold`. */
  readonly metricsNamespace?: string;
  /** Defaults to `info`. */
  readonly logLevel?: ConsumerLogLevel;
  /** How long the function's log group keeps its logs. Defaults to one month. */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Where the generated Lambda entry is written: a directory under the project root (where the lockfile is),
   * which NodejsFunction requires. Defaults to `node_modules/.cache/streamfold` in the working directory.
   */
  readonly entryDirectory?: string;
  /**
   * A rebuild runner in AWS (off unless given): a Step Functions state machine whose Distributed Map rebuilds
   * a projection's new generation one share (scan segment or export data file) per Lambda invocation;
   * `streamfold rebuild --in-aws --state-machine <arn>` starts it.
   */
  readonly rebuildRunner?: RebuildRunnerProps;
}

/**
 * A streamfold consumer: its read-model, checkpoint and parked-record tables, the Lambda function built from
 * a projections module with its log group, the event source mapping with safe defaults, permissions by
 * CDK's grants (so KMS-encrypted tables, queues and buses work), alarms and a dashboard.
 */
export class StreamfoldConsumer extends Construct {
  readonly consumerName: string;
  readonly readModels: dynamodb.Table;
  readonly checkpoints: dynamodb.Table;
  readonly parked: dynamodb.Table;
  readonly function: nodejs.NodejsFunction;
  readonly logGroup: logs.LogGroup;
  /** The bucket made for failed batches when no `onFailure` destination is given. */
  readonly failedBatches: s3.Bucket | undefined;
  readonly iteratorAgeAlarm: cloudwatch.Alarm;
  readonly parkedRecordsAlarm: cloudwatch.Alarm;
  readonly dashboard: cloudwatch.Dashboard;
  /** The rebuild runner, when `rebuildRunner` was given. */
  readonly rebuildRunner: StreamfoldRebuildRunner | undefined;

  constructor(scope: Construct, id: string, props: StreamfoldConsumerProps) {
    super(scope, id);
    this.consumerName = props.consumerName ?? Names.uniqueResourceName(this, { maxLength: 64 });
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const table = (name: string, tableName: string | undefined, sortKey: boolean): dynamodb.Table =>
      new dynamodb.Table(this, name, {
        tableName,
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        ...(sortKey ? { sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING } } : {}),
        billingMode: props.billingMode ?? dynamodb.BillingMode.PAY_PER_REQUEST,
        removalPolicy,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      });
    this.readModels = table('ReadModels', props.tableNames?.readModels, true);
    this.checkpoints = table('Checkpoints', props.tableNames?.checkpoints, false);
    this.parked = table('Parked', props.tableNames?.parked, true);

    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy });
    // A role of its own rather than AWSLambdaBasicExecutionRole: it writes to this log group and nowhere else.
    const role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(role);

    const metricsNamespace = props.metricsNamespace ?? 'streamfold';
    const logLevel = props.logLevel ?? 'info';
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: writeHandlerEntry(props.projections, props.entryDirectory ?? defaultEntryDirectory()),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.minutes(1),
      role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: LAMBDA_LOG_LEVEL[logLevel],
      bundling: LAMBDA_BUNDLING,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        STREAMFOLD_CONSUMER: this.consumerName,
        STREAMFOLD_SOURCE_TABLE: props.sourceTable.tableName,
        STREAMFOLD_READ_MODEL_TABLE: this.readModels.tableName,
        STREAMFOLD_CHECKPOINT_TABLE: this.checkpoints.tableName,
        STREAMFOLD_PARKED_TABLE: this.parked.tableName,
        STREAMFOLD_METRICS_NAMESPACE: metricsNamespace,
        LOG_LEVEL: logLevel,
        ...(props.eventBus === undefined ? {} : { STREAMFOLD_EVENTBRIDGE_BUS: props.eventBus.eventBusArn }),
        ...(props.queue === undefined ? {} : { STREAMFOLD_SQS_QUEUE_URL: props.queue.queueUrl }),
      },
    });

    // CDK's grants, not hand-written statements: they add the KMS permissions of encrypted resources.
    for (const own of [this.readModels, this.checkpoints, this.parked]) own.grantReadWriteData(this.function);
    // Rows and checkpoints written alone go 25 to a BatchExecuteStatement, which IAM authorises as PartiQL.
    for (const own of [this.readModels, this.checkpoints]) own.grant(this.function, 'dynamodb:PartiQLInsert', 'dynamodb:PartiQLUpdate');
    props.eventBus?.grantPutEventsTo(this.function);
    props.queue?.grantSendMessages(this.function);

    let onFailure = props.onFailure;
    if (onFailure === undefined) {
      this.failedBatches = new s3.Bucket(this, 'FailedBatches', {
        encryption: s3.BucketEncryption.S3_MANAGED,
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        enforceSSL: true,
        removalPolicy,
      });
      onFailure = new S3OnFailureDestination(this.failedBatches);
    }
    const source = {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 100,
      parallelizationFactor: props.parallelizationFactor ?? 1,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      retryAttempts: props.retryAttempts ?? 10,
      maxRecordAge: props.maxRecordAge ?? Duration.hours(6),
      onFailure,
      ...(props.filters === undefined ? {} : { filters: props.filters }),
    };
    // The event sources grant the stream reads themselves (grantStreamRead for a table, grantRead for Kinesis).
    this.function.addEventSource(
      props.kinesisStream === undefined
        ? new DynamoEventSource(props.sourceTable, source)
        : new KinesisEventSource(props.kinesisStream, source),
    );
    acknowledgeFunctionFindings(this.function, role, this.failedBatches);

    const observability = addObservability(this, {
      function: this.function,
      consumerName: this.consumerName,
      metricsNamespace,
      iteratorAgeThreshold: props.iteratorAgeThreshold ?? Duration.minutes(5),
    });
    this.iteratorAgeAlarm = observability.iteratorAgeAlarm;
    this.parkedRecordsAlarm = observability.parkedRecordsAlarm;
    this.dashboard = observability.dashboard;

    this.rebuildRunner =
      props.rebuildRunner === undefined
        ? undefined
        : new StreamfoldRebuildRunner(this, 'Rebuild', {
            ...props.rebuildRunner,
            sourceTable: props.sourceTable,
            readModels: this.readModels,
            checkpoints: this.checkpoints,
            parked: this.parked,
            consumerName: this.consumerName,
            projections: props.projections,
            entryDirectory: props.entryDirectory ?? defaultEntryDirectory(),
            architecture: props.architecture ?? lambda.Architecture.ARM_64,
            logLevel,
            applicationLogLevel: LAMBDA_LOG_LEVEL[logLevel],
            logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
            removalPolicy,
            iteratorAgeAlarm: this.iteratorAgeAlarm,
          });
  }
}
