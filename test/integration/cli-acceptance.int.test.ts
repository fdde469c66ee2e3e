import { PutItemCommand, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type _Record } from '@aws-sdk/client-dynamodb-streams';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReadModelClient } from '../../adapters/dynamodb/reader.js';
import { SourceTable } from '../../adapters/dynamodb/source-table.js';
import { tableNames, type Config } from '../../src/core/config.js';
import strict from '../fixtures/inventory/strict.js';
import { eventually, finished, jsonLines, startStreamfold, streamfold, type CliResult } from '../support/cli.js';
import { applyWrites, canonicalRows, inventoryTable, inventoryWrites, stockTruth, unitsTruth } from '../support/inventory.js';
import { localClient, localEndpoint, localStreams, uniqueName } from '../support/local-dynamodb.js';

/**
 * The CLI driven as the README tells a user to drive it, on DynamoDB Local, with a table and projection
 * module of this test's own (an `Inventory` table; `test/fixtures/inventory/`), each command a process.
 */
const client = localClient();
// As a user types it: without a scheme.
const endpoint = localEndpoint().replace(/^http:\/\//, '');
const STRICT = 'test/fixtures/inventory/strict.ts';
const FIXED = 'test/fixtures/inventory/fixed.ts';
const V2 = 'test/fixtures/inventory/v2.ts';

/** Every exit code a command gave in this file: the last test checks each documented one came up. */
const codes = new Set<number>();
async function cli(args: string[], options: { env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const result = await streamfold(args, options);
  codes.add(result.code);
  return result;
}

/** A read-model, checkpoint and parked-record table of a test's own, named on the command line. */
function freshTables(): { args: string[]; names: Config } {
  const names = { STREAMFOLD_READ_MODEL_TABLE: uniqueName('rm'), STREAMFOLD_CHECKPOINT_TABLE: uniqueName('cp'), STREAMFOLD_PARKED_TABLE: uniqueName('pk') };
  return {
    args: ['--endpoint', endpoint, '--read-model-table', names.STREAMFOLD_READ_MODEL_TABLE, '--checkpoint-table', names.STREAMFOLD_CHECKPOINT_TABLE, '--parked-table', names.STREAMFOLD_PARKED_TABLE],
    names: names as Config,
  };
}

const rowsOf = (result: CliResult) => canonicalRows(jsonLines(result.stdout));
const figure = (output: string, name: string): number => Number(new RegExp(`${name}\\s+(\\d+)`).exec(output)?.[1]);

let directory: string;
let inventory: { table: SourceTable; streamArn: string };
let main: ReturnType<typeof freshTables>;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'streamfold-acceptance-'));
  inventory = await inventoryTable(client);
  await applyWrites(inventory.table, inventoryWrites(20261201, 180));
  main = freshTables();
});

afterAll(() => {
  // Every documented exit code came up at least once.
  expect([...codes].sort()).toEqual([0, 1, 2, 3]);
});

