import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ordersWorkload } from '../../demo/orders-workload.js';
import { seededRandom, shuffle } from '../../src/testing/random.js';
import { streamfold as cli } from '../support/cli.js';
import { expectedTotalsLines as expectedLines } from '../support/expectations.js';
import { localClient, localEndpoint, ordersWithRecords, uniqueName } from '../support/local-dynamodb.js';

const streamfold = (args: string[], env: Record<string, string> = {}) => cli(args, { env });

let source: Awaited<ReturnType<typeof ordersWithRecords>>;
let directory: string;

beforeAll(async () => {
  source = await ordersWithRecords(localClient(), ordersWorkload({ seed: 99, operations: 400, customers: 7, maxOrders: 80 }));
  directory = await mkdtemp(join(tmpdir(), 'streamfold-cli-'));
});

const expectedTotalsLines = (): string[] => expectedLines(source.finalItems);

describe('streamfold replay and dump', () => {
  it('replays a records file, then dump prints exactly the totals of the final table', async () => {
    const input = join(directory, 'event.json');
    await writeFile(input, JSON.stringify({ Records: source.records }));
    const tables = ['--read-model-table', uniqueName('rm'), '--checkpoint-table', uniqueName('cp')];
    const connection = ['--endpoint', localEndpoint(), ...tables];
    const replayed = await streamfold(['replay', '--projections', 'projections/index.ts', '--input', input, '--create-tables', ...connection]);
    // With --endpoint, stderr says where requests go (DynamoDB Local keeps one database per key and region).
    expect(replayed.stderr.trim()).toMatch(/^streamfold: DynamoDB at http:\/\/127\.0\.0\.1:\d+, region \S+, access key \S+$/);
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toMatch(new RegExp(`replayed ${source.records.length} records`));
    expect(replayed.stdout).toMatch(new RegExp(`applied\\s+${source.records.length}`));
    expect(replayed.stdout).toMatch(/failed\s+0/);
    // The order view's rows go alone (BatchExecuteStatement), the sums with their checkpoints in transactions.
    expect(replayed.stdout).toMatch(/DynamoDB\s+\d+ requests \(BatchExecuteStatement \d+, BatchGetItem \d+, TransactWriteItems \d+\); \d+ write units as billed/);

    const dumped = await streamfold(['dump', 'customer-totals', '--projections', 'projections/index.ts', ...connection]);
    expect(dumped.code).toBe(0);
    const lines = dumped.stdout.trim().split('\n');
    expect(lines).toEqual(expectedTotalsLines());
  });

  it('gives the same totals from JSON Lines holding duplicates in shuffled order', async () => {
    const input = join(directory, 'records.jsonl');
    const records = shuffle(seededRandom(3), [...source.records, ...source.records.slice(0, 150)]);
    await writeFile(input, records.map((record) => JSON.stringify(record)).join('\n'));
    const connection = ['--endpoint', localEndpoint(), '--read-model-table', uniqueName('rm'), '--checkpoint-table', uniqueName('cp')];
    const replayed = await streamfold([
      'replay', '--projections', 'projections/index.ts', '--input', input, '--create-tables', '--batch-size', '50', ...connection,
    ]);
    expect(replayed.code).toBe(0);
    // Shuffled, an item's newer record may land first; its older ones are then skipped as stale.
    const applied = Number(/applied\s+(\d+)/.exec(replayed.stdout)?.[1]);
    const skipped = Number(/skipped\s+(\d+)/.exec(replayed.stdout)?.[1]);
    expect(applied + skipped).toBe(records.length);
    expect(skipped).toBeGreaterThanOrEqual(150);
    const dumped = await streamfold(['dump', 'customer-totals', '--projections', 'projections/index.ts', ...connection]);
    expect(dumped.stdout.trim().split('\n')).toEqual(expectedTotalsLines());
  });

  it('with parking off, exits 3, naming the record and its line, when records keep failing', async () => {
    const input = join(directory, 'bad.jsonl');
    const bad = structuredClone(source.records[0]) as { dynamodb: { NewImage: Record<string, unknown> } };
    bad.dynamodb.NewImage.amount = { S: 'lots' };
    await writeFile(input, JSON.stringify(bad));
    const replayed = await streamfold([
      'replay', '--projections', 'projections/index.ts', '--input', input, '--create-tables', '--max-retries', '1',
      '--endpoint', localEndpoint(), '--read-model-table', uniqueName('rm'), '--checkpoint-table', uniqueName('cp'),
    ], { STREAMFOLD_PARKING: 'off' });
    expect(replayed.code).toBe(3);
    expect(replayed.stdout).toMatch(/failed\s+1/);
    expect(replayed.stdout).toMatch(/bad\.jsonl line 1: gave up at sequence \d+: image does not match the projection's schema/);
    expect(replayed.stdout).toMatch(/field dynamodb\.NewImage\.amount/);
  });

  it('exits 2 (a usage mistake) with a clear message for an unknown projection', async () => {
    const dumped = await streamfold(['dump', 'nope', '--projections', 'projections/index.ts', '--endpoint', localEndpoint()]);
    expect(dumped.code).toBe(2);
    expect(dumped.stderr).toMatch(/no projection named "nope"; the module has customer-totals, order-status-counts, order-view/);
  });
});
