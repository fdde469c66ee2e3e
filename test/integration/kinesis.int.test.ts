import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { readAllRows } from '../../src/projection/read-model.js';
import { deliverBatch, emptyTotals } from '../../src/local/lambda-driver.js';
import { ordersWorkload } from '../../demo/orders-workload.js';
import examples from '../../projections/index.js';
import { batches } from '../support/consumers.js';
import { expectMatchesTruth } from '../support/expectations.js';
import { toKinesisRecords } from '../support/kinesis.js';
import { freshTables, localClient, localEndpoint, localHandler, ordersWithRecords, uniqueName } from '../support/local-dynamodb.js';

const run = promisify(execFile);
let client: DynamoDBClient;
let source: Awaited<ReturnType<typeof ordersWithRecords>>;
let kinesis: Record<string, unknown>[];

beforeAll(async () => {
  client = localClient();
  source = await ordersWithRecords(client, ordersWorkload({ seed: 77, operations: 500, customers: 6, maxOrders: 80 }));
  kinesis = toKinesisRecords(source.records, { seed: 3, jitter: 4, duplicates: 60 });
});

describe('Kinesis Data Streams for DynamoDB as the input', () => {
  it('gives the same read models as the DynamoDB Streams event, despite duplicates and reordering', async () => {
    expect(kinesis.length).toBe(source.records.length + 60);
    const viaStreams = localHandler(client, await freshTables(client));
    for (const batch of batches(source.records, 100)) await viaStreams.invoke({ Records: batch });

    const viaKinesis = localHandler(client, await freshTables(client));
    const totals = emptyTotals();
    for (const batch of batches(kinesis, 100)) {
      await deliverBatch(batch, (records) => viaKinesis.invoke({ Records: records }), 3, totals);
    }
    expect(totals.failed).toBe(0);
    expect(totals.duplicates + totals.stale).toBeGreaterThanOrEqual(60);
    await expectMatchesTruth(viaKinesis.store, source.finalItems);
    // Row for row; a view's `updatedAt` is left out, since the two inputs carry different times.
    const withoutTime = (rows: Awaited<ReturnType<typeof readAllRows>>) =>
      rows.map(({ key, value }) => ({ key, value: { ...value, updatedAt: undefined } }));
    for (const projection of examples) {
      expect(withoutTime(await readAllRows(viaKinesis.store, projection))).toEqual(
        withoutTime(await readAllRows(viaStreams.store, projection)),
      );
    }
  });

  it('is accepted by streamfold replay as JSON Lines of Kinesis records', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'streamfold-kinesis-'));
    const input = join(directory, 'kinesis.jsonl');
    await writeFile(input, kinesis.map((record) => JSON.stringify(record)).join('\n'));
    const tables = ['--read-model-table', uniqueName('rm'), '--checkpoint-table', uniqueName('cp'), '--parked-table', uniqueName('pk')];
    const cli = join(import.meta.dirname, '../../bin/streamfold.js');
    const replayed = await run(process.execPath, [
      cli, 'replay', '--projections', 'projections/index.ts', '--input', input, '--create-tables', '--endpoint', localEndpoint(), ...tables,
    ]);
    expect(replayed.stdout).toMatch(new RegExp(`replayed ${kinesis.length} records`));
    expect(replayed.stdout).toMatch(/failed\s+0/);
    const dumped = await run(process.execPath, [cli, 'dump', 'order-status-counts', '--projections', 'projections/index.ts', '--endpoint', localEndpoint(), ...tables]);
    const statuses = new Map<string, number>();
    for (const item of source.finalItems) statuses.set(String(item.status), (statuses.get(String(item.status)) ?? 0) + 1);
    const expected = [...statuses].sort(([a], [b]) => (a < b ? -1 : 1)).map(([status, count]) => `{"key":"${status}","value":{"orders":${count}}}`);
    expect(dumped.stdout.trim().split('\n')).toEqual(expected);
  });
});
