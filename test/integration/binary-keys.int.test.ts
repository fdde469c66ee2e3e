import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DirectoryExportObjects } from '../../adapters/export/directory.js';
import { ExportSource } from '../../src/rebuild/export-source.js';
import type { RebuildSource } from '../../src/rebuild/ports.js';
import { writeExport } from '../support/exports.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { TableNames } from '../../adapters/dynamodb/layout.js';
import { DynamoDbGenerationRegistry, DynamoDbRebuildStateStore } from '../../adapters/dynamodb/rebuild-state.js';
import { DynamoDbSourceScanner } from '../../adapters/dynamodb/scanner.js';
import { waitForActive } from '../../adapters/dynamodb/tables.js';
import { tableConfig } from '../../src/core/config.js';
import { compose } from '../../src/container.js';
import { defineEventLog, defineEventProjection } from '../../src/eventlog/define.js';
import { silentLogger } from '../../src/core/logging.js';
import { seededRandom } from '../../src/testing/random.js';
import { defineProjection, generationOf, type Projection } from '../../src/projection/define.js';
import { readAllRows } from '../../src/projection/read-model.js';
import type { ScanPage, SourceScanner } from '../../src/rebuild/ports.js';
import { Rebuilder } from '../../src/rebuild/rebuilder.js';
import { verifyProjection } from '../../src/rebuild/verify.js';
import { createKeyedTable, type KeyType } from '../support/keyed-table.js';
import { freshTables, localClient } from '../support/local-dynamodb.js';

const Blob = z.instanceof(Uint8Array);
const Reading = z.object({ device: Blob, at: Blob, site: z.string(), value: z.number(), raw: Blob });

/** Per site: how many readings, and their sum. */
const perSite = defineProjection({
  name: 'readings-per-site',
  version: 1,
  kind: 'sum',
  schema: Reading,
  contribute: (reading) => ({ [reading.site]: { readings: 1, value: reading.value } }),
});

/** Per reading: its site, value and raw bytes. */
const readingView = defineProjection({
  name: 'reading-view',
  version: 1,
  kind: 'view',
  schema: Reading,
  dependsOn: 'image',
  evolve: (_state: { site: string; value: number; raw: Uint8Array } | undefined, event) =>
    event.newImage === undefined ? undefined : { site: event.newImage.site, value: event.newImage.value, raw: event.newImage.raw },
});

const projections = [perSite, readingView] as Projection[];
const ITEMS = 80;

let client: DynamoDBClient;
let table: string;
let truth: { site: string; value: number }[];

/** Bytes from a seeded source, with zeros and 0xff among them. */
function bytes(random: () => number, length: number): Uint8Array {
  return new Uint8Array(Array.from({ length }, () => Math.floor(random() * 256)));
}

/** A table of a test's own with a partition and a sort key of the given types. */
const createTable = (prefix: string, hash: [string, KeyType], range: [string, KeyType]): Promise<string> => createKeyedTable(client, prefix, hash, range);

beforeAll(async () => {
  client = localClient();
  table = await createTable('Readings', ['device', 'B'], ['at', 'B']);
  const random = seededRandom(17);
  truth = [];
  for (let index = 0; index < ITEMS; index += 1) {
    const site = `site-${index % 3}`;
    const value = index * 7 - 100;
    truth.push({ site, value });
    await client.send(
      new PutItemCommand({
        TableName: table,
        Item: {
          device: { B: bytes(random, 1 + (index % 5)) },
          at: { B: new Uint8Array([index >> 8, index & 0xff, 0]) },
          site: { S: site },
          value: { N: String(value) },
          raw: { B: bytes(random, 6) },
        },
      }),
    );
  }
});

function expectedSums(): { key: string; value: { readings: number; value: number } }[] {
  const sums = new Map<string, { readings: number; value: number }>();
  for (const { site, value } of truth) {
    const sum = sums.get(site) ?? { readings: 0, value: 0 };
    sums.set(site, { readings: sum.readings + 1, value: sum.value + value });
  }
  return [...sums].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => ({ key, value }));
}

