import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TableNames } from '../../adapters/dynamodb/layout.js';
import { createReadModelClient } from '../../adapters/dynamodb/reader.js';
import { DynamoDbGenerationRegistry, DynamoDbRebuildStateStore } from '../../adapters/dynamodb/rebuild-state.js';
import { DynamoDbSourceScanner } from '../../adapters/dynamodb/scanner.js';
import { tableConfig } from '../../src/core/config.js';
import { compose } from '../../src/container.js';
import { silentLogger } from '../../src/core/logging.js';
import { defineProjection, generationOf, type Projection } from '../../src/projection/define.js';
import { toExactJson } from '../../src/records/json.js';
import { Rebuilder } from '../../src/rebuild/rebuilder.js';
import { formatRebuild } from '../../src/cli/rebuild.js';
import { verifyProjection } from '../../src/rebuild/verify.js';
import { customerTotals } from '../../projections/customer-totals.js';
import { orderHistory } from '../../projections/event-sourced/index.js';
import { createKeyedTable } from '../support/keyed-table.js';
import { freshTables, localClient, localEndpoint } from '../support/local-dynamodb.js';
import { runCli } from '../support/cli.js';
import { writeExport } from '../support/exports.js';
import { bulkOrders } from '../support/bulk-orders.js';
import { createRebuildWorker } from '../../src/lambda/rebuild-worker.js';
import type { PrepareResult, WorkResult } from '../../src/rebuild/worker.js';
import type { RebuildStateStore } from '../../src/rebuild/ports.js';

let client: DynamoDBClient;

beforeAll(() => {
  client = localClient();
});

function rebuilderOf(tables: TableNames, projection: Projection, table: string): Rebuilder {
  const { runtime } = compose([projection], { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) });
  return new Rebuilder(projection, runtime, new DynamoDbSourceScanner(client, table), new DynamoDbRebuildStateStore(client, tables.checkpoints, 'default'), new DynamoDbGenerationRegistry(client, tables.readModels), silentLogger);
}

describe('verify after a rebuild agrees with dump on every row form', () => {
  const Note = z.object({ id: z.string(), n: z.unknown(), note: z.string().optional(), tags: z.set(z.string()).optional() });
  /** A view whose rows have a field left undefined, a set built in an order of its own, and numbers JSON spells in exponent form. */
  const notes = defineProjection({
    name: 'note-view',
    version: 1,
    kind: 'view',
    schema: Note,
    dependsOn: 'image',
    evolve: (_state: Record<string, unknown> | undefined, event) => {
      const image = event.newImage;
      if (image === undefined) return undefined;
      return {
        note: image.note,
        tags: image.tags === undefined ? undefined : new Set([...image.tags].sort().reverse()),
        huge: 1e21,
        tiny: 1.5e-7,
      };
    },
  }) as Projection;

  it('finds no drift in rows with an undefined field, a set, or numbers in exponent form', async () => {
    const table = await createKeyedTable(client, 'Notes', ['id', 'S'], ['sk', 'S']);
    for (let index = 0; index < 6; index += 1) {
      await client.send(
        new PutItemCommand({
          TableName: table,
          Item: {
            id: { S: `n-${index}` },
            sk: { S: 'x' },
            n: { N: String(index) },
            ...(index % 2 === 0 ? { note: { S: `note ${index}` } } : {}),
            ...(index % 3 !== 0 ? { tags: { SS: ['alpha', 'mid', 'zulu', `t${index}`] } } : {}),
          },
        }),
      );
    }
    const tables = await freshTables(client);
    await rebuilderOf(tables, notes, table).run({ segments: 2 });
    const { dynamoDbStore } = compose([notes], { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) });
    const result = await verifyProjection({ projection: notes, scanner: new DynamoDbSourceScanner(client, table), reader: dynamoDbStore, generation: generationOf(notes) });
    expect(result.drift).toEqual([]);
    expect(result.storedRows).toBe(6);
    // What dump prints of each row is what verify expected of it.
    const dumped: string[] = [];
    for await (const row of createReadModelClient(client, tables).rows(notes)) dumped.push(toExactJson(row.value));
    expect(dumped).toHaveLength(6);
  });
});

