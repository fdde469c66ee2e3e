import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { StreamfoldConsumer, type StreamfoldConsumerProps } from '../../deploy/index.js';
import { synthesisedDefinition } from '../support/state-machine.js';

/** An app whose stacks are synthesised without bundling (`npm run synth` and the package test bundle for real). */
const unbundledApp = () => new App({ context: { 'aws:cdk:bundling-stacks': [] } });

function ordersTable(stack: Stack, props: Partial<dynamodb.TableProps> = {}): dynamodb.Table {
  return new dynamodb.Table(stack, 'Orders', {
    partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
    stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    ...props,
  });
}

/** Synthesises a stack with the construct. */
function synth(props: Partial<StreamfoldConsumerProps> = {}, extra?: (stack: Stack) => Partial<StreamfoldConsumerProps>): Template {
  const stack = new Stack(unbundledApp(), 'Test');
  const made = extra?.(stack) ?? {};
  new StreamfoldConsumer(stack, 'Consumer', {
    sourceTable: made.sourceTable ?? ordersTable(stack),
    projections: 'projections/index.ts',
    consumerName: 'orders',
    ...props,
    ...made,
  });
  return Template.fromStack(stack);
}

/** Every statement of every policy attached to the function's role, with actions and resources as lists. */
function statements(template: Template): { actions: string[]; resources: unknown[] }[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
    (policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]).map((statement) => ({
      actions: [statement.Action].flat(),
      resources: [statement.Resource].flat(),
    })),
  );
}

const logicalIdOf = (template: Template, type: string, pattern: RegExp): string => {
  const id = Object.keys(template.findResources(type)).find((candidate) => pattern.test(candidate));
  if (id === undefined) throw new Error(`no ${type} matching ${pattern}`);
  return id;
};

