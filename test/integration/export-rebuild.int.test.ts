import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryExportObjects } from '../../adapters/export/directory.js';
import { DynamoDbGenerationRegistry, DynamoDbRebuildStateStore } from '../../adapters/dynamodb/rebuild-state.js';
import { DynamoDbSourceScanner } from '../../adapters/dynamodb/scanner.js';
import { SourceTable } from '../../adapters/dynamodb/source-table.js';
import { applyWorkload, ordersWorkload } from '../../demo/orders-workload.js';
import { memoryOutput } from '../../src/cli/output.js';
import { run } from '../../src/cli/main.js';
import { compose } from '../../src/container.js';
import { tableConfig } from '../../src/core/config.js';
import { silentLogger } from '../../src/core/logging.js';
import { ExportSource } from '../../src/rebuild/export-source.js';
import { Rebuilder } from '../../src/rebuild/rebuilder.js';
import examples from '../../projections/index.js';
import { CLI, runCli } from '../support/cli.js';
import { differencesFromTruth, expectedTotalsLines } from '../support/expectations.js';
import { writeExport, type WrittenExport } from '../support/exports.js';
import { freshTables, localClient, localEndpoint, localHandler, uniqueName } from '../support/local-dynamodb.js';

let client: DynamoDBClient;
let directory: string;
let orders: SourceTable;
let finalItems: Record<string, unknown>[];
let exported: WrittenExport;

const connectionOf = (tables: { readModels: string; checkpoints: string; parked: string }) => [
  '--endpoint',
  localEndpoint(),
  '--read-model-table',
  tables.readModels,
  '--checkpoint-table',
  tables.checkpoints,
  '--parked-table',
  tables.parked,
];

beforeAll(async () => {
  client = localClient();
  directory = mkdtempSync(join(tmpdir(), 'streamfold-export-'));
  orders = new SourceTable(client, { name: uniqueName('Orders'), partitionKey: 'orderId', streamViewType: 'NEW_AND_OLD_IMAGES' });
  await orders.create();
  await applyWorkload(orders, ordersWorkload({ seed: 1414, operations: 900, customers: 9, maxOrders: 400 }));
  finalItems = await orders.scan();
  // Four files of items and two empty ones, as an export of a table with empty partitions has.
  exported = await writeExport(client, { name: orders.spec.name, keys: ['orderId'] }, directory, { files: 4, emptyFiles: 2 });
});

afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe('rebuild from a DynamoDB export', () => {
  it('folds an export written from a real scan into read models equal to a fold of the table, through the CLI and the library', async () => {
    expect(exported.itemCount).toBe(finalItems.length);
    expect(exported.files.filter((file) => file.items === 0)).toHaveLength(2);
    const tables = await freshTables(client);
    const connection = connectionOf(tables);

    const rebuilt = await runCli(['rebuild', 'customer-totals', '--projections', 'projections/index.ts', '--from-export', exported.root, '--segments', '3', '--json', ...connection]);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const summary = JSON.parse(rebuilt.stdout) as { readThisRun: number; table: string; source: string; files: { file: string; items: number; read: number }[] };
    expect(summary).toMatchObject({ readThisRun: finalItems.length, table: orders.spec.name, source: `export ${exported.root}` });
    expect(summary.files.map((file) => [file.items, file.read])).toEqual(exported.files.map((file) => [file.items, file.items]));
    // Progress per file, the last line once.
    expect(rebuilt.stderr).toMatch(/files 6\/6 done; done/);

    // The other example projections, through the library: the same source, the same lane.
    for (const projection of examples.filter((candidate) => candidate.name !== 'customer-totals')) {
      const source = await ExportSource.open(new DirectoryExportObjects(exported.root), (table) => new DynamoDbSourceScanner(client, table).keyAttributes());
      const runtime = compose([projection], { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) }).runtime;
      const states = new DynamoDbRebuildStateStore(client, tables.checkpoints, 'default');
      const result = await new Rebuilder(projection, runtime, source, states, new DynamoDbGenerationRegistry(client, tables.readModels), silentLogger).run({ segments: 2, pageSize: 17 });
      expect(result.readThisRun).toBe(finalItems.length);
    }
    const store = compose(examples, { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) }).dynamoDbStore;
    expect(await differencesFromTruth(store, finalItems)).toEqual([]);
    const dumped = await runCli(['dump', 'customer-totals', '--projections', 'projections/index.ts', ...connection]);
    expect(dumped.stdout.trim().split('\n')).toEqual(expectedTotalsLines(finalItems));
    const verified = await runCli(['verify', 'customer-totals', '--projections', 'projections/index.ts', '--table', orders.spec.name, ...connection]);
    expect(verified.code, verified.stdout).toBe(0);
  });

  it('resumes a rebuild killed in the middle of a data file from the item it stopped at', async () => {
    const tables = await freshTables(client);
    const connection = connectionOf(tables);
    const args = ['rebuild', 'customer-totals', '--projections', 'projections/index.ts', '--from-export', exported.root, '--segments', '1', '--rate', '10', '--page-size', '5', ...connection];
    const first = spawn(process.execPath, [CLI, ...args]);
    let progress = '';
    await new Promise<void>((resolve, reject) => {
      first.stderr.on('data', (chunk: Buffer) => {
        progress += chunk.toString();
        if ([...progress.matchAll(/rebuild customer-totals#v1: (\d+)/g)].some((match) => Number(match[1]) >= 10)) {
          first.kill('SIGKILL');
          resolve();
        }
      });
      first.on('exit', () => reject(new Error(`the rebuild ended before it could be killed:\n${progress}`)));
    });
    const saved = await new DynamoDbRebuildStateStore(client, tables.checkpoints, 'default').load(`customer-totals#v1|export:${exported.exportId}`);
    expect(saved?.finishedAt).toBeUndefined();
    // One file at a time: the first was being read, and stopped part way, at a saved item number.
    const stopped = saved!.segments[0]!;
    expect(stopped.read).toBeGreaterThanOrEqual(10);
    expect(stopped.read).toBeLessThan(stopped.items!);
    expect(stopped.lastKey).toBe(String(stopped.read));
    const readBeforeKill = saved!.segments.reduce((total, segment) => total + segment.read, 0);

    const second = await runCli(['rebuild', 'customer-totals', '--projections', 'projections/index.ts', '--from-export', exported.root, '--segments', '4', ...connection]);
    expect(second.code, second.stderr).toBe(0);
    const [, thisRun, inAll] = /(\d+) items read by this run \((\d+) in all, resumed\)/.exec(second.stdout) ?? [];
    expect(Number(inAll)).toBe(finalItems.length);
    expect(Number(thisRun)).toBe(finalItems.length - readBeforeKill);
    const dumped = await runCli(['dump', 'customer-totals', '--projections', 'projections/index.ts', ...connection]);
    expect(dumped.stdout.trim().split('\n')).toEqual(expectedTotalsLines(finalItems));
  });

  it('reads the same export from S3 through the SDK, each data file only in the version its manifest names, and gets the same rows', async () => {
    const s3 = mockClient(S3Client);
    const asked: { key: string; ifMatch: string | undefined }[] = [];
    s3.on(GetObjectCommand).callsFake((input: { Bucket: string; Key: string; IfMatch?: string }) => {
      asked.push({ key: input.Key, ifMatch: input.IfMatch });
      const body = exported.objects.get(input.Key);
      if (input.Bucket !== 'exports-bucket' || body === undefined) {
        throw new S3ServiceException({ name: 'NoSuchKey', $fault: 'client', $metadata: { httpStatusCode: 404 }, message: 'The specified key does not exist.' });
      }
      // S3 tags an object uploaded in one part as the manifest's etag says (the manifests have tags of their own).
      const etag = `"${exported.files.find((file) => file.key === input.Key)?.etag ?? 'manifest'}"`;
      if (input.IfMatch !== undefined && input.IfMatch !== etag) {
        throw new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: 'At least one of the pre-conditions you specified did not hold' });
      }
      return { Body: Readable.from([body]) as never, ETag: etag, ContentLength: body.length };
    });
    try {
      const tables = await freshTables(client);
      const connection = connectionOf(tables);
      const location = `s3://exports-bucket/${exported.prefix}/AWSDynamoDB/${exported.exportId}`;
      const output = memoryOutput();
      const code = await run(['node', 'streamfold', 'rebuild', 'customer-totals', '--projections', 'projections/index.ts', '--from-export', location, ...connection], output);
      expect(code, output.notices.join('\n')).toBe(0);
      const dumpOutput = memoryOutput();
      expect(await run(['node', 'streamfold', 'dump', 'customer-totals', '--projections', 'projections/index.ts', ...connection], dumpOutput)).toBe(0);
      expect(dumpOutput.lines).toEqual(expectedTotalsLines(finalItems));
      const dataReads = asked.filter((request) => request.key.includes('/data/'));
      // Each file twice (checked, then folded), always with If-Match.
      expect(dataReads).toHaveLength(exported.files.length * 2);
      expect(dataReads.every((request) => request.ifMatch !== undefined && /^"[0-9a-f]{32}-1"$/.test(request.ifMatch))).toBe(true);

      // A data file replaced since the export is refused by S3's If-Match, with the file named.
      const replaced = exported.files.find((file) => file.items > 0)!.key;
      const original = exported.objects.get(replaced)!;
      (exported.objects as Map<string, Buffer>).set(replaced, Buffer.from(original));
      s3.on(GetObjectCommand, { Key: replaced }).rejects(
        new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: 'precondition' }),
      );
      const refused = memoryOutput();
      const again = await run(['node', 'streamfold', 'rebuild', 'customer-totals', '--projections', 'projections/index.ts', '--from-export', location, '--restart', ...connection], refused);
      expect(again).toBe(1);
      expect(refused.notices.join('\n')).toContain(`s3://exports-bucket/${replaced} is no longer the object the export wrote`);
    } finally {
      s3.restore();
    }
  });

  it("checks the export's time against the start of the generation's live consumer: warns when none has run, refuses an export taken before it", async () => {
    const tables = await freshTables(client);
    const connection = connectionOf(tables);
    const args = ['rebuild', 'customer-totals', '--projections', 'projections/index.ts', '--from-export', exported.root, ...connection];
    const warned = await runCli(args);
    expect(warned.code).toBe(0);
    expect(warned.stderr).toContain('no live consumer of customer-totals#v1 has recorded its start: it must be running before the export\'s time');

    // The live consumer records, once, when it first ran: here an hour after the export.
    const registry = new DynamoDbGenerationRegistry(client, tables.readModels);
    const handler = localHandler(client, tables, [examples[0]!]);
    const before = Date.now();
    await handler.invoke({ Records: [] });
    const since = await registry.liveSince('customer-totals', 1);
    expect(since).toBeGreaterThanOrEqual(before);
    await localHandler(client, tables, [examples[0]!]).invoke({ Records: [] });
    expect(await registry.liveSince('customer-totals', 1)).toBe(since);
    const later = await freshTables(client);
    const laterRegistry = new DynamoDbGenerationRegistry(client, later.readModels);
    await laterRegistry.markLive('customer-totals', 1, Date.parse(exported.exportTime) + 3_600_000);
    const refused = await runCli(['rebuild', 'customer-totals', '--projections', 'projections/index.ts', '--from-export', exported.root, '--create-tables', ...connectionOf(later)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/the export was taken at \S+, before the live consumer of customer-totals#v1 started \(\S+\): a change made between the two would be in neither/);
    expect(await laterRegistry.current('customer-totals')).toBeUndefined();
    const allowed = await runCli(['rebuild', 'customer-totals', '--projections', 'projections/index.ts', '--from-export', exported.root, '--allow-early-export', ...connectionOf(later)]);
    expect(allowed.code, allowed.stderr).toBe(0);
  });
});
