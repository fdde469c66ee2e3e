import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { tableConfig } from '../../src/core/config.js';
import { compose } from '../../src/container.js';
import { silentLogger } from '../../src/core/logging.js';
import { defineProjection, type Projection } from '../../src/projection/define.js';
import type { AnyProjection } from '../../src/catalog/kinds.js';
import type { DeadLetterStore, KeyWrite, ParkedRecord, ReadModelStore } from '../../src/projection/ports.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { streamRecord, wire } from '../support/records.js';
import { freshTables, localClient } from '../support/local-dynamodb.js';

/**
 * The failure paths production meets, on DynamoDB Local: redrive after a crash or beside the live consumer,
 * writes DynamoDB refuses for good, and streams without images.
 */
let client: DynamoDBClient;
beforeAll(() => {
  client = localClient();
});

const Note = z.object({ id: z.string(), v: z.number() });
const LenientNote = z.object({ id: z.string(), v: z.union([z.number(), z.string()]) });

/** A view that depends on history: each applied event's sequence, in the order applied. */
const history = (schema: z.ZodType = Note) =>
  defineProjection({
    name: 'history',
    version: 1,
    kind: 'view',
    schema,
    evolve: (state: { seen: string[] } | undefined, event) => ({ seen: [...(state?.seen ?? []), event.sequence] }),
  }) as Projection;

const note = (sequence: string, v: number | string, eventName: 'INSERT' | 'MODIFY' = 'MODIFY') =>
  streamRecord({ eventName, keys: { id: { S: 'n-1' } }, sequence, newImage: wire({ id: 'n-1', v }), viewType: 'NEW_IMAGE', table: 'Notes' });

async function setUp(projections: readonly AnyProjection[], deadLetters?: (real: DeadLetterStore) => DeadLetterStore, store?: (real: ReadModelStore) => ReadModelStore) {
  const tables = await freshTables(client);
  const base = compose(projections, { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) });
  const real = base.deadLetters as DeadLetterStore;
  const composition = compose(projections, {
    dynamoDbClient: client,
    logger: silentLogger,
    config: tableConfig(tables),
    deadLetters: deadLetters?.(real) ?? real,
    ...(store === undefined ? {} : { store: store(base.dynamoDbStore) }),
  });
  return { tables, composition, real, store: base.dynamoDbStore };
}

async function listAll(deadLetters: DeadLetterStore): Promise<ParkedRecord[]> {
  const records: ParkedRecord[] = [];
  for await (const record of deadLetters.list()) records.push(record);
  return records;
}

const seenOf = async (reader: Parameters<typeof readAllRows>[0], projection: AnyProjection) =>
  (await readAllRows(reader, projection)).map((row) => row.value.seen);

describe('redrive is idempotent', () => {
  it('never applies a record twice when a redrive dies after its write and before removing what it applied', async () => {
    const { composition, real, store } = await setUp([history()]);
    const report = await composition.consumer.process([note('101', 1, 'INSERT'), note('102', 'bad'), note('103', 3)]);
    expect(report.batchItemFailures).toEqual([]);
    expect(await seenOf(store, history())).toEqual([['101']]);

    const dying: DeadLetterStore = {
      park: (records) => real.park(records),
      list: (filter) => real.list(filter),
      remove: async () => {
        throw new Error('the process died here');
      },
    };
    const fixed = { dynamoDbClient: client, logger: silentLogger, config: composition.config };
    await expect(compose([history(LenientNote)], { ...fixed, deadLetters: dying }).redriver!.redrive()).rejects.toThrow(
      'the process died here',
    );
    const result = await compose([history(LenientNote)], fixed).redriver!.redrive();
    expect(result.applied).toEqual([]);
    expect(await seenOf(store, history())).toEqual([['101', '102', '103']]);
    expect(await listAll(real)).toEqual([]);
  });

  it('never applies a record twice when a redrive lands while the live consumer parks and then plans again', async () => {
    let redriveNow: (() => Promise<unknown>) | undefined;
    const { composition, real, store } = await setUp([history()], undefined, (inner) => ({
      load: (keys, views) => inner.load(keys, views),
      commit: async (writes: readonly KeyWrite[]) => {
        const pending = redriveNow;
        redriveNow = undefined;
        await pending?.();
        return inner.commit(writes);
      },
    }));
    await composition.consumer.process([note('101', 1, 'INSERT'), note('102', 'bad')]);
    const fixed = compose([history(LenientNote)], { dynamoDbClient: client, logger: silentLogger, config: composition.config });
    // The live consumer parks 103 behind 102, and just before its write lands, the redrive of 102 lands.
    redriveNow = () => fixed.redriver!.redrive();
    const report = await composition.consumer.process([note('103', 3)]);
    expect(report.batchItemFailures).toEqual([]);
    await fixed.redriver!.redrive();
    expect(await seenOf(store, history())).toEqual([['101', '102', '103']]);
    expect(await listAll(real)).toEqual([]);
  });
});