describe('streamfold on a table of its own, as the README tells it', () => {
  it('capture → replay → dump gives the fold of a scan of the table, and verify finds no drift', async () => {
    const file = join(directory, 'inventory.jsonl');
    const captured = await cli(['capture', '--table', inventory.table.spec.name, '--endpoint', endpoint, '--out', file]);
    expect(captured.code).toBe(0);
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(captured.stderr).toContain(`captured ${lines.length} records from 1 shards of ${inventory.table.spec.name}'s stream into ${file}`);
    const records = lines.map((line) => JSON.parse(line) as { eventName: string; eventSourceARN: string; dynamodb: Record<string, unknown> });
    expect(new Set(records.map((record) => record.eventName))).toEqual(new Set(['INSERT', 'MODIFY', 'REMOVE']));
    // Exactly as Lambda delivers a record: the stream's ARN, epoch seconds, binaries in base64.
    expect(records.every((record) => record.eventSourceARN === inventory.streamArn)).toBe(true);
    expect(records.every((record) => Number.isInteger(record.dynamodb.ApproximateCreationDateTime))).toBe(true);
    expect(lines.some((line) => /"photo":\{"B":"[A-Za-z0-9+/]+=*"\}/.test(line))).toBe(true);

    const replayed = await cli(['replay', '--projections', STRICT, '--input', file, '--create-tables', ...main.args]);
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toContain(`replayed ${lines.length} records from ${file}`);
    expect(figure(replayed.stdout, 'applied')).toBe(lines.length);

    const items = await inventory.table.scan();
    const [units, stock, unitsVerified, stockVerified] = await Promise.all([
      cli(['dump', 'units-per-category', '--projections', STRICT, ...main.args]),
      cli(['dump', 'stock-level', '--projections', STRICT, ...main.args]),
      cli(['verify', 'units-per-category', '--projections', STRICT, '--table', inventory.table.spec.name, ...main.args]),
      cli(['verify', 'stock-level', '--projections', STRICT, '--table', inventory.table.spec.name, '--json', ...main.args]),
    ]);
    expect(rowsOf(units)).toEqual(canonicalRows(unitsTruth(items)));
    expect(rowsOf(stock)).toEqual(canonicalRows(stockTruth(items)));
    expect(unitsVerified.code).toBe(0);
    expect(unitsVerified.stdout).toMatch(new RegExp(`verify units-per-category#v1: ${items.length} items scanned, \\d+ rows expected, \\d+ stored, no drift`));
    expect(stockVerified.code).toBe(0);
    expect(JSON.parse(stockVerified.stdout)).toEqual({
      generation: 'stock-level#v1',
      itemsScanned: items.length,
      expectedRows: items.length,
      storedRows: items.length,
      differences: 0,
      notFolded: [],
      drift: [],
    });
  });

  it('replays records as the SDK writes them with JSON.stringify, and get-records output from stdin, attributed to --source-table', async () => {
    const sdk = await sdkRecords(inventory.streamArn);
    const sdkFile = join(directory, 'sdk.json');
    await writeFile(sdkFile, JSON.stringify(sdk));
    expect(await readFile(sdkFile, 'utf8')).toMatch(/"B":\{"0":\d+,"1":0,"2":255,"3":\d+\}/);
    const items = await inventory.table.scan();

    const fromSdk = freshTables();
    const sdkReplay = await cli(['replay', '--projections', STRICT, '--input', sdkFile, '--source-table', inventory.table.spec.name, '--create-tables', '--json', ...fromSdk.args]);
    expect(sdkReplay.code).toBe(0);
    expect(JSON.parse(sdkReplay.stdout)).toMatchObject({ records: sdk.length, applied: sdk.length, parked: 0, failed: 0, attributedToSourceTable: sdk.length });
    expect(rowsOf(await cli(['dump', 'stock-level', '--projections', STRICT, ...fromSdk.args]))).toEqual(canonicalRows(stockTruth(items)));

    // `aws dynamodbstreams get-records` prints no eventSourceARN, an ISO date (CLI v2) and base64 binaries.
    const printed = JSON.stringify({ Records: sdk.map(asAwsCliPrints), NextShardIterator: 'arn:aws:dynamodb:ddblocal:000000000000:table/x/stream/y|1|z' }, null, 4);
    const fromCli = freshTables();
    const cliReplay = await cli(['replay', '--projections', STRICT, '--input', '-', '--create-tables', ...fromCli.args], {
      input: printed,
      env: { STREAMFOLD_SOURCE_TABLE: inventory.table.spec.name },
    });
    expect(cliReplay.code).toBe(0);
    expect(cliReplay.stdout).toContain(`replayed ${sdk.length} records from stdin`);
    expect(cliReplay.stdout).toContain(`${sdk.length} records without an eventSourceARN attributed to the source table by their keys`);
    expect(rowsOf(await cli(['dump', 'units-per-category', '--projections', STRICT, ...fromCli.args]))).toEqual(canonicalRows(unitsTruth(items)));

    // The same records said to be another table's (whose keys are not these) are refused, not folded into it.
    const other = await inventoryTable(client, 'Other');
    const wrong = freshTables();
    const refused = await cli(['replay', '--projections', STRICT, '--input', '-', '--source-table', await renamedKeysTable(other.table), '--create-tables', ...wrong.args], { input: printed });
    expect(refused.code).toBe(3);
    expect(figure(refused.stdout, 'applied')).toBe(0);
    expect(refused.stdout).toMatch(/stdin line \d+ \(Records\[0\]\): parked: the record names no table \(it has no eventSourceARN\); this consumer reads /);
  });

  it('parks poison records, fixes one with parked redrive, removes another with parked purge, and shows one the checkpoint covers', async () => {
    const { table: stock } = await inventoryTable(client, 'Stock');
    await stock.put({ sku: 'A', warehouse: 'W1', category: 'tools', quantity: 5 });
    await stock.put({ sku: 'B', warehouse: 'W1', category: 'tools', quantity: -3 }); // a backorder: the strict module refuses it
    await stock.update({ sku: 'B', warehouse: 'W1' }, { quantity: -1 });
    await stock.put({ sku: 'C', warehouse: 'W2', quantity: 9, photo: new Uint8Array([1, 2, 3]) }); // no category: refused by both modules
    await stock.put({ sku: 'D', warehouse: 'W2', category: 'paint', quantity: 12 });
    const tables = freshTables();
    const first = join(directory, 'stock-1.jsonl');
    expect((await cli(['capture', '--table', stock.spec.name, '--endpoint', endpoint, '--out', first])).code).toBe(0);

    const replayed = await cli(['replay', '--projections', STRICT, '--input', first, '--create-tables', ...tables.args]);
    expect(replayed.code).toBe(3);
    expect(figure(replayed.stdout, 'parked')).toBe(3);
    // Each parked record is named by its line in the input, and the field at fault.
    expect(replayed.stdout).toMatch(/stock-1\.jsonl line 2: parked: image does not match the projection's schema: a quantity on hand cannot be negative .*field dynamodb\.NewImage\.quantity/);
    expect(replayed.stdout).toMatch(/stock-1\.jsonl line 3: parked: waits behind the record parked at sequence \d+/);
    expect(replayed.stdout).toMatch(/stock-1\.jsonl line 4: parked: image does not match .*field dynamodb\.NewImage\.category/);

    const failed = await cli(['parked', 'list', '--projections', STRICT, '--reason', 'failed', ...tables.args]);
    expect(failed.code).toBe(3);
    expect(jsonLines(failed.stdout)).toHaveLength(4);
    expect(jsonLines(failed.stdout).every((line) => (line as { covered: unknown }).covered === false)).toBe(true);
    const parkedItems = await scanAll(tables.names.STREAMFOLD_PARKED_TABLE);

    // The fix (negative quantities are backorders) deployed, the parked records are applied again.
    const redriven = await cli(['parked', 'redrive', '--projections', FIXED, '--json', ...tables.args]);
    expect(redriven.code).toBe(3);
    const redrive = JSON.parse(redriven.stdout) as { applied: { key: string }[]; stillParked: { key: string }[] };
    expect(redrive.applied.map((record) => record.key)).toEqual(Array(4).fill('{"sku":{"S":"B"},"warehouse":{"S":"W1"}}'));
    expect(redrive.stillParked.map((record) => record.key)).toEqual(Array(2).fill('{"sku":{"S":"C"},"warehouse":{"S":"W2"}}'));

    // C is not worth keeping: purged (after a refusal without --yes), and its item no longer waits.
    const asked = await cli(['parked', 'purge', '--projections', FIXED, '--key', '{"sku":"C","warehouse":"W2"}', ...tables.args]);
    expect(asked.code).toBe(2);
    expect(asked.stderr).toContain('purge removes 2 parked records for good: run it again with --yes');
    const purged = await cli(['parked', 'purge', '--projections', FIXED, '--key', '{"sku":"C","warehouse":"W2"}', '--yes', '--json', ...tables.args]);
    expect(purged.code).toBe(0);
    expect(JSON.parse(purged.stdout)).toMatchObject({ purged: 2, unblocked: 2 });
    const none = await cli(['parked', 'list', '--projections', FIXED, ...tables.args]);
    expect(none.code).toBe(0);
    expect(none.stderr).toContain('no parked records');

    await stock.update({ sku: 'C', warehouse: 'W2' }, { category: 'paint', quantity: 10 });
    const second = join(directory, 'stock-2.jsonl');
    expect((await cli(['capture', '--table', stock.spec.name, '--endpoint', endpoint, '--out', second])).code).toBe(0);
    const again = await cli(['replay', '--projections', FIXED, '--input', second, ...tables.args]);
    expect(again.code).toBe(0);
    expect(figure(again.stdout, 'applied')).toBe(1);
    expect(figure(again.stdout, 'parked')).toBe(0);
    const items = await stock.scan();
    const expected = canonicalRows(unitsTruth(items));
    expect(rowsOf(await cli(['dump', 'units-per-category', '--projections', FIXED, ...tables.args]))).toEqual(expected);
    expect((await cli(['verify', 'stock-level', '--projections', FIXED, '--table', stock.spec.name, ...tables.args])).code).toBe(0);

    // A redrive that died after its write and before removing what it applied: the record is back, covered.
    const applied = parkedItems.find((item) => item.key?.S === '{"sku":{"S":"B"},"warehouse":{"S":"W1"}}' && item.reason?.S === 'failed');
    await client.send(new PutItemCommand({ TableName: tables.names.STREAMFOLD_PARKED_TABLE, Item: applied! }));
    const covered = await cli(['parked', 'list', '--projections', FIXED, ...tables.args]);
    expect(covered.code).toBe(3);
    expect(jsonLines(covered.stdout)).toEqual([expect.objectContaining({ key: '{"sku":{"S":"B"},"warehouse":{"S":"W1"}}', covered: true })]);
    const cleared = await cli(['parked', 'redrive', '--projections', FIXED, '--json', ...tables.args]);
    expect(cleared.code).toBe(0);
    expect(JSON.parse(cleared.stdout)).toMatchObject({ applied: [], obsolete: [expect.objectContaining({ reason: 'failed' })], stillParked: [] });
    expect(rowsOf(await cli(['dump', 'units-per-category', '--projections', FIXED, ...tables.args]))).toEqual(expected);
  });

  it('redrives a hand-made file\'s records from the fixed file, in place of the parked copies', async () => {
    const tables = freshTables();
    const quantity = (value: AttributeValue) => [
      bulkRecord(1, { eventName: 'INSERT', quantity: value }),
      bulkRecord(1, { eventName: 'MODIFY', quantity: { N: '8' }, sequence: 2, old: value }),
    ];
    const broken = join(directory, 'broken.jsonl');
    const fixed = join(directory, 'fixed.jsonl');
    await writeFile(broken, quantity({ S: '7' }).map((record) => JSON.stringify(record)).join('\n'));
    await writeFile(fixed, quantity({ N: '7' }).map((record) => JSON.stringify(record)).join('\n'));
    const replayed = await cli(['replay', '--projections', STRICT, '--input', broken, '--create-tables', ...tables.args]);
    expect(replayed.code).toBe(3);
    expect(replayed.stdout).toMatch(/broken\.jsonl line 1: parked: image does not match .*field dynamodb\.NewImage\.quantity/);
    // The parked copies are the broken ones: a redrive alone cannot help; one from the fixed file does.
    expect((await cli(['parked', 'redrive', '--projections', STRICT, ...tables.args])).code).toBe(3);
    const redriven = await cli(['parked', 'redrive', '--projections', STRICT, '--input', fixed, '--json', ...tables.args]);
    expect(redriven.code).toBe(0);
    expect(redriven.stderr).toContain(`4 parked records replaced by those of ${fixed}`);
    expect(JSON.parse(redriven.stdout)).toMatchObject({ stillParked: [] });
    expect(jsonLines((await cli(['dump', 'stock-level', '--projections', STRICT, ...tables.args])).stdout)).toEqual([
      { key: { sku: 'bulk-1', warehouse: 'W9' }, value: { category: 'bulk', quantity: 8 } },
    ]);
  });

  it('rebuilds version 2 of a projection into tables it creates, then readers use it', async () => {
    const items = await inventory.table.scan();
    const elsewhere = freshTables();
    const missing = await cli(['rebuild', 'units-per-category', '--projections', V2, '--table', inventory.table.spec.name, ...elsewhere.args]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/do not exist \(DynamoDB at http:\/\/127\.0\.0\.1:\d+, region \S+, access key \S+\): run the command with --create-tables/);

    const before = await cli(['dump', 'units-per-category', '--projections', V2, ...main.args]);
    expect(rowsOf(before)).toEqual(canonicalRows(unitsTruth(items, 1)));
    const rebuilt = await cli(['rebuild', 'units-per-category', '--projections', V2, '--table', inventory.table.spec.name, '--create-tables', '--segments', '3', '--json', ...main.args]);
    expect(rebuilt.code).toBe(0);
    expect(JSON.parse(rebuilt.stdout)).toMatchObject({ generation: 'units-per-category#v2', readThisRun: items.length, parked: 0, current: 'units-per-category#v2' });
    // The final progress line is printed once.
    expect(rebuilt.stderr.match(/; done/g)).toHaveLength(1);
    const after = await cli(['dump', 'units-per-category', '--projections', V2, ...main.args]);
    expect(rowsOf(after)).toEqual(canonicalRows(unitsTruth(items, 2)));
    expect((await cli(['verify', 'units-per-category', '--projections', V2, '--table', inventory.table.spec.name, ...main.args])).code).toBe(0);
  });

  it('runs the handler on the live stream until Ctrl-C, then says what it applied', async () => {
    const tables = freshTables();
    const running = startStreamfold(['run', '--table', inventory.table.spec.name, '--projections', STRICT, '--create-tables', ...tables.args]);
    const exited = finished(running);
    let stderr = '';
    running.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await eventually('run to follow the stream', async () => (stderr.includes('Ctrl-C stops') ? true : undefined));
    await applyWrites(inventory.table, inventoryWrites(777, 40));
    const items = await inventory.table.scan();
    const reader = createReadModelClient(client, tableNames({ ...tables.names } as Config));
    const [units] = strict;
    await eventually('the read model to catch up with the table', async () => {
      const rows: unknown[] = [];
      for await (const row of reader.rows(units!)) rows.push(JSON.parse(JSON.stringify(row)));
      return JSON.stringify(canonicalRows(rows)) === JSON.stringify(canonicalRows(unitsTruth(items))) ? true : undefined;
    });
    running.kill('SIGINT');
    const result = await exited;
    codes.add(result.code);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`ran on ${inventory.table.spec.name}'s stream for [\\d.]+ s: \\d+ records in \\d+ batches`));
    expect(figure(result.stdout, 'applied')).toBeGreaterThan(0);
    expect(figure(result.stdout, 'parked')).toBe(0);
    // Two CLI processes, a JVM and a stream to follow: on a loaded two-core machine this takes minutes.
  }, 300_000);

  it('dump | head -1 exits cleanly, an unreachable endpoint fails in one line, and gaps answers as JSON', async () => {
    const tables = freshTables();
    const bulk = join(directory, 'bulk.jsonl');
    await writeFile(bulk, Array.from({ length: 2_000 }, (_, index) => JSON.stringify(bulkRecord(index))).join('\n'));
    expect((await cli(['replay', '--projections', STRICT, '--input', bulk, '--create-tables', '--batch-size', '500', ...tables.args])).code).toBe(0);
    const dumpArgs = ['dump', 'stock-level', '--projections', STRICT, ...tables.args].map((arg) => `'${arg}'`).join(' ');
    const piped = await shell(`node bin/streamfold.js ${dumpArgs} | head -1; exit "\${PIPESTATUS[0]}"`);
    expect(piped.stderr).not.toMatch(/EPIPE|Error/);
    expect(piped.code).toBe(0);
    expect(jsonLines(piped.stdout)).toHaveLength(1);

    const unreachable = await cli(['dump', 'stock-level', '--projections', STRICT, '--endpoint', 'localhost:1']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr.trim().split('\n').at(-1)).toMatch(/^streamfold: cannot reach http:\/\/localhost:1 \(connect ECONNREFUSED/);

    const gaps = await cli(['gaps', '--projections', STRICT, '--json', ...main.args]);
    expect(gaps.code).toBe(0);
    expect(JSON.parse(gaps.stdout)).toEqual({ gaps: 0, open: [] });
  });
});