/** A scanner that dies after a number of pages, as a rebuild does when its process is killed. */
class DyingScanner implements SourceScanner {
  private pages = 0;
  constructor(
    private readonly inner: SourceScanner,
    private readonly pagesBeforeDeath: number,
  ) {}
  get table(): string {
    return this.inner.table;
  }
  keyAttributes(): Promise<string[]> {
    return this.inner.keyAttributes();
  }
  approximateItemCount(): Promise<number | undefined> {
    return this.inner.approximateItemCount();
  }
  async scan(segment: number, totalSegments: number, startKey: string | undefined, limit: number): Promise<ScanPage> {
    this.pages += 1;
    if (this.pages > this.pagesBeforeDeath) throw new Error('killed');
    return this.inner.scan(segment, totalSegments, startKey, limit);
  }
}

async function rebuilder(tables: TableNames, projection: Projection, scanner: SourceScanner | RebuildSource): Promise<Rebuilder> {
  const { runtime } = compose([projection], { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) });
  return new Rebuilder(
    projection,
    runtime,
    scanner,
    new DynamoDbRebuildStateStore(client, tables.checkpoints, 'default'),
    new DynamoDbGenerationRegistry(client, tables.readModels),
    silentLogger,
  );
}

describe('a table whose partition and sort keys are binary, on DynamoDB Local', () => {
  it('rebuilds and verifies both projections', async () => {
    const tables = await freshTables(client);
    const { dynamoDbStore: store } = compose(projections, { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) });
    for (const projection of projections) {
      const summary = await (await rebuilder(tables, projection, new DynamoDbSourceScanner(client, table))).run({ segments: 3, pageSize: 7 });
      expect(summary.readInAll).toBe(ITEMS);
      expect(summary.parked).toBe(0);
      const verified = await verifyProjection({
        projection,
        scanner: new DynamoDbSourceScanner(client, table),
        reader: store,
        generation: generationOf(projection),
        segments: 3,
      });
      expect(verified.drift).toEqual([]);
      expect(verified.storedRows).toBe(verified.expectedRows);
    }
    expect(await readAllRows(store, perSite)).toEqual(expectedSums());
    const views = await readAllRows(store, readingView);
    expect(views).toHaveLength(ITEMS);
    for (const row of views) {
      expect((row.key as { device: unknown }).device).toBeInstanceOf(Uint8Array);
      expect((row.value as { raw: unknown }).raw).toBeInstanceOf(Uint8Array);
    }
  });

  it('resumes a rebuild killed part way from the saved binary scan positions', async () => {
    const tables = await freshTables(client);
    const dying = await rebuilder(tables, perSite, new DyingScanner(new DynamoDbSourceScanner(client, table), 4));
    await expect(dying.run({ segments: 2, pageSize: 9 })).rejects.toThrow('killed');
    const saved = await new DynamoDbRebuildStateStore(client, tables.checkpoints, 'default').load(dying.stateId);
    const readBefore = saved?.segments.reduce((total, segment) => total + segment.read, 0) ?? 0;
    expect(readBefore).toBeGreaterThan(0);
    expect(saved?.segments.some((segment) => segment.lastKey !== undefined)).toBe(true);

    const summary = await (await rebuilder(tables, perSite, new DynamoDbSourceScanner(client, table))).run({ segments: 2, pageSize: 9 });
    expect(summary.resumed).toBe(true);
    expect(summary.readInAll).toBe(ITEMS);
    expect(summary.readThisRun).toBe(ITEMS - readBefore);
    const { dynamoDbStore: store } = compose([perSite], { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) });
    expect(await readAllRows(store, perSite)).toEqual(expectedSums());
  });
});

