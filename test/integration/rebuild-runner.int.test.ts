import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryExportObjects } from '../../adapters/export/directory.js';
import { DynamoDbGenerationRegistry } from '../../adapters/dynamodb/rebuild-state.js';
import { StreamfoldConsumer } from '../../deploy/index.js';
import { run } from '../../src/cli/main.js';
import { memoryOutput, type Output } from '../../src/cli/output.js';
import { tableConfig } from '../../src/core/config.js';
import { silentLogger } from '../../src/core/logging.js';
import { createRebuildWorker } from '../../src/lambda/rebuild-worker.js';
import { customerTotals } from '../../projections/customer-totals.js';
import { bulkOrders } from '../support/bulk-orders.js';
import { writeExport } from '../support/exports.js';
import { freshTables, localClient, localEndpoint } from '../support/local-dynamodb.js';
import { runMachine, synthesisedDefinition, type Machine } from '../support/state-machine.js';

const ITEMS = 600;
const STATE_MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:rebuild';

let client: DynamoDBClient;
let table: string;
let definition: Machine;
let directory: string;

beforeAll(async () => {
  client = localClient();
  directory = mkdtempSync(join(tmpdir(), 'streamfold-runner-'));
  table = await bulkOrders(client, ITEMS, 7);
  // The state machine as the construct synthesises it.
  const stack = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Runner');
  const orders = new dynamodb.Table(stack, 'Orders', { partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING }, stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES });
  new StreamfoldConsumer(stack, 'Consumer', { sourceTable: orders, projections: 'projections/index.ts', rebuildRunner: { maxConcurrency: 2 } });
  definition = synthesisedDefinition(Template.fromStack(stack));
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

/**
 * Step Functions, played here: StartExecution runs the synthesised definition with the real worker on DynamoDB
 * Local (each invocation's time running out after two pages); the live consumer's alarm is in ALARM once,
 * then OK. The first work invocation waits for the CLI to have looked once, so there is progress to show.
 */
function stepFunctions(tables: Awaited<ReturnType<typeof freshTables>>, exportRoot?: string) {
  const worker = createRebuildWorker({
    projections: [customerTotals],
    dynamoDbClient: client,
    logger: silentLogger,
    config: tableConfig(tables),
    environment: { STREAMFOLD_REBUILD_MARGIN_SECONDS: '0' },
    exportObjects: () => new DirectoryExportObjects(exportRoot ?? directory),
  });
  const seen = { polls: 0, works: 0, alarms: 0, inputs: [] as unknown[] };
  let outcome: { status: 'RUNNING' | 'SUCCEEDED' | 'FAILED'; error?: string } = { status: 'RUNNING' };
  const sfn = mockClient(SFNClient);
  sfn.on(StartExecutionCommand).callsFake((input: { stateMachineArn: string; input: string }) => {
    seen.inputs.push(JSON.parse(input.input));
    void runMachine(definition, JSON.parse(input.input), async (resource, payload) => {
      if (resource.includes('describeAlarms')) return { MetricAlarms: [{ StateValue: (seen.alarms += 1) === 1 ? 'ALARM' : 'OK' }] };
      if (!resource.includes('ConsumerRebuildWorker')) throw new Error(`no task ${resource}`);
      let remaining = 1000; // two pages: the first, and one more
      const result = await worker(payload, { awsRequestId: 'r', getRemainingTimeInMillis: () => (remaining -= 1000) + 1000 });
      if ((payload as { action: string }).action === 'work' && (seen.works += 1) === 1) {
        const polls = seen.polls;
        while (seen.polls === polls) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      return result;
    }).then(
      () => (outcome = { status: 'SUCCEEDED' }),
      (error: Error) => (outcome = { status: 'FAILED', error: error.message }),
    );
    return { executionArn: `${STATE_MACHINE.replace(':stateMachine:', ':execution:')}:1`, startDate: new Date() };
  });
  sfn.on(DescribeExecutionCommand).callsFake(() => {
    seen.polls += 1;
    return { status: outcome.status, error: outcome.error };
  });
  return { seen, restore: () => sfn.restore() };
}

function capturing(): Output & { lines: string[]; notices: string[]; progress: { write(text: string): void }; drawn: string[] } {
  const drawn: string[] = [];
  return { ...memoryOutput(), drawn, progress: { write: (text: string) => void drawn.push(text) } };
}

describe('rebuild --in-aws', () => {
  it('starts the state machine with the job and shows the progress its workers save, until the generation is promoted', async () => {
    const tables = await freshTables(client);
    const connection = ['--endpoint', localEndpoint(), '--read-model-table', tables.readModels, '--checkpoint-table', tables.checkpoints, '--parked-table', tables.parked];
    const aws = stepFunctions(tables);
    try {
      const output = capturing();
      const code = await run(['node', 'streamfold', 'rebuild', 'customer-totals', '--projections', 'projections/index.ts', '--table', table, '--segments', '3', '--page-size', '40', '--in-aws', '--state-machine', STATE_MACHINE, ...connection], output);
      expect(code, output.notices.join('\n')).toBe(0);
      expect(aws.seen.inputs).toEqual([{ projection: 'customer-totals', table, segments: 3, pageSize: 40, restart: false }]);
      // Three segments of about 200 items, 80 an invocation: several invocations each, and a wait for the live consumer.
      expect(aws.seen.works).toBeGreaterThanOrEqual(Math.ceil(ITEMS / 80));
      expect(aws.seen.alarms).toBe(2);
      const partial = output.drawn.map((line) => /rebuild customer-totals#v1: (\d+) items/.exec(line)?.[1]).filter((read) => read !== undefined).map(Number);
      expect(partial.some((read) => read > 0 && read < ITEMS)).toBe(true);
      expect(output.drawn.at(-1)).toMatch(new RegExp(`rebuild customer-totals#v1: ${ITEMS} items, .*; segments 0:done 1:done 2:done; done`));
      expect(output.lines.join('\n')).toMatch(new RegExp(`rebuilt customer-totals#v1 from table ${table}: ${ITEMS} items read by this run \\(${ITEMS} in all\\), ${ITEMS} applied, 0 already newer, 0 parked`));
      expect(await new DynamoDbGenerationRegistry(client, tables.readModels).current('customer-totals')).toBe(1);
      const dumped = capturing();
      expect(await run(['node', 'streamfold', 'dump', 'customer-totals', '--projections', 'projections/index.ts', ...connection], dumped)).toBe(0);
      expect(dumped.lines).toHaveLength(7);
      const verified = capturing();
      expect(await run(['node', 'streamfold', 'verify', 'customer-totals', '--projections', 'projections/index.ts', '--table', table, ...connection], verified)).toBe(0);
    } finally {
      aws.restore();
    }
  });

  it('runs an export through the same state machine, one map item per data file, and says what failed when an execution fails', async () => {
    const tables = await freshTables(client);
    const connection = ['--endpoint', localEndpoint(), '--read-model-table', tables.readModels, '--checkpoint-table', tables.checkpoints, '--parked-table', tables.parked];
    const exported = await writeExport(client, { name: table, keys: ['orderId'] }, directory, { files: 3, emptyFiles: 1 });
    const aws = stepFunctions(tables, exported.root);
    try {
      const location = `s3://exports-bucket/${exported.prefix}/AWSDynamoDB/${exported.exportId}`;
      const output = capturing();
      const code = await run(['node', 'streamfold', 'rebuild', 'customer-totals', '--projections', 'projections/index.ts', '--from-export', location, '--page-size', '50', '--in-aws', '--state-machine', STATE_MACHINE, '--json', ...connection], output);
      expect(code, output.notices.join('\n')).toBe(0);
      expect(aws.seen.inputs).toEqual([{ projection: 'customer-totals', export: location, pageSize: 50, restart: false }]);
      const summary = JSON.parse(output.lines.join('')) as { readThisRun: number; files: { items: number; read: number }[] };
      expect(summary.readThisRun).toBe(ITEMS);
      expect(summary.files.map((file) => file.read)).toEqual(exported.files.map((file) => file.items));
      expect(output.drawn.some((line) => /files \d\/4 done, reading data\/\w+\.json\.gz \d+\/\d+/.test(line))).toBe(true);
    } finally {
      aws.restore();
    }
    // A job the worker refuses fails the execution, and the CLI says so.
    const failing = stepFunctions(tables);
    try {
      const output = capturing();
      const code = await run(['node', 'streamfold', 'rebuild', 'customer-totals', '--projections', 'projections/index.ts', '--table', 'NoSuchTable', '--in-aws', '--state-machine', STATE_MACHINE, ...connection], output);
      expect(code).toBe(1);
      expect(output.notices.join('\n')).toMatch(/the rebuild runner's execution .* ended FAILED: .*NoSuchTable|non-existent table/);
    } finally {
      failing.restore();
    }
  });
});