/** Every record of a stream as the SDK returns it (dates as `Date`, binaries as bytes). */
async function sdkRecords(streamArn: string): Promise<_Record[]> {
  const streams = localStreams();
  const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
  const records: _Record[] = [];
  for (const shard of StreamDescription?.Shards ?? []) {
    let iterator = (await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
    for (let empty = 0; iterator !== undefined && empty < 3; ) {
      const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
      records.push(...(page.Records ?? []));
      empty = (page.Records ?? []).length === 0 ? empty + 1 : 0;
      iterator = page.NextShardIterator;
    }
  }
  return records;
}

/** A record as `aws dynamodbstreams get-records` prints it (CLI v2): ISO dates with an offset, base64 binaries. */
function asAwsCliPrints(record: _Record): unknown {
  const body = record.dynamodb!;
  const printed = (map: Record<string, AttributeValue> | undefined) =>
    map === undefined ? undefined : JSON.parse(JSON.stringify(map, (_name, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value)));
  return {
    ...record,
    dynamodb: {
      ...body,
      ApproximateCreationDateTime: body.ApproximateCreationDateTime?.toISOString().replace('.000Z', '+00:00'),
      Keys: printed(body.Keys as Record<string, AttributeValue>),
      NewImage: printed(body.NewImage as Record<string, AttributeValue>),
      OldImage: printed(body.OldImage as Record<string, AttributeValue>),
    },
  };
}

/** A table whose key is not the Inventory's (`orderId`), to say the records came from it. */
async function renamedKeysTable(table: SourceTable): Promise<string> {
  const other = new SourceTable(client, { name: `${table.spec.name}-orders`, partitionKey: 'orderId', streamViewType: 'NEW_IMAGE' });
  await other.create();
  return other.spec.name;
}

async function scanAll(table: string): Promise<Record<string, AttributeValue>[]> {
  const { Items } = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
  return Items ?? [];
}

/** A hand-made record of a `Bulk` table: an insert by default, or a change with its old quantity. */
function bulkRecord(
  index: number,
  change: { eventName?: 'INSERT' | 'MODIFY'; quantity?: AttributeValue; old?: AttributeValue; sequence?: number } = {},
): Record<string, unknown> {
  const keys = { sku: { S: `bulk-${index}` }, warehouse: { S: 'W9' } };
  const image = (quantity: AttributeValue) => ({ ...keys, category: { S: 'bulk' }, quantity });
  const sequence = change.sequence ?? 0;
  return {
    eventID: `bulk-${index}-${sequence}`,
    eventName: change.eventName ?? 'INSERT',
    eventSource: 'aws:dynamodb',
    eventSourceARN: 'arn:aws:dynamodb:ddblocal:000000000000:table/Bulk/stream/2026-12-01T00:00:00.000',
    dynamodb: {
      ApproximateCreationDateTime: 1_796_000_000,
      Keys: keys,
      NewImage: image(change.quantity ?? { N: String(index) }),
      ...(change.old === undefined ? {} : { OldImage: image(change.old) }),
      SequenceNumber: String(1_000 + index * 10 + sequence).padStart(21, '0'),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

function shell(command: string): Promise<CliResult> {
  return finished(spawn('bash', ['-c', command], { cwd: join(import.meta.dirname, '../..') }));
}