describe('StreamfoldConsumer', () => {
  it('creates the three tables on demand, kept on stack deletion', () => {
    const template = synth();
    const tables = Object.values(template.findResources('AWS::DynamoDB::Table')).filter(
      (table) => table.Properties.KeySchema[0].AttributeName === 'pk',
    );
    expect(tables).toHaveLength(3);
    for (const table of tables) {
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.DeletionPolicy).toBe('Retain');
    }
    expect(tables.map((table) => table.Properties.KeySchema.map((key: { AttributeName: string }) => key.AttributeName).join('+')).sort()).toEqual([
      'pk',
      'pk+sk',
      'pk+sk',
    ]);
  });

  it('runs the bundle on Node.js 22 and arm64, configured by environment, logging JSON to a log group with retention', () => {
    const template = synth({ logRetention: logs.RetentionDays.TWO_WEEKS });
    const logGroup = logicalIdOf(template, 'AWS::Logs::LogGroup', /^ConsumerLogs/);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', LogGroup: { Ref: logGroup } },
      Environment: {
        Variables: Match.objectLike({
          NODE_OPTIONS: '--enable-source-maps',
          STREAMFOLD_CONSUMER: 'orders',
          STREAMFOLD_READ_MODEL_TABLE: Match.anyValue(),
          STREAMFOLD_CHECKPOINT_TABLE: Match.anyValue(),
          STREAMFOLD_PARKED_TABLE: Match.anyValue(),
          STREAMFOLD_SOURCE_TABLE: Match.anyValue(),
          LOG_LEVEL: 'info',
        }),
      },
    });
    // A month by default; a debug log level lowers Lambda's filter with it, a warn level leaves it at INFO,
    // where Lambda files the metric lines.
    synth().hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    synth({ logLevel: 'debug' }).hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: Match.objectLike({ ApplicationLogLevel: 'DEBUG' }) });
    synth({ logLevel: 'warn' }).hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: Match.objectLike({ ApplicationLogLevel: 'INFO' }),
      Environment: { Variables: Match.objectLike({ LOG_LEVEL: 'warn' }) },
    });
  });

  it('maps the stream with safe defaults', () => {
    synth().hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Orders'), 'StreamArn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 21600,
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      ParallelizationFactor: 1,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('FailedBatches'), 'Arn'] } } },
    });
  });

  it("grants with CDK's grants, on its own tables and targets, with no managed policy", () => {
    const template = synth({}, (stack) => ({ eventBus: new events.EventBus(stack, 'Bus'), queue: new sqs.Queue(stack, 'Fanout') }));
    const all = statements(template);
    const find = (action: string) => all.filter((statement) => statement.actions.includes(action));
    for (const table of ['ConsumerReadModels', 'ConsumerCheckpoints', 'ConsumerParked']) {
      expect(JSON.stringify(find('dynamodb:PutItem'))).toContain(table);
      expect(JSON.stringify(find('dynamodb:BatchWriteItem'))).toContain(table);
    }
    for (const table of ['ConsumerReadModels', 'ConsumerCheckpoints']) {
      expect(JSON.stringify(find('dynamodb:PartiQLInsert'))).toContain(table);
      expect(JSON.stringify(find('dynamodb:PartiQLUpdate'))).toContain(table);
    }
    expect(JSON.stringify(find('dynamodb:GetRecords'))).toMatch(/StreamArn/);
    expect(JSON.stringify(find('events:PutEvents'))).toMatch(/Bus/);
    expect(JSON.stringify(find('sqs:SendMessage'))).toMatch(/Fanout/);
    expect(JSON.stringify(find('s3:PutObject'))).toMatch(/FailedBatches/);
    expect(JSON.stringify(find('logs:PutLogEvents'))).toMatch(/ConsumerLogs/);
    for (const statement of all) {
      if (statement.resources.includes('*')) expect(statement.actions).toEqual(['dynamodb:ListStreams']);
    }
    const roles = Object.values(template.findResources('AWS::IAM::Role'));
    expect(roles.map((role) => role.Properties.ManagedPolicyArns)).toEqual(roles.map(() => undefined));
  });

  it('grants the KMS key of an encrypted fan-out queue, source table and failure queue', () => {
    const template = synth({}, (stack) => {
      const key = new kms.Key(stack, 'QueueKey');
      const tableKey = new kms.Key(stack, 'TableKey');
      const failureKey = new kms.Key(stack, 'FailureKey');
      return {
        queue: new sqs.Queue(stack, 'Fanout', { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key }),
        sourceTable: ordersTable(stack, { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: tableKey }),
        onFailure: new SqsDlq(new sqs.Queue(stack, 'Failures', { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: failureKey })),
      };
    });
    const keyStatements = (keyId: string) =>
      statements(template).filter((statement) => JSON.stringify(statement.resources).includes(`"${keyId}"`));
    const actionsOn = (keyId: string) => keyStatements(keyId).flatMap((statement) => statement.actions);
    const queueKey = logicalIdOf(template, 'AWS::KMS::Key', /^QueueKey/);
    expect(actionsOn(queueKey)).toEqual(expect.arrayContaining(['kms:Encrypt', 'kms:GenerateDataKey*', 'kms:Decrypt']));
    expect(actionsOn(logicalIdOf(template, 'AWS::KMS::Key', /^TableKey/))).toContain('kms:Decrypt');
    expect(actionsOn(logicalIdOf(template, 'AWS::KMS::Key', /^FailureKey/))).toEqual(expect.arrayContaining(['kms:GenerateDataKey*']));
  });

  it('alarms on the iterator age and on the parked records of this consumer', () => {
    const template = synth({ iteratorAgeThreshold: Duration.minutes(2) });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'IteratorAge',
      Namespace: 'AWS/Lambda',
      Statistic: 'Maximum',
      Threshold: 120_000,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'RecordsParked',
      Namespace: 'streamfold',
      Dimensions: [{ Name: 'Consumer', Value: 'orders' }],
      Statistic: 'Sum',
      Threshold: 0,
    });
  });

  it("gives two consumers in one stack their own metrics' dimension, alarms and dashboards", () => {
    const stack = new Stack(unbundledApp(), 'Test');
    const source = ordersTable(stack);
    const first = new StreamfoldConsumer(stack, 'First', { sourceTable: source, projections: 'projections/index.ts' });
    const second = new StreamfoldConsumer(stack, 'Second', { sourceTable: source, projections: 'projections/index.ts' });
    expect(first.consumerName).not.toBe(second.consumerName);
    const template = Template.fromStack(stack);
    const consumerEnvironment = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (fn) => fn.Properties.Environment.Variables.STREAMFOLD_CONSUMER,
    );
    expect(consumerEnvironment.sort()).toEqual([first.consumerName, second.consumerName].sort());
    const parkedAlarmDimensions = Object.values(template.findResources('AWS::CloudWatch::Alarm'))
      .filter((alarm) => alarm.Properties.MetricName === 'RecordsParked')
      .map((alarm) => alarm.Properties.Dimensions);
    expect(parkedAlarmDimensions.sort()).toEqual(
      [[{ Name: 'Consumer', Value: first.consumerName }], [{ Name: 'Consumer', Value: second.consumerName }]].sort(),
    );
    expect(Object.keys(template.findResources('AWS::CloudWatch::Dashboard'))).toHaveLength(2);
  });

  it('draws a dashboard of the iterator age, what each projection did, its lag, and the alarms', () => {
    const template = synth();
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    for (const metric of ['RecordsApplied', 'RecordsSkipped', 'RecordsParked', 'RecordsFailed', 'LagMilliseconds']) {
      expect(body).toContain(`{\\\\\\"streamfold\\\\\\",Consumer,Projection} Consumer=\\\\\\"orders\\\\\\" MetricName=\\\\\\"${metric}\\\\\\"`);
    }
    for (const alarm of ['ConsumerIteratorAge', 'ConsumerParkedRecords']) {
      expect(body).toContain(logicalIdOf(template, 'AWS::CloudWatch::Alarm', new RegExp(`^${alarm}`)));
    }
  });

  it('names its options the way CDK does', () => {
    const template = synth(
      {
        batchSize: 500,
        parallelizationFactor: 4,
        retryAttempts: 3,
        maxRecordAge: Duration.hours(1),
        billingMode: dynamodb.BillingMode.PROVISIONED,
        architecture: lambda.Architecture.X86_64,
        removalPolicy: RemovalPolicy.DESTROY,
        tableNames: { readModels: 'my-read-models', checkpoints: 'my-checkpoints', parked: 'my-parked' },
        filters: [lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.isEqual('INSERT') })],
      },
      (stack) => ({ onFailure: new SqsDlq(new sqs.Queue(stack, 'Failures')) }),
    );
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 500,
      ParallelizationFactor: 4,
      MaximumRetryAttempts: 3,
      MaximumRecordAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Failures'), 'Arn'] } } },
      FilterCriteria: { Filters: [{ Pattern: '{"eventName":["INSERT"]}' }] },
    });
    template.hasResourceProperties('AWS::Lambda::Function', { Architectures: ['x86_64'] });
    template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'my-checkpoints', ProvisionedThroughput: Match.anyValue() });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', Properties: Match.objectLike({ TableName: 'my-parked' }) });
    expect(template.findResources('AWS::S3::Bucket')).toEqual({});
    expect(JSON.stringify(statements(template))).not.toMatch(/s3:/);
    expect(JSON.stringify(statements(template).filter((statement) => statement.actions.includes('sqs:SendMessage')))).toMatch(/Failures/);
  });

  it('takes Kinesis Data Streams for DynamoDB as the source instead', () => {
    const template = synth({}, (stack) => ({ kinesisStream: new kinesis.Stream(stack, 'Changes') }));
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Changes'), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(JSON.stringify(statements(template))).toMatch(/kinesis:GetRecords/);
  });

  it("writes the generated Lambda entry where tools keep caches, not among the user's sources", () => {
    const template = synth();
    const entries = join(process.cwd(), 'node_modules', '.cache', 'streamfold');
    const generated = readdirSync(entries).filter((name) => name.startsWith('handler-'));
    expect(generated.length).toBeGreaterThan(0);
    expect(readFileSync(join(entries, generated[0]!), 'utf8')).toContain('createHandler');
    expect(existsSync(join(process.cwd(), '.streamfold', 'cdk'))).toBe(false);
    template.resourceCountIs('AWS::Lambda::Function', 1);
  });

  it('passes the cdk-nag AwsSolutions checks, with every acknowledged finding given a reason', () => {
    const app = unbundledApp();
    const stack = new Stack(app, 'Test');
    const key = new kms.Key(stack, 'QueueKey', { enableKeyRotation: true });
    new StreamfoldConsumer(stack, 'Consumer', {
      sourceTable: ordersTable(stack),
      projections: 'projections/index.ts',
      eventBus: new events.EventBus(stack, 'Bus'),
      queue: new sqs.Queue(stack, 'Fanout', { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key, enforceSSL: true }),
      rebuildRunner: { exportBucket: new s3.Bucket(stack, 'Exports', { enforceSSL: true, serverAccessLogsPrefix: 'access/' }), exportPrefix: 'exports' },
    });
    app.synth();
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(app);
    const ofConsumer = report.violations
      .map((violation) => ({
        rule: violation.ruleName,
        resources: violation.violatingResources.map((resource) => resource.constructPath).filter((path) => path?.startsWith('Test/Consumer/')),
        description: violation.description,
      }))
      .filter((violation) => violation.resources.length > 0);
    expect(ofConsumer).toEqual([]);
    // The acknowledgments are CDK metadata with a reason each, so cdk-nag (and a reviewer) can read them.
    const acknowledged = stack.node
      .findAll()
      .flatMap((construct) => construct.node.metadata.filter((entry) => entry.type === 'aws:cdk:acknowledged-rules'))
      .flatMap((entry) => Object.values(entry.data as Record<string, string>));
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const reason of acknowledged) expect(reason.length).toBeGreaterThan(40);
  });
});