describe('an export of a table whose keys are binary (base64 in DynamoDB JSON)', () => {
  it('rebuilds, killed part way and resumed at its saved item, into the rows a scan gives: verify finds no drift', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'streamfold-binary-export-'));
    try {
      const exported = await writeExport(client, { name: table, keys: ['device', 'at'] }, directory, { files: 3, emptyFiles: 1 });
      const tables = await freshTables(client);
      const { dynamoDbStore: store } = compose(projections, { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) });
      const open = () => ExportSource.open(new DirectoryExportObjects(exported.root), async () => ['device', 'at']);
      for (const projection of projections) {
        // Killed after its fourth page: the file positions saved so far are where the next run goes on.
        const source = await open();
        let pages = 0;
        const dying: RebuildSource = Object.assign(Object.create(source) as ExportSource, {
          open: async (share: number, position: string | undefined) => {
            const cursor = await source.open(share, position);
            return { ...cursor, next: async (limit: number) => (++pages > 4 ? Promise.reject(new Error('killed')) : cursor.next(limit)) };
          },
        });
        const first = await rebuilder(tables, projection, dying);
        await expect(first.run({ segments: 1, pageSize: 7 })).rejects.toThrow('killed');
        const saved = await new DynamoDbRebuildStateStore(client, tables.checkpoints, 'default').load(first.stateId);
        const readBefore = saved?.segments.reduce((total, segment) => total + segment.read, 0) ?? 0;
        expect(readBefore).toBeGreaterThanOrEqual(21);
        const summary = await (await rebuilder(tables, projection, await open())).run({ segments: 2, pageSize: 7 });
        expect(summary).toMatchObject({ resumed: true, readInAll: ITEMS, parked: 0 });
        expect(summary.readThisRun).toBe(ITEMS - readBefore);
        const verified = await verifyProjection({ projection, scanner: new DynamoDbSourceScanner(client, table), reader: store, generation: generationOf(projection) });
        expect(verified.drift).toEqual([]);
        expect(verified.storedRows).toBe(verified.expectedRows);
      }
      for (const row of await readAllRows(store, readingView)) expect((row.key as { device: unknown }).device).toBeInstanceOf(Uint8Array);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe('events held behind a gap keep their binary attributes, on DynamoDB Local', () => {
  const Chunk = z.discriminatedUnion('type', [z.object({ type: z.literal('Chunk'), payload: z.object({ data: Blob }) })]);
  const chunks = defineEventLog({ streamId: 'file', version: 'version', type: 'type', payload: 'payload', events: Chunk });
  /** Per file: its chunks' bytes, in version order. */
  const fileView = defineEventProjection({
    name: 'file-chunks',
    version: 1,
    kind: 'event-view',
    log: chunks,
    evolve: (state: { chunks: Uint8Array[] } | undefined, event) => ({ chunks: [...(state?.chunks ?? []), event.payload.data] }),
  });
  const FILES = 3;
  const VERSIONS = 4;

  /** The table's items one page at a time, newest version first: every stream has a gap until its first event. */
  class NewestFirst implements SourceScanner {
    constructor(
      readonly table: string,
      private readonly items: readonly Record<string, unknown>[],
    ) {}
    keyAttributes = async (): Promise<string[]> => ['file', 'version'];
    approximateItemCount = async (): Promise<number> => this.items.length;
    async scan(_segment: number, _total: number, startKey: string | undefined, _limit: number): Promise<ScanPage> {
      const at = startKey === undefined ? 0 : Number(startKey);
      return { items: this.items.slice(at, at + 1), lastKey: at + 1 < this.items.length ? String(at + 1) : undefined };
    }
  }

  it('applies them whole when the gap fills', async () => {
    const source = await createTable('Files', ['file', 'S'], ['version', 'N']);
    const random = seededRandom(23);
    const expected = new Map<string, number[][]>();
    for (let file = 0; file < FILES; file += 1) {
      for (let version = 1; version <= VERSIONS; version += 1) {
        const data = bytes(random, 3 + version);
        data[0] = 0; // a leading zero byte, which a text round trip would be the first to lose
        expected.set(`f-${file}`, [...(expected.get(`f-${file}`) ?? []), [...data]]);
        await client.send(
          new PutItemCommand({
            TableName: source,
            Item: { file: { S: `f-${file}` }, version: { N: String(version) }, type: { S: 'Chunk' }, payload: { M: { data: { B: data } } } },
          }),
        );
      }
    }
    const scanned = (await new DynamoDbSourceScanner(client, source).scan(0, 1, undefined, 1000)).items;
    const newestFirst = [...scanned].sort((a, b) => Number((b.version as { N: string }).N) - Number((a.version as { N: string }).N));

    const tables = await freshTables(client);
    const projection = fileView as unknown as Projection;
    const summary = await (await rebuilder(tables, projection, new NewestFirst(source, newestFirst))).run({ segments: 1, pageSize: 1 });
    expect(summary.parked).toBe(0);
    const { dynamoDbStore } = compose([fileView], { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) });
    const rows = await readAllRows(dynamoDbStore, fileView);
    expect(rows).toHaveLength(FILES);
    for (const row of rows) {
      const file = (row.key as { file: string }).file;
      expect((row.value.chunks as Uint8Array[]).map((chunk) => [...chunk])).toEqual(expected.get(file));
    }
  });
});
