import { spawn } from 'node:child_process';
import { tableConfig } from '../../src/core/config.js';
import { PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { toWireJson } from '../../src/records/wire-json.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TableNames } from '../../adapters/dynamodb/layout.js';
import { DynamoDbRebuildStateStore, DynamoDbGenerationRegistry } from '../../adapters/dynamodb/rebuild-state.js';
import { DynamoDbSourceScanner } from '../../adapters/dynamodb/scanner.js';
import { DynamoDbStreamSource } from '../../adapters/dynamodb/stream-source.js';
import { compose } from '../../src/container.js';
import { silentLogger } from '../../src/core/logging.js';
import { applyWorkload, ordersWorkload } from '../../demo/orders-workload.js';
import { followStream } from '../../src/local/shard-poller.js';
import { defineProjection, generationOf, type Projection } from '../../src/projection/define.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { Rebuilder } from '../../src/rebuild/rebuilder.js';
import { verifyProjection } from '../../src/rebuild/verify.js';
import examples from '../../projections/index.js';
import { customerTotals } from '../../projections/customer-totals.js';
import { CLI, runCli } from '../support/cli.js';
import { batches } from '../support/consumers.js';
import { differencesFromTruth, expectedTotalsLines } from '../support/expectations.js';
import { freshTables, localClient, localEndpoint, localHandler, localStreams, ordersWithRecords } from '../support/local-dynamodb.js';

let client: DynamoDBClient;

beforeAll(() => {
  client = localClient();
});

/** The example projections at version 2: a new generation of each read model. */
const version2: Projection[] = examples.map((projection) => defineProjection({ ...projection, version: 2 } as never));

describe('rebuild beside a live table and consumer', () => {
  it('converges to the fold of the final table while a writer and the live consumer keep going', async () => {
    const source = await ordersWithRecords(client, ordersWorkload({ seed: 404, operations: 500, customers: 8, maxOrders: 150 }));
    const tables = await freshTables(client);

    // Version 1 has been live from the start: it is what readers use.
    const v1 = localHandler(client, tables, examples);
    for (const batch of batches(source.records, 100)) await v1.invoke({ Records: batch });
    const registry = new DynamoDbGenerationRegistry(client, tables.readModels);
    expect(await registry.current('customer-totals')).toBe(1);
    const v1Rows = await readAllRows(v1.store, customerTotals);

    // Version 2 is deployed: its live consumer starts at the stream's end; the past comes from the rebuilds.
    const live = localHandler(client, tables, version2);
    const stop = { stopped: false };
    let reading!: () => void;
    const live2Reading = new Promise<void>((resolve) => (reading = resolve));
    const following = followStream({
      onReading: reading,
      source: new DynamoDbStreamSource(localStreams()),
      streamArn: source.streamArn,
      handle: (records) => live.invoke({ Records: records }),
      from: 'LATEST',
      stop,
    });
    const moreWrites = ordersWorkload({ seed: 405, operations: 300, customers: 8, maxOrders: 150 }).map((operation) =>
      operation.type === 'put'
        ? { ...operation, item: { ...operation.item, orderId: `n-${String(operation.item.orderId)}` } }
        : { ...operation, key: { orderId: `n-${String(operation.key.orderId)}` } },
    );
    // Some of the new writes touch the orders the rebuild is scanning.
    const touchOld = source.finalItems.slice(0, 40).map((item) => ({
      type: 'update' as const,
      key: { orderId: item.orderId },
      changes: { status: 'REFUNDED', amount: 7 },
    }));
    // The new generation's live consumer must be reading before anything it should see is written (a change
    // made before its iterator exists is seen by neither it nor, if the scan passed the item, the rebuild).
    await live2Reading;
    const writer = applyWorkload(source.table, [...moreWrites.slice(0, 150), ...touchOld, ...moreWrites.slice(150)]);

    const rebuilds = version2.map((projection) =>
      new Rebuilder(
        projection,
        compose([projection], { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) }).runtime,
        new DynamoDbSourceScanner(client, source.table.spec.name),
        new DynamoDbRebuildStateStore(client, tables.checkpoints, 'default'),
        registry,
        silentLogger,
      ).run({ segments: 4, rate: 600, pageSize: 25 }),
    );
    // Readers keep version 1 until a rebuild is done; it is never truncated.
    expect(await registry.current('order-view')).toBe(1);
    const summaries = await Promise.all(rebuilds);
    await writer;
    stop.stopped = true;
    const liveTotals = await following;
    expect(liveTotals.failed).toBe(0);
    expect(liveTotals.records).toBeGreaterThan(300);
    expect(summaries.every((summary) => summary.done && summary.segments.length === 4)).toBe(true);

    for (const projection of version2) expect(await registry.current(projection.name)).toBe(2);
    expect(await readAllRows(v1.store, customerTotals)).toEqual(v1Rows);
    const finalItems = await source.table.scan();
    expect(await differencesFromTruth(live.store, finalItems, 2)).toEqual([]);
    for (const projection of version2) {
      const result = await verifyProjection({
        projection,
        scanner: new DynamoDbSourceScanner(client, source.table.spec.name),
        reader: live.store,
        generation: generationOf(projection),
      });
      expect(result.drift).toEqual([]);
      expect(result.storedRows).toBe(result.expectedRows);
    }
  });

  it('refuses a view that depends on history, with a clear message', async () => {
    const history = defineProjection({ ...examples[2]!, name: 'order-history', dependsOn: 'history' } as never) as Projection;
    expect(() =>
      new Rebuilder(history, {} as never, {} as never, {} as never, {} as never, silentLogger),
    ).toThrow(/order-history cannot be rebuilt from a table scan: its rows depend on each item's history/);
  });
});

describe('the rebuild and verify commands', () => {
  let source: Awaited<ReturnType<typeof ordersWithRecords>>;
  let tables: TableNames;
  let connection: string[];

  beforeAll(async () => {
    source = await ordersWithRecords(client, ordersWorkload({ seed: 505, operations: 1400, customers: 10, maxOrders: 600 }));
    tables = await freshTables(client);
    connection = ['--endpoint', localEndpoint(), '--read-model-table', tables.readModels, '--checkpoint-table', tables.checkpoints, '--parked-table', tables.parked];
  });

  it('resumes a killed rebuild from where each segment stopped, with the same result', async () => {
    expect(source.finalItems.length).toBeGreaterThan(250);
    const args = ['rebuild', 'customer-totals', '--projections', 'projections/index.ts', '--table', source.table.spec.name, '--segments', '4', '--rate', '100', '--page-size', '10', ...connection];
    const first = spawn(process.execPath, [CLI, ...args]);
    let progress = '';
    await new Promise<void>((resolve, reject) => {
      first.stderr.on('data', (chunk: Buffer) => {
        progress += chunk.toString();
        const read = [...progress.matchAll(/rebuild customer-totals#v1: (\d+)/g)].map((match) => Number(match[1]));
        if (read.some((count) => count >= 100)) {
          first.kill('SIGKILL');
          resolve();
        }
      });
      first.on('exit', () => reject(new Error(`the rebuild ended before it could be killed:\n${progress}`)));
    });
    const state = await new DynamoDbRebuildStateStore(client, tables.checkpoints, 'default').load(`customer-totals#v1|${source.table.spec.name}`);
    const readBeforeKill = state?.segments.reduce((total, segment) => total + segment.read, 0) ?? 0;
    expect(readBeforeKill).toBeGreaterThanOrEqual(100);
    expect(state?.finishedAt).toBeUndefined();

    const second = await runCli(['rebuild', 'customer-totals', '--projections', 'projections/index.ts', '--table', source.table.spec.name, '--segments', '4', '--page-size', '50', ...connection]);
    expect(second.code).toBe(0);
    const thisRun = Number(/(\d+) items read by this run \((\d+) in all, resumed\)/.exec(second.stdout)?.[1]);
    const inAll = Number(/\((\d+) in all, resumed\)/.exec(second.stdout)?.[1]);
    // Each segment went on from its saved position: this run read only what the first had not.
    expect(inAll).toBe(source.finalItems.length);
    expect(thisRun).toBe(source.finalItems.length - readBeforeKill);

    const dumped = await runCli(['dump', 'customer-totals', '--projections', 'projections/index.ts', ...connection]);
    expect(dumped.stdout.trim().split('\n')).toEqual(expectedTotalsLines(source.finalItems));
    const verified = await runCli(['verify', 'customer-totals', '--projections', 'projections/index.ts', '--table', source.table.spec.name, ...connection]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/verify customer-totals#v1: \d+ items scanned, 10 rows expected, 10 stored, no drift/);
  });

  it('resumes a rebuild whose state was saved whole, in one item, before shares had items of their own', async () => {
    const own = await freshTables(client);
    const args = ['--endpoint', localEndpoint(), '--read-model-table', own.readModels, '--checkpoint-table', own.checkpoints, '--parked-table', own.parked];
    const first = await new DynamoDbSourceScanner(client, source.table.spec.name).scan(0, 4, undefined, 10);
    const legacy = {
      totalSegments: 4,
      segments: [{ lastKey: first.lastKey, done: false, read: 10 }, ...Array.from({ length: 3 }, () => ({ lastKey: undefined, done: false, read: 0 }))],
      startedAt: new Date().toISOString(),
    };
    await client.send(
      new PutItemCommand({ TableName: own.checkpoints, Item: { pk: { S: `_rebuild#default#customer-totals#v1|${source.table.spec.name}` }, state: { S: toWireJson(legacy) } } }),
    );
    const resumed = await runCli(['rebuild', 'customer-totals', '--projections', 'projections/index.ts', '--table', source.table.spec.name, '--segments', '4', ...args]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`${source.finalItems.length - 10} items read by this run (${source.finalItems.length} in all, resumed)`);
  });

  it('verify finds a drift planted in the read model, prints its key as dump does, and exits 3', async () => {
    const [customer] = [...new Set(source.finalItems.map((item) => String(item.customerId)))].sort();
    await client.send(
      new UpdateItemCommand({
        TableName: tables.readModels,
        Key: { pk: { S: `customer-totals#v1#${customer}` }, sk: { S: 'shard#0' } },
        UpdateExpression: 'ADD #amount :one',
        ExpressionAttributeNames: { '#amount': 'amount' },
        ExpressionAttributeValues: { ':one': { N: '1' } },
      }),
    );
    const verified = await runCli(['verify', 'customer-totals', '--projections', 'projections/index.ts', '--table', source.table.spec.name, ...connection]);
    expect(verified.code).toBe(3);
    const drift = verified.stdout.trim().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    expect(drift).toHaveLength(1);
    expect(drift[0]).toMatchObject({ key: customer, field: 'amount' });
    expect(BigInt(drift[0].stored) - BigInt(drift[0].expected)).toBe(1n);
    expect(verified.stdout).toMatch(/1 differences/);
  });
});