describe('the rebuild runner', () => {
  it('is absent unless asked for', () => {
    const template = synth();
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    template.resourceCountIs('AWS::Lambda::Function', 1);
  });

  it('runs one worker invocation per share under a Distributed Map with a concurrency limit, loops each share until it is done, then promotes once the live consumer has caught up', () => {
    const template = synth({ rebuildRunner: { maxConcurrency: 20, itemsPerSecond: 250, workTime: Duration.minutes(4) } });
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    const worker = logicalIdOf(template, 'AWS::Lambda::Function', /^ConsumerRebuildWorker/);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Timeout: 300,
      Environment: { Variables: Match.objectLike({ STREAMFOLD_CONSUMER: 'orders', STREAMFOLD_REBUILD_RATE: '250', STREAMFOLD_REBUILD_WORK_SECONDS: '240', STREAMFOLD_REBUILD_MARGIN_SECONDS: '30', STREAMFOLD_REBUILD_SEGMENTS: '80' }) },
    });
    const definition = synthesisedDefinition(template) as unknown as { StartAt: string; States: Record<string, any> };
    expect(definition.StartAt).toBe('Prepare');
    const { Prepare, Shares, LiveConsumerLag, LiveConsumerCaughtUp, WaitForLiveConsumer, Promote } = definition.States;
    expect(Prepare).toMatchObject({ Type: 'Task', Next: 'Shares', Parameters: { action: 'prepare', 'job.$': '$' } });
    expect(Prepare.Resource).toContain(worker);
    expect(Shares).toMatchObject({
      Type: 'Map',
      MaxConcurrency: 20,
      ItemsPath: '$.shares',
      ItemSelector: { 'job.$': '$.job', 'share.$': '$$.Map.Item.Value' },
      ResultPath: null,
      Next: 'LiveConsumerLag',
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' }, StartAt: 'Work' },
    });
    const { Work, ShareDone, Done } = Shares.ItemProcessor.States;
    expect(Work).toMatchObject({ Type: 'Task', Next: 'ShareDone', ResultPath: '$.work', Parameters: { action: 'work', 'job.$': '$.job', 'share.$': '$.share' } });
    expect(Work.Resource).toContain(worker);
    expect(Work.Retry.map((retry: { ErrorEquals: string[] }) => retry.ErrorEquals).flat()).toContain('States.TaskFailed');
    expect(ShareDone).toEqual({ Type: 'Choice', Choices: [{ Variable: '$.work.done', BooleanEquals: true, Next: 'Done' }], Default: 'Work' });
    expect(Done.Type).toBe('Succeed');
    expect(LiveConsumerLag.Resource).toContain('aws-sdk:cloudwatch:describeAlarms');
    expect(JSON.stringify(LiveConsumerLag.Parameters)).toContain(logicalIdOf(template, 'AWS::CloudWatch::Alarm', /^ConsumerIteratorAge/));
    expect(LiveConsumerCaughtUp).toMatchObject({ Choices: [{ Variable: '$.live.state', StringEquals: 'ALARM', Next: 'WaitForLiveConsumer' }], Default: 'Promote' });
    expect(WaitForLiveConsumer).toMatchObject({ Type: 'Wait', Next: 'LiveConsumerLag' });
    expect(Promote).toMatchObject({ Type: 'Task', End: true, Parameters: { action: 'promote', 'job.$': '$.job' } });
  });

  it('grants least privilege: no `*` resource, the source table only scanned and described, exports read under their prefix only', () => {
    const template = synth({ rebuildRunner: {} }, (stack) => ({ rebuildRunner: { exportBucket: new s3.Bucket(stack, 'Exports'), exportPrefix: 'exports/' } }));
    const runnerPolicies = Object.entries(template.findResources('AWS::IAM::Policy')).filter(([id]) => id.startsWith('ConsumerRebuild'));
    expect(runnerPolicies.length).toBeGreaterThanOrEqual(3);
    const runner = runnerPolicies.flatMap(([, policy]) =>
      (policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]).map((statement) => ({
        actions: [statement.Action].flat(),
        resources: [statement.Resource].flat(),
      })),
    );
    expect(runner.filter((statement) => statement.resources.includes('*'))).toEqual([]);
    const onSource = runner.filter((statement) => JSON.stringify(statement.resources).includes('Orders'));
    expect(onSource).toEqual([{ actions: ['dynamodb:Scan', 'dynamodb:DescribeTable'], resources: [{ 'Fn::GetAtt': [logicalIdOf(template, 'AWS::DynamoDB::Table', /^Orders/), 'Arn'] }] }]);
    const onExports = runner.filter((statement) => JSON.stringify(statement.resources).includes('Exports'));
    expect(onExports).toEqual([{ actions: ['s3:GetObject'], resources: [{ 'Fn::Join': ['', [{ 'Fn::GetAtt': [logicalIdOf(template, 'AWS::S3::Bucket', /^Exports/), 'Arn'] }, '/exports/*']] }] }]);
    const invoke = runner.find((statement) => statement.actions.includes('lambda:InvokeFunction'));
    expect(JSON.stringify(invoke?.resources)).toMatch(/ConsumerRebuildWorker/);
    expect(runner.find((statement) => statement.actions.includes('cloudwatch:DescribeAlarms'))?.resources).toHaveLength(1);
    // The worker writes the streamfold tables; it reads no stream.
    expect(runner.some((statement) => statement.actions.includes('dynamodb:DescribeStream'))).toBe(false);
    const roles = Object.values(template.findResources('AWS::IAM::Role'));
    expect(roles.map((role) => role.Properties.ManagedPolicyArns)).toEqual(roles.map(() => undefined));
  });
});