describe('promotion', () => {
  it('never hands readers back to an older generation than the one they use', async () => {
    const table = await createKeyedTable(client, 'Orders', ['orderId', 'S'], ['sk', 'S']);
    await client.send(new PutItemCommand({ TableName: table, Item: { orderId: { S: 'o-1' }, sk: { S: 'x' }, customerId: { S: 'c-1' }, status: { S: 'PAID' }, amount: { N: '5' } } }));
    const tables = await freshTables(client);
    const registry = new DynamoDbGenerationRegistry(client, tables.readModels);
    // Version 3 was rebuilt and promoted while a rebuild of version 2 was still running.
    const v3 = defineProjection({ ...customerTotals, version: 3 } as never) as Projection;
    const v2 = defineProjection({ ...customerTotals, version: 2 } as never) as Projection;
    await rebuilderOf(tables, v3, table).run({ segments: 1 });
    expect(await registry.current('customer-totals')).toBe(3);
    await expect(rebuilderOf(tables, v2, table).run({ segments: 1 })).rejects.toThrow(/customer-totals#v3 is current/);
    expect(await registry.current('customer-totals')).toBe(3);
    // Rebuilding the current version again is allowed.
    await rebuilderOf(tables, v3, table).run({ segments: 1, restart: true });
    expect(await registry.current('customer-totals')).toBe(3);
  });
});

describe('a rebuild from an export, told the wrong key', () => {
  it('stops at the first item, naming its file, its number and the key attribute it lacks; nothing is parked or promoted', async () => {
    const table = await createKeyedTable(client, 'Orders', ['orderId', 'S'], ['sk', 'S']);
    for (let index = 0; index < 5; index += 1) {
      await client.send(new PutItemCommand({ TableName: table, Item: { orderId: { S: `o-${index}` }, sk: { S: 'x' }, customerId: { S: 'c-1' }, status: { S: 'PAID' }, amount: { N: '5' } } }));
    }
    const directory = mkdtempSync(join(tmpdir(), 'streamfold-attack-'));
    try {
      const exported = await writeExport(client, { name: table, keys: ['orderId', 'sk'] }, directory, { files: 1, emptyFiles: 0 });
      const tables = await freshTables(client);
      const connection = ['--endpoint', localEndpoint(), '--read-model-table', tables.readModels, '--checkpoint-table', tables.checkpoints, '--parked-table', tables.parked];
      const rebuilt = await runCli(['rebuild', 'customer-totals', '--projections', 'projections/index.ts', '--from-export', exported.root, '--key', 'order_id,sk', ...connection]);
      expect(rebuilt.stderr).toMatch(/data\/\S+\.json\.gz item 1 has no attribute order_id, though the table.s key is taken to be order_id,sk/);
      expect(rebuilt.code).toBe(1);
      expect(await new DynamoDbGenerationRegistry(client, tables.readModels).current('customer-totals')).toBeUndefined();
      const parked = await runCli(['parked', 'list', '--json', ...connection]);
      expect(parked.stdout).not.toContain('unreadable');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe("the rebuild runner's worker, redeployed during an execution", () => {
  it('keeps scanning in the segments its prepare step cut, whatever the new default, and a new execution resumes in them', async () => {
    const table = await bulkOrders(client, 400, 7);
    const tables = await freshTables(client);
    const workerWith = (segments: number) =>
      createRebuildWorker({ projections: [customerTotals], dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables), environment: { STREAMFOLD_REBUILD_SEGMENTS: String(segments), STREAMFOLD_REBUILD_MARGIN_SECONDS: '0' } });
    // One page an invocation: the first is always read, the second asks for time that has run out.
    const onePage = () => ({ awsRequestId: 'r', getRemainingTimeInMillis: () => 0 });
    // The job names no segments: the construct's default (4 × maxConcurrency) cuts the scan.
    const job = { projection: 'customer-totals', table, pageSize: 20 };
    const before = workerWith(4);
    const prepared = (await before({ action: 'prepare', job })) as PrepareResult;
    expect(prepared.shares).toEqual([0, 1, 2, 3]);
    for (const share of prepared.shares) await before({ action: 'work', job: prepared.job, share }, onePage());
    // maxConcurrency changed and the stack was deployed: the same execution goes on with the new function.
    const after = workerWith(16);
    // The execution failed and the same command starts another: its job names no segments either.
    const again = (await after({ action: 'prepare', job })) as PrepareResult;
    expect(again).toMatchObject({ resumed: true, total: 4, shares: [0, 1, 2, 3], job: { segments: 4 } });
    for (const share of prepared.shares) {
      for (;;) {
        const result = (await after({ action: 'work', job: prepared.job, share }, onePage())) as WorkResult;
        if (result.done) break;
      }
    }
    const promoted = await after({ action: 'promote', job: prepared.job });
    expect(promoted).toMatchObject({ read: 400 });
    const { dynamoDbStore } = compose([customerTotals], { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) });
    const verified = await verifyProjection({ projection: customerTotals, scanner: new DynamoDbSourceScanner(client, table), reader: dynamoDbStore, generation: 'customer-totals#v1' });
    expect(verified.drift).toEqual([]);
  });
});

describe('a rebuild whose write DynamoDB refuses for good, killed before it saved the page', () => {
  const Doc = z.object({ id: z.string(), sk: z.instanceof(Uint8Array), body: z.string(), raw: z.instanceof(Uint8Array) });
  const docView = defineProjection({
    name: 'doc-view',
    version: 1,
    kind: 'view',
    schema: Doc,
    dependsOn: 'image',
    // The row holds the body twice: an item near 400 KB makes a row DynamoDB would refuse.
    evolve: (_state: Record<string, unknown> | undefined, event) =>
      event.newImage === undefined ? undefined : { body: event.newImage.body, copy: event.newImage.body, raw: event.newImage.raw },
  }) as Projection;

  it('parks the record once, with the item byte for byte, and resumes to the same state', async () => {
    const table = await createKeyedTable(client, 'Docs', ['id', 'S'], ['sk', 'B']);
    const raw = new Uint8Array([0, 255, 1, 254, 0x80]);
    for (let index = 0; index < 8; index += 1) {
      const body = index === 3 ? 'x'.repeat(250_000) : `doc ${index}`;
      await client.send(new PutItemCommand({ TableName: table, Item: { id: { S: `d-${index}` }, sk: { B: new Uint8Array([index, 0]) }, body: { S: body }, raw: { B: raw } } }));
    }
    const tables = await freshTables(client);
    const composed = compose([docView], { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) });
    const states = new DynamoDbRebuildStateStore(client, tables.checkpoints, 'default');
    let saves = 0;
    const dying: RebuildStateStore = {
      load: (id) => states.load(id),
      save: (id, state) => states.save(id, state),
      loadShare: (id, index) => states.loadShare(id, index),
      saveShare: async (id, index, share) => {
        saves += 1;
        if (saves === 1) throw new Error('killed after the fold, before the save');
        return states.saveShare(id, index, share);
      },
    };
    const registry = new DynamoDbGenerationRegistry(client, tables.readModels);
    const source = new DynamoDbSourceScanner(client, table);
    await expect(new Rebuilder(docView, composed.runtime, source, dying, registry, silentLogger).run({ segments: 1, pageSize: 50 })).rejects.toThrow(/killed/);
    const summary = await new Rebuilder(docView, composed.runtime, source, states, registry, silentLogger).run({ segments: 1, pageSize: 50 });
    expect(summary).toMatchObject({ readInAll: 8, parked: 1, done: true });

    const parked: unknown[] = [];
    for await (const record of composed.deadLetters!.list()) parked.push(record);
    expect(parked).toHaveLength(1);
    const [record] = parked as { reason: string; error: { message: string }; record: { dynamodb: { NewImage: Record<string, { B?: Uint8Array; S?: string }> } } }[];
    expect(record!.reason).toBe('failed');
    expect(record!.error.message).toMatch(/doc-view#v1 .* over DynamoDB's 400 KB/);
    expect(Buffer.from(record!.record.dynamodb.NewImage.raw!.B!)).toEqual(Buffer.from(raw));
    expect(Buffer.from(record!.record.dynamodb.NewImage.sk!.B!)).toEqual(Buffer.from([3, 0]));
    expect(record!.record.dynamodb.NewImage.body!.S).toHaveLength(250_000);
    const rows: unknown[] = [];
    for await (const row of createReadModelClient(client, tables).rows(docView)) rows.push(row);
    expect(rows).toHaveLength(7);

    // Killed again, this time during promotion: the run that resumes reads nothing, and still says what is parked.
    const again = await freshTables(client);
    const againComposed = compose([docView], { dynamoDbClient: client, logger: silentLogger, config: tableConfig(again) });
    const againStates = new DynamoDbRebuildStateStore(client, again.checkpoints, 'default');
    const againRegistry = new DynamoDbGenerationRegistry(client, again.readModels);
    let promotions = 0;
    const dyingRegistry = Object.assign(Object.create(againRegistry) as DynamoDbGenerationRegistry, {
      promote: async (name: string, version: number) => {
        promotions += 1;
        if (promotions === 1) throw new Error('killed during promotion');
        return againRegistry.promote(name, version);
      },
    });
    await expect(new Rebuilder(docView, againComposed.runtime, source, againStates, dyingRegistry, silentLogger).run({ segments: 2 })).rejects.toThrow(/killed during promotion/);
    const resumed = await new Rebuilder(docView, againComposed.runtime, source, againStates, dyingRegistry, silentLogger).run({ segments: 2 });
    expect(resumed).toMatchObject({ readThisRun: 0, readInAll: 8, resumed: true, applied: 7, parked: 1, skipped: 0 });
    expect(await againRegistry.current('doc-view')).toBe(1);
  });
});

describe('a rebuild from an event log with a version missing from the table', () => {
  it('says the events it holds behind the gap, instead of counting every item as taken', async () => {
    const table = await createKeyedTable(client, 'OrderEvents', ['streamId', 'S'], ['version', 'N']);
    const events: { version: number; type: string; payload: AttributeValue }[] = [
      { version: 1, type: 'OrderPlaced', payload: { M: { customerId: { S: 'c-1' }, placedAt: { S: '2026-01-01' } } } },
      { version: 2, type: 'OrderLineAdded', payload: { M: { sku: { S: 'A' }, quantity: { N: '1' }, price: { N: '5' } } } },
      // Version 3 is not in the table.
      { version: 4, type: 'OrderShipped', payload: { M: { carrier: { S: 'ups' } } } },
    ];
    for (const event of events) {
      await client.send(new PutItemCommand({ TableName: table, Item: { streamId: { S: 'o-1' }, version: { N: String(event.version) }, type: { S: event.type }, payload: event.payload } }));
    }
    const tables = await freshTables(client);
    const projection = orderHistory as unknown as Projection;
    const summary = await rebuilderOf(tables, projection, table).run({ segments: 1 });
    expect(summary).toMatchObject({ readInAll: 3, applied: 2, parked: 0, skipped: 0, held: 1 });
    expect(formatRebuild({ ...summary }, 'table OrderEvents')).toContain('1 held behind a missing version of their stream (streamfold gaps lists them)');
    // The CLI says so, and exits 3 (finished, but something needs attention), as for parked records.
    const connection = ['--endpoint', localEndpoint(), '--read-model-table', tables.readModels, '--checkpoint-table', tables.checkpoints, '--parked-table', tables.parked];
    const cli = await runCli(['rebuild', 'order-history', '--projections', 'projections/event-sourced/index.ts', '--table', table, '--restart', ...connection]);
    expect(cli.stdout).toMatch(/0 parked, 1 held behind a missing version/);
    expect(cli.code).toBe(3);
    const gaps = await runCli(['gaps', '--projections', 'projections/event-sourced/index.ts', '--json', ...connection]);
    expect(gaps.stdout).toContain('"missing":"3"');
  });
});
