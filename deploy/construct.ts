import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, KinesisEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BUNDLE_TARGET, ESM_REQUIRE_BANNER, EXTERNAL_MODULES, writeHandlerEntry } from './bundling.js';

export interface StreamfoldConsumerProps {
  /** The source table. Its DynamoDB stream feeds the consumer, unless `kinesisStream` is given. */
  readonly sourceTable: dynamodb.ITable;
  /** Kinesis Data Streams for DynamoDB as the source, instead of the table's stream. */
  readonly kinesisStream?: kinesis.IStream;
  /** The projections module (JS or TS), bundled into the function with esbuild. */
  readonly projections: string;
  /** The checkpoint namespace (`STREAMFOLD_CONSUMER`). */
  readonly consumerName?: string;
  readonly tableNames?: { readonly readModels?: string; readonly checkpoints?: string; readonly parked?: string };
  /** Defaults to on demand. */
  readonly billing?: dynamodb.BillingMode;
  /** Of the streamfold tables; defaults to RETAIN, since they hold read models and parked records. */
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
  readonly maxRetryAttempts?: number;
  /** Defaults to 6 hours. */
  readonly maxRecordAge?: Duration;
  /** Where Lambda sends batches it gives up on: an S3 bucket by default (it keeps the records), or a queue. */
  readonly onFailure?: { readonly bucket: s3.IBucket } | { readonly queue: sqs.IQueue };
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
  readonly logLevel?: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  /** Where the generated Lambda entry is written. Defaults to `.streamfold/cdk` in the working directory. */
  readonly entryDirectory?: string;
}

/**
 * A streamfold consumer: its read-model, checkpoint and parked-record tables, the Lambda function built from
 * a projections module, the event source mapping with safe defaults, least-privilege permissions, and
 * alarms on the stream's iterator age and on parked records.
 */