/** Random base64: DynamoDB does not compress, and neither does gzip much. */
const noise = (bytes: number) => Buffer.from(Array.from({ length: Math.ceil((bytes * 3) / 4) }, () => Math.floor(Math.random() * 256))).toString('base64').slice(0, bytes);

const Doc = z.object({ id: z.string(), group: z.string(), text: z.string().optional(), amount: z.bigint().or(z.number()).optional(), tags: z.number().optional() });
const doc = (id: string, sequence: string, fields: Record<string, unknown>, eventName: 'INSERT' | 'MODIFY' = 'MODIFY') =>
  streamRecord({ eventName, keys: { id: { S: id } }, sequence, newImage: wire({ id, ...fields }), viewType: 'NEW_IMAGE', table: 'Docs' });

/** A view whose row keeps every text it saw: it outgrows DynamoDB's 400 KB item limit. */
const texts = defineProjection({
  name: 'texts',
  version: 1,
  kind: 'view',
  schema: Doc,
  evolve: (state: { texts: string[] } | undefined, event) => ({ texts: [...(state?.texts ?? []), event.newImage?.text ?? ''] }),
}) as Projection;
const perGroup = defineProjection({ name: 'per-group', version: 1, kind: 'sum', schema: Doc, contribute: (d) => ({ [d.group]: { docs: 1 } }) }) as Projection;
const bigTotals = defineProjection({
  name: 'big-totals',
  version: 1,
  kind: 'sum',
  schema: Doc,
  contribute: (d) => ({ [d.group]: { amount: d.amount ?? 0 } }),
}) as Projection;
const tagged = defineProjection({
  name: 'tagged',
  version: 1,
  kind: 'sum',
  schema: Doc,
  contribute: (d) => Object.fromEntries(Array.from({ length: d.tags ?? 0 }, (_, tag) => [`tag-${tag}`, { docs: 1 }])),
}) as Projection;

async function parkedOf(deadLetters: DeadLetterStore) {
  return (await listAll(deadLetters)).map((record) => ({ projection: record.projection, sequence: record.sequence, reason: record.reason, code: record.error.code, message: record.error.message }));
}

describe('a write DynamoDB refuses for good is poison for the projection that made it', () => {
  it.each([
    ['in one batch', 1],
    ['one record a batch', 7],
  ])('parks the record that grows a view row past 400 KB, and the item\'s sums go on (%s)', async (_, perBatch) => {
    const { composition, real, store } = await setUp([texts, perGroup]);
    const records = Array.from({ length: 7 }, (_, index) =>
      doc('d-1', String(201 + index), { group: index < 6 ? 'a' : 'b', text: noise(64 * 1024) }, index === 0 ? 'INSERT' : 'MODIFY'),
    );
    for (let start = 0; start < records.length; start += 7 / perBatch) {
      const report = await composition.consumer.process(records.slice(start, start + 7 / perBatch));
      expect(report.batchItemFailures).toEqual([]);
    }
    const parked = await parkedOf(real);
    expect(parked).toEqual([
      expect.objectContaining({ projection: 'texts', sequence: '207', reason: 'failed', message: expect.stringMatching(/400 KB|409,600/) }),
    ]);
    expect(parked[0]?.message).toMatch(/texts/);
    const rows = await readAllRows(store, texts);
    expect((rows[0]?.value.texts as string[]).length).toBe(6);
    // The item moved to group b: its sum followed although its view could not.
    expect(await readAllRows(store, perGroup)).toEqual([{ key: 'b', value: { docs: 1 } }]);
  });

  it('parks the record whose sum total would need more than 38 digits, and the item\'s other projections go on', async () => {
    const { composition, real, store } = await setUp([bigTotals, perGroup]);
    // 10^38 is one significant digit; adding 1 to it needs 39, one more than DynamoDB keeps.
    const huge = 10n ** 38n;
    for (const records of [[doc('d-1', '301', { group: 'g', amount: huge }, 'INSERT')], [doc('d-2', '302', { group: 'g', amount: 1 }, 'INSERT')]]) {
      const report = await composition.consumer.process(records);
      expect(report.batchItemFailures).toEqual([]);
    }
    const parked = await parkedOf(real);
    expect(parked).toEqual([expect.objectContaining({ projection: 'big-totals', sequence: '302', reason: 'failed' })]);
    expect(parked[0]?.message).toMatch(/38/);
    expect(parked[0]?.message).toMatch(/\bg\b/);
    // Read back as a JS number, since 1e38 converts back to the same decimal.
    expect(await readAllRows(store, bigTotals)).toEqual([{ key: 'g', value: { amount: Number(huge) } }]);
    expect(await readAllRows(store, perGroup)).toEqual([{ key: 'g', value: { docs: 2 } }]);
  });

  it('parks the record whose change touches more rows than one transaction holds, and the item\'s other projections go on', async () => {
    const { composition, real, store } = await setUp([tagged, perGroup]);
    const report = await composition.consumer.process([doc('d-1', '401', { group: 'g', tags: 150 }, 'INSERT'), doc('d-2', '402', { group: 'g', tags: 2 }, 'INSERT')]);
    expect(report.batchItemFailures).toEqual([]);
    const parked = await parkedOf(real);
    expect(parked).toEqual([expect.objectContaining({ projection: 'tagged', sequence: '401', reason: 'failed', message: expect.stringMatching(/100/) })]);
    expect(await readAllRows(store, perGroup)).toEqual([{ key: 'g', value: { docs: 2 } }]);
    expect(await readAllRows(store, tagged)).toEqual([
      { key: 'tag-0', value: { docs: 1 } },
      { key: 'tag-1', value: { docs: 1 } },
    ]);
  });
});

