import { Arn, ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { acknowledgeRunnerFindings } from './acknowledgments.js';
import { LAMBDA_BUNDLING, writeHandlerEntry } from './bundling.js';

/** The rebuild runner, opted into with `rebuildRunner` on `StreamfoldConsumer`. */
export interface RebuildRunnerProps {
  /** Shares (scan segments, export data files) rebuilt at once: the Distributed Map's MaxConcurrency. Defaults to 10. */
  readonly maxConcurrency?: number;
  /**
   * Items a second one invocation reads. The runner as a whole reads at most `maxConcurrency` times this, which
   * is what the read-model table must absorb (each item is at least one write). Defaults to 500.
   */
  readonly itemsPerSecond?: number;
  /** How long one invocation works before it saves its position and its map item calls it again. Defaults to 3 minutes. */
  readonly workTime?: Duration;
  /** A bucket holding DynamoDB exports to rebuild from; the worker may read objects under `exportPrefix` only. */
  readonly exportBucket?: s3.IBucket;
  /** The key prefix exports are written under (`exports` for `s3://bucket/exports/AWSDynamoDB/...`). Defaults to the whole bucket. */
  readonly exportPrefix?: string;
  readonly memorySize?: number;
}

export interface StreamfoldRebuildRunnerProps extends RebuildRunnerProps {
  readonly sourceTable: dynamodb.ITable;
  readonly readModels: dynamodb.ITable;
  readonly checkpoints: dynamodb.ITable;
  readonly parked: dynamodb.ITable;
  readonly consumerName: string;
  readonly projections: string;
  readonly entryDirectory: string;
  readonly architecture: lambda.Architecture;
  readonly logLevel: string;
  readonly applicationLogLevel: lambda.ApplicationLogLevel;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** The consumer's iterator-age alarm: the generation is promoted only while it is not in ALARM. */
  readonly iteratorAgeAlarm: cloudwatch.IAlarm;
}

/** Kept from Lambda's deadline after the work time: the last page, its retries and the save. */
const MARGIN = Duration.seconds(30);

/**
 * Rebuilds at table scale: a Step Functions state machine whose Distributed Map runs one Lambda invocation
 * per share (a scan segment or an export data file), each folding its share with the same runtime for a few
 * minutes and saving its position in the rebuild state; the map item loops until its share is done. Then it
 * waits while the live consumer's iterator-age alarm is in ALARM, and promotes the generation.
 */
export class StreamfoldRebuildRunner extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: StreamfoldRebuildRunnerProps) {
    super(scope, id);
    const workTime = props.workTime ?? Duration.minutes(3);
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention, removalPolicy: props.removalPolicy });
    const role = new iam.Role(this, 'WorkerRole', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    this.logGroup.grantWrite(role);
    this.function = new nodejs.NodejsFunction(this, 'Worker', {
      entry: writeHandlerEntry(props.projections, props.entryDirectory, 'rebuild-worker'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: props.architecture,
      memorySize: props.memorySize ?? 1024,
      timeout: workTime.plus(MARGIN).plus(Duration.seconds(30)),
      role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: props.applicationLogLevel,
      bundling: LAMBDA_BUNDLING,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        STREAMFOLD_CONSUMER: props.consumerName,
        STREAMFOLD_READ_MODEL_TABLE: props.readModels.tableName,
        STREAMFOLD_CHECKPOINT_TABLE: props.checkpoints.tableName,
        STREAMFOLD_PARKED_TABLE: props.parked.tableName,
        STREAMFOLD_REBUILD_RATE: String(props.itemsPerSecond ?? 500),
        STREAMFOLD_REBUILD_WORK_SECONDS: String(workTime.toSeconds()),
        STREAMFOLD_REBUILD_MARGIN_SECONDS: String(MARGIN.toSeconds()),
        // A scan's default segments: a few shares for each map item at once, so each is minutes of work.
        STREAMFOLD_REBUILD_SEGMENTS: String(4 * (props.maxConcurrency ?? 10)),
        LOG_LEVEL: props.logLevel,
      },
    });
    for (const own of [props.readModels, props.checkpoints, props.parked]) own.grantReadWriteData(role);
    // The source is only scanned and described: no other read of it, and nothing of its stream.
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:Scan', 'dynamodb:DescribeTable'], resources: [props.sourceTable.tableArn] }));
    props.sourceTable.encryptionKey?.grantDecrypt(role);
    const exportObjects = props.exportBucket?.arnForObjects(`${props.exportPrefix === undefined ? '' : `${props.exportPrefix.replace(/\/$/, '')}/`}*`);
    if (props.exportBucket !== undefined && exportObjects !== undefined) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [exportObjects] }));
      props.exportBucket.encryptionKey?.grantDecrypt(role);
    }

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(this.definition(props)),
      stateMachineType: sfn.StateMachineType.STANDARD,
    });
    acknowledgeRunnerFindings(this.function, role, this.stateMachine, exportObjects);
  }

  private definition(props: StreamfoldRebuildRunnerProps): sfn.IChainable {
    const invoke = (id: string, payload: Record<string, unknown>, resultPath: string) =>
      new tasks.LambdaInvoke(this, id, {
        lambdaFunction: this.function,
        payload: sfn.TaskInput.fromObject(payload),
        payloadResponseOnly: true,
        resultPath,
        retryOnServiceExceptions: true,
      });
    const prepare = invoke('Prepare', { action: 'prepare', 'job.$': '$' }, '$');
    // A worker that failed (throttled past its retries, a network fault) is tried again: its share goes on
    // from the last page it saved, and a page folded but not saved comes again as a no-op.
    const work = invoke('Work', { action: 'work', 'job.$': '$.job', 'share.$': '$.share' }, '$.work').addRetry({
      errors: ['States.TaskFailed'],
      interval: Duration.seconds(5),
      backoffRate: 2,
      maxAttempts: 4,
    });
    const shareDone = new sfn.Choice(this, 'ShareDone')
      .when(sfn.Condition.booleanEquals('$.work.done', true), new sfn.Succeed(this, 'Done', { outputPath: sfn.JsonPath.DISCARD }))
      .otherwise(work);
    const shares = new sfn.DistributedMap(this, 'Shares', {
      itemsPath: sfn.JsonPath.stringAt('$.shares'),
      itemSelector: { 'job.$': '$.job', 'share.$': '$$.Map.Item.Value' },
      maxConcurrency: props.maxConcurrency ?? 10,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      resultPath: sfn.JsonPath.DISCARD,
    });
    shares.itemProcessor(work.next(shareDone));

    // Caught up: the live consumer's iterator age is under its alarm's threshold (or there is no traffic).
    const alarmArn = Arn.format({ service: 'cloudwatch', resource: 'alarm', resourceName: props.iteratorAgeAlarm.alarmName, arnFormat: ArnFormat.COLON_RESOURCE_NAME }, Stack.of(this));
    const caughtUp = new tasks.CallAwsService(this, 'LiveConsumerLag', {
      service: 'cloudwatch',
      action: 'describeAlarms',
      parameters: { AlarmNames: [props.iteratorAgeAlarm.alarmName] },
      iamAction: 'cloudwatch:DescribeAlarms',
      iamResources: [alarmArn],
      resultSelector: { 'state.$': '$.MetricAlarms[0].StateValue' },
      resultPath: '$.live',
    });
    const promote = invoke('Promote', { action: 'promote', 'job.$': '$.job' }, '$.promoted');
    const wait = new sfn.Wait(this, 'WaitForLiveConsumer', { time: sfn.WaitTime.duration(Duration.minutes(1)) });
    const lagging = new sfn.Choice(this, 'LiveConsumerCaughtUp')
      .when(sfn.Condition.stringEquals('$.live.state', 'ALARM'), wait.next(caughtUp))
      .otherwise(promote);
    return prepare.next(shares).next(caughtUp).next(lagging);
  }
}
