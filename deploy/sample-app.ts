// A sample CDK app to copy: the `Orders` table and its streamfold consumer with the example projections.
// `npm run synth` synthesises it into cdk.out with no AWS account: the stack is environment-agnostic.
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import { StreamfoldConsumer } from './index.js';

const app = new App({ outdir: process.env.CDK_OUTDIR ?? 'cdk.out' });
const stack = new Stack(app, 'StreamfoldOrders');

const orders = new dynamodb.Table(stack, 'Orders', {
  partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
  billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
  stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
  removalPolicy: RemovalPolicy.DESTROY,
});

new StreamfoldConsumer(stack, 'OrdersConsumer', {
  sourceTable: orders,
  projections: 'projections/index.ts',
  consumerName: 'orders',
  eventBus: new events.EventBus(stack, 'OrderEvents'),
});

const assembly = app.synth();
console.log(`synthesised ${assembly.stacks.map((artifact) => artifact.stackName).join(', ')} into ${assembly.directory}`);
