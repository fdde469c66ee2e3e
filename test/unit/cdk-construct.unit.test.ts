import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { StreamfoldConsumer, type StreamfoldConsumerProps } from '../../deploy/index.js';

/** Synthesises a stack with the construct; bundling is skipped (`npm run synth` bundles for real). */
function synth(props: Partial<StreamfoldConsumerProps> = {}, extra?: (stack: Stack) => Partial<StreamfoldConsumerProps>): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test');
  const orders = new dynamodb.Table(stack, 'Orders', {
    partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
    stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
  });
  new StreamfoldConsumer(stack, 'Consumer', {
    sourceTable: orders,
    projections: 'projections/index.ts',
    ...props,
    ...(extra?.(stack) ?? {}),
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

  it('runs the bundle on Node.js 22 and arm64, configured by environment', () => {
    synth().hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Environment: {
        Variables: Match.objectLike({
          NODE_OPTIONS: '--enable-source-maps',
          STREAMFOLD_CONSUMER: 'default',
          STREAMFOLD_READ_MODEL_TABLE: Match.anyValue(),
          STREAMFOLD_CHECKPOINT_TABLE: Match.anyValue(),
          STREAMFOLD_PARKED_TABLE: Match.anyValue(),
          STREAMFOLD_SOURCE_TABLE: Match.anyValue(),
        }),
      },
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

  it('grants only what the engine uses, on its own tables, and * only for ListStreams', () => {
    const template = synth({}, (stack) => ({
      eventBus: new events.EventBus(stack, 'Bus'),
      queue: new sqs.Queue(stack, 'Fanout'),
    }));
    const all = statements(template);
    const allowed = new Set([
      'dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem',
      'dynamodb:ConditionCheckItem', 'dynamodb:BatchWriteItem', 'dynamodb:ListStreams', 'dynamodb:DescribeStream',
      'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'events:PutEvents', 'sqs:SendMessage', 's3:PutObject', 's3:ListBucket',
    ]);
    expect(all.flatMap((statement) => statement.actions).filter((action) => !allowed.has(action))).toEqual([]);
    for (const statement of all) {
      if (statement.resources.includes('*')) expect(statement.actions).toEqual(['dynamodb:ListStreams']);
    }
    const find = (action: string) => all.filter((statement) => statement.actions.includes(action));
    expect(find('dynamodb:UpdateItem')[0]?.resources).toHaveLength(2);
    expect(JSON.stringify(find('dynamodb:UpdateItem'))).toMatch(/ConsumerReadModels.*ConsumerCheckpoints/);
    expect(JSON.stringify(find('dynamodb:BatchWriteItem'))).toMatch(/ConsumerParked/);
    expect(JSON.stringify(find('dynamodb:GetRecords'))).toMatch(/StreamArn/);
    expect(JSON.stringify(find('events:PutEvents'))).toMatch(/Bus/);
    expect(JSON.stringify(find('sqs:SendMessage'))).toMatch(/Fanout/);
    expect(JSON.stringify(find('s3:PutObject'))).toMatch(/FailedBatches.*\/\*/);
  });

  it('alarms on the iterator age and on parked records', () => {
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
      Statistic: 'Sum',
      Threshold: 0,
    });
  });

  it('changes what the options say', () => {
    const template = synth(
      {
        batchSize: 500,
        parallelizationFactor: 4,
        maxRetryAttempts: 3,
        maxRecordAge: Duration.hours(1),
        architecture: lambda.Architecture.X86_64,
        removalPolicy: RemovalPolicy.DESTROY,
        tableNames: { readModels: 'my-read-models', checkpoints: 'my-checkpoints', parked: 'my-parked' },
        consumerName: 'orders',
        filters: [lambda.FilterCriteria.filter({ eventName: lambda.FilterRule.isEqual('INSERT') })],
      },
      (stack) => ({ onFailure: { queue: new sqs.Queue(stack, 'Failures') } }),
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
    template.hasResourceProperties('AWS::DynamoDB::Table', { TableName: 'my-checkpoints' });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', Properties: Match.objectLike({ TableName: 'my-parked' }) });
    expect(template.findResources('AWS::S3::Bucket')).toEqual({});
    expect(JSON.stringify(statements(template))).not.toMatch(/s3:/);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ STREAMFOLD_CONSUMER: 'orders' }) },
    });
  });

  it('takes Kinesis Data Streams for DynamoDB as the source instead', () => {
    const template = synth({}, (stack) => ({ kinesisStream: new kinesis.Stream(stack, 'Changes') }));
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Changes'), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(JSON.stringify(statements(template))).toMatch(/kinesis:GetRecords/);
  });
});