export class StreamfoldConsumer extends Construct {
  readonly readModels: dynamodb.Table;
  readonly checkpoints: dynamodb.Table;
  readonly parked: dynamodb.Table;
  readonly function: nodejs.NodejsFunction;
  readonly onFailureDestination: s3.IBucket | sqs.IQueue;
  readonly iteratorAgeAlarm: cloudwatch.Alarm;
  readonly parkedRecordsAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: StreamfoldConsumerProps) {
    super(scope, id);
    const table = (name: string, tableName: string | undefined, sortKey: boolean): dynamodb.Table =>
      new dynamodb.Table(this, name, {
        tableName,
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        ...(sortKey ? { sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING } } : {}),
        billingMode: props.billing ?? dynamodb.BillingMode.PAY_PER_REQUEST,
        removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      });
    this.readModels = table('ReadModels', props.tableNames?.readModels, true);
    this.checkpoints = table('Checkpoints', props.tableNames?.checkpoints, false);
    this.parked = table('Parked', props.tableNames?.parked, true);

    const metricsNamespace = props.metricsNamespace ?? 'streamfold';
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: writeHandlerEntry(props.projections, props.entryDirectory ?? join(process.cwd(), '.streamfold', 'cdk')),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.minutes(1),
      bundling: {
        format: nodejs.OutputFormat.ESM,
        target: BUNDLE_TARGET,
        minify: true,
        sourceMap: true,
        externalModules: EXTERNAL_MODULES,
        banner: ESM_REQUIRE_BANNER,
        mainFields: ['module', 'main'],
      },
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        STREAMFOLD_CONSUMER: props.consumerName ?? 'default',
        STREAMFOLD_SOURCE_TABLE: props.sourceTable.tableName,
        STREAMFOLD_READ_MODEL_TABLE: this.readModels.tableName,
        STREAMFOLD_CHECKPOINT_TABLE: this.checkpoints.tableName,
        STREAMFOLD_PARKED_TABLE: this.parked.tableName,
        STREAMFOLD_METRICS_NAMESPACE: metricsNamespace,
        LOG_LEVEL: props.logLevel ?? 'info',
        ...(props.eventBus === undefined ? {} : { STREAMFOLD_EVENTBRIDGE_BUS: props.eventBus.eventBusArn }),
        ...(props.queue === undefined ? {} : { STREAMFOLD_SQS_QUEUE_URL: props.queue.queueUrl }),
      },
    });

    // Least privilege: the actions the engine uses, on its own tables and targets only.
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadModelsAndCheckpoints',
        actions: [
          'dynamodb:BatchGetItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:ConditionCheckItem',
        ],
        resources: [this.readModels.tableArn, this.checkpoints.tableArn],
      }),
    );
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ParkedRecords',
        actions: ['dynamodb:BatchWriteItem', 'dynamodb:PutItem'],
        resources: [this.parked.tableArn],
      }),
    );
    if (props.eventBus !== undefined) {
      this.function.addToRolePolicy(
        new iam.PolicyStatement({ sid: 'FanOutEvents', actions: ['events:PutEvents'], resources: [props.eventBus.eventBusArn] }),
      );
    }
    if (props.queue !== undefined) {
      this.function.addToRolePolicy(
        new iam.PolicyStatement({ sid: 'FanOutQueue', actions: ['sqs:SendMessage'], resources: [props.queue.queueArn] }),
      );
    }

    this.onFailureDestination =
      props.onFailure === undefined
        ? new s3.Bucket(this, 'FailedBatches', {
            encryption: s3.BucketEncryption.S3_MANAGED,
            blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
            enforceSSL: true,
            removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
          })
        : 'bucket' in props.onFailure
          ? props.onFailure.bucket
          : props.onFailure.queue;
    const source = {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 100,
      parallelizationFactor: props.parallelizationFactor ?? 1,
      bisectBatchOnError: true,
      reportBatchItemFailures: true,
      retryAttempts: props.maxRetryAttempts ?? 10,
      maxRecordAge: props.maxRecordAge ?? Duration.hours(6),
      onFailure: new LeastPrivilegeDestination(this.onFailureDestination),
      ...(props.filters === undefined ? {} : { filters: props.filters }),
    };
    this.function.addEventSource(
      props.kinesisStream === undefined
        ? new DynamoEventSource(props.sourceTable, source)
        : new KinesisEventSource(props.kinesisStream, source),
    );

    this.iteratorAgeAlarm = new cloudwatch.Alarm(this, 'IteratorAge', {
      alarmDescription: 'The oldest stream record waits longer than the threshold: the consumer falls behind.',
      metric: this.function.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: (props.iteratorAgeThreshold ?? Duration.minutes(5)).toMilliseconds(),
      evaluationPeriods: 5,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.parkedRecordsAlarm = new cloudwatch.Alarm(this, 'ParkedRecords', {
      alarmDescription: 'Records were parked as poison: list them with `streamfold parked list`.',
      metric: new cloudwatch.Metric({
        namespace: metricsNamespace,
        metricName: 'RecordsParked',
        statistic: 'Sum',
        period: Duration.minutes(5),
      }),
      threshold: 0,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
}

/**
 * The on-failure destination with only the permissions Lambda needs to use it: `s3:PutObject` and
 * `s3:ListBucket` for a bucket, `sqs:SendMessage` for a queue (CDK's own grant read and write).
 */
class LeastPrivilegeDestination implements lambda.IEventSourceDlq {
  constructor(private readonly destination: s3.IBucket | sqs.IQueue) {}

  bind(_target: lambda.IEventSourceMapping, handler: lambda.IFunction): lambda.DlqDestinationConfig {
    if ('bucketArn' in this.destination) {
      handler.addToRolePolicy(
        new iam.PolicyStatement({ sid: 'FailedBatchesObjects', actions: ['s3:PutObject'], resources: [this.destination.arnForObjects('*')] }),
      );
      handler.addToRolePolicy(
        new iam.PolicyStatement({ sid: 'FailedBatchesBucket', actions: ['s3:ListBucket'], resources: [this.destination.bucketArn] }),
      );
      return { destination: this.destination.bucketArn };
    }
    handler.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'FailedBatchesQueue', actions: ['sqs:SendMessage'], resources: [this.destination.queueArn] }),
    );
    return { destination: this.destination.queueArn };
  }
}