describe('event logs, delivered again', () => {
  it('keeps the poison event\'s own error when its batch is delivered again', async () => {
    const { orderHistory } = await import('../../projections/event-sourced/index.js');
    const { composition, real } = await setUp([orderHistory]);
    const event = (version: number, type: string, payload: Record<string, unknown>) =>
      streamRecord({
        eventName: 'INSERT',
        keys: wire({ streamId: 'o-1', version }),
        sequence: String(500 + version),
        newImage: wire({ streamId: 'o-1', version, type, payload }),
        viewType: 'NEW_IMAGE',
        table: 'OrderEvents',
      });
    const batch = [
      event(1, 'OrderPlaced', { customerId: 'c-1', placedAt: '2026-11-01T00:00:00Z' }),
      event(2, 'OrderLineAdded', { sku: 'fig', quantity: 1, price: '1,200' }),
      event(3, 'OrderShipped', { carrier: 'ups' }),
    ];
    await composition.consumer.process(batch);
    await composition.consumer.process(batch);
    const parked = await parkedOf(real);
    expect(parked.map((record) => [record.sequence, record.reason, record.code])).toEqual([
      ['2', 'failed', 'SCHEMA_MISMATCH'],
      ['3', 'waiting', 'PROJECTION_FAILED'],
    ]);
    const [poison] = await listAll(real);
    expect(poison?.error.field).toBe('dynamodb.NewImage.payload.price');
    const redriven = await composition.redriver!.redrive();
    expect(redriven.stillParked.filter((record) => record.reason === 'failed').map((record) => record.sequence)).toEqual(['2']);
  });
});

describe('streams without the images a projection needs', () => {
  it.each(['KEYS_ONLY', 'OLD_IMAGE'] as const)('says so on a %s stream, deletes no row, and the batch stats agree with the metrics', async (viewType) => {
    const status = defineProjection({
      name: 'status',
      version: 1,
      kind: 'view',
      schema: Doc,
      evolve: (_state: { group: string } | undefined, event) => (event.newImage === undefined ? undefined : { group: event.newImage.group }),
    }) as Projection;
    const lines: string[] = [];
    const { composition, store, real } = await setUp([status, perGroup]);
    await composition.consumer.process([doc('d-1', '601', { group: 'a' }, 'INSERT')]);
    const metrics = compose([status, perGroup], {
      dynamoDbClient: client,
      config: { ...composition.config, STREAMFOLD_METRICS_NAMESPACE: 'test' },
      logger: (await import('pino')).pino({ level: 'info' }, { write: (line: string) => lines.push(line) }),
    });
    const modify = streamRecord({
      eventName: 'MODIFY',
      keys: { id: { S: 'd-1' } },
      sequence: '602',
      ...(viewType === 'OLD_IMAGE' ? { oldImage: wire({ id: 'd-1', group: 'a' }) } : {}),
      viewType,
      table: 'Docs',
    });
    const report = await metrics.consumer.process([modify]);
    expect(report.batchItemFailures).toEqual([]);
    expect(await readAllRows(store, status)).toEqual([{ key: { id: 'd-1' }, value: { group: 'a' } }]);
    const parked = await parkedOf(real);
    expect(parked.find((record) => record.projection === 'status')?.message).toMatch(new RegExp(`^status needs the new image .* view type is ${viewType}`));
    const parkedByMetric = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line._aws !== undefined)
      .reduce((total, line) => total + Number(line.RecordsParked ?? 0), 0);
    expect(parkedByMetric).toBeGreaterThan(0);
    expect(report.stats.parked).toBe(1);
  });
});
