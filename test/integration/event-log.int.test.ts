import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { tableConfig } from '../../src/core/config.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbRebuildStateStore, DynamoDbGenerationRegistry } from '../../adapters/dynamodb/rebuild-state.js';
import { DynamoDbSourceScanner } from '../../adapters/dynamodb/scanner.js';
import { SourceTable } from '../../adapters/dynamodb/source-table.js';
import { DynamoDbStreamSource } from '../../adapters/dynamodb/stream-source.js';
import { compose } from '../../src/container.js';
import { defineEventLog, defineEventProjection, type EventProjection } from '../../src/eventlog/define.js';
import { silentLogger } from '../../src/core/logging.js';
import { orderEventsWorkload } from '../../demo/order-events-workload.js';
import { seededRandom, shuffle } from '../../src/testing/random.js';
import { readStream } from '../../src/local/shard-poller.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { Rebuilder } from '../../src/rebuild/rebuilder.js';
import { orderHistory, revenuePerDay } from '../../projections/event-sourced/index.js';
import { batches } from '../support/consumers.js';
import { eventDifferences, eventTruth } from '../../demo/order-events-truth.js';
import { freshTables, localClient, localHandler, localStreams, uniqueName } from '../support/local-dynamodb.js';
import { streamRecord, wire } from '../support/records.js';

let client: DynamoDBClient;
let table: SourceTable;
let records: Record<string, unknown>[];
let truth: ReturnType<typeof eventTruth>;
const projections = [orderHistory, revenuePerDay] as EventProjection[];

beforeAll(async () => {
  client = localClient();
  table = new SourceTable(client, {
    name: uniqueName('OrderEvents'),
    partitionKey: 'streamId',
    sortKey: 'version',
    sortKeyType: 'N',
    streamViewType: 'NEW_AND_OLD_IMAGES',
  });
  const streamArn = await table.create();
  // Several events of one stream in one TransactWriteItems, the orders' transactions interleaved.
  for (const transaction of orderEventsWorkload({ seed: 31, orders: 60, customers: 9 })) await table.append(transaction as unknown as Record<string, unknown>[]);
  records = [];
  for await (const shard of readStream(new DynamoDbStreamSource(localStreams()), streamArn)) records.push(...(shard.records as Record<string, unknown>[]));
  truth = eventTruth(await table.scan());
});

async function deliver(delivery: readonly (readonly Record<string, unknown>[])[], projectionSet = projections) {
  const handler = localHandler(client, await freshTables(client), projectionSet);
  const reports = [];
  for (const batch of delivery) reports.push(await handler.invoke({ Records: batch }));
  return { handler, reports };
}

async function differences(handler: ReturnType<typeof localHandler>) {
  return eventDifferences(truth, await readAllRows(handler.store, orderHistory), await readAllRows(handler.store, revenuePerDay));
}

const streamOf = (record: Record<string, unknown>) => (record.dynamodb as { Keys: { streamId: { S: string } } }).Keys.streamId.S;
const versionOf = (record: Record<string, unknown>) => Number((record.dynamodb as { Keys: { version: { N: string } } }).Keys.version.N);

describe('an event log, delivered every which way, on DynamoDB Local', () => {
  it('reads real records of events written several to a transaction', () => {
    expect(records.length).toBeGreaterThan(200);
    expect(new Set(records.map((record) => record.eventName))).toEqual(new Set(['INSERT']));
    expect(truth.histories.size).toBe(60);
  });

  it.each([
    ['in stream order', () => batches(records, 50)],
    ['in reverse', () => batches([...records].reverse(), 50)],
    ['shuffled across batches', () => batches(shuffle(seededRandom(4), records), 17)],
    ['duplicated', () => batches(shuffle(seededRandom(5), [...records, ...records.slice(0, 120)]), 23)],
  ])('folds each stream in version order when delivered %s', async (_name, delivery) => {
    const { handler, reports } = await deliver(delivery());
    expect(reports.flatMap((report) => report.batchItemFailures)).toEqual([]);
    expect(await differences(handler)).toEqual([]);
  });

  it('holds a stream back at a missing version, then applies all in order when it arrives', async () => {
    const target = records.find((record) => versionOf(record) === 2 && records.filter((other) => streamOf(other) === streamOf(record)).length >= 4);
    if (target === undefined) throw new Error('no stream with four events');
    const stream = streamOf(target);
    const rest = records.filter((record) => record !== target);
    const { handler } = await deliver(batches(rest, 40));
    const rows = await readAllRows(handler.store, orderHistory);
    const held = rows.find((row) => (row.key as { streamId: string }).streamId === stream);
    expect(held?.value.history).toEqual(['1:OrderPlaced']);
    const others = (await differences(handler)).filter((difference) => !difference.includes(stream));
    expect(others.every((difference) => difference.startsWith('revenue-per-day'))).toBe(true);

    const report = await handler.invoke({ Records: [target] });
    expect(report.stats.applied).toBeGreaterThanOrEqual(3);
    expect(await differences(handler)).toEqual([]);
  });

  it('reports a gap that never fills once it is older than the configured time', async () => {
    const quickLog = defineEventLog({ ...orderHistory.log, gapTimeoutMs: 1 });
    const quickHistory = defineEventProjection({ ...orderHistory, log: quickLog } as never) as EventProjection;
    // Versions 1 and 2 of a stream never come; its later ones wait.
    const target = records.find((record) => versionOf(record) === 2);
    if (target === undefined) throw new Error('no version 2');
    const stream = streamOf(target);
    const later = records.filter((record) => streamOf(record) === stream && versionOf(record) > 2);
    const tables = await freshTables(client);
    const handler = localHandler(client, tables, [quickHistory]);
    const first = await handler.invoke({ Records: later });
    expect(first.stats.gaps).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const again = await handler.invoke({ Records: later.slice(0, 1) });
    expect(again.stats.gaps).toBe(1);
    const gaps = [];
    for await (const gap of handler.store.openGaps(['order-history#v1'])) gaps.push(gap);
    expect(gaps).toEqual([
      expect.objectContaining({ stream: `stream#"${stream}"`, missing: '1', held: later.map((record) => String(versionOf(record))) }),
    ]);
  });

  /** A stream whose first event is late: versions 2..401 come in batches of 50, then version 1. */
  async function longGap(skuLength: number) {
    let big = 900000000000000000000n;
    const event = (version: number, type: string, payload: object) =>
      streamRecord({
        eventName: 'INSERT',
        keys: wire({ streamId: 'o-big', version }),
        sequence: String((big += 1n)),
        newImage: wire({ streamId: 'o-big', version, type, payload }),
        table: 'OrderEvents',
      });
    const tables = await freshTables(client);
    const handler = localHandler(client, tables, projections);
    let parked = 0;
    for (let start = 2; start <= 400; start += 50) {
      const lines = Array.from({ length: 50 }, (_, index) =>
        event(start + index, 'OrderLineAdded', { sku: 'x'.repeat(skuLength), quantity: 1, price: 5 }),
      );
      const report = await handler.invoke({ Records: lines });
      expect(report.batchItemFailures).toEqual([]);
      parked += report.stats.parked;
    }
    const placed = event(1, 'OrderPlaced', { customerId: 'c', placedAt: '2026-11-02T10:00:00Z' });
    expect((await handler.invoke({ Records: [placed] })).batchItemFailures).toEqual([]);
    const { redriver } = compose(projections, { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) });
    return { handler, parked, redriven: await redriver!.redrive() };
  }

  it('keeps a long-open gap within the checkpoint item: held events past its budget are parked, and come back', async () => {
    const { handler, parked, redriven } = await longGap(300);
    expect(parked).toBeGreaterThan(0);
    expect(redriven.stillParked).toEqual([]);
    const [history] = (await readAllRows(handler.store, orderHistory)).filter((row) => (row.key as { streamId: string }).streamId === 'o-big');
    // Versions 1..401, each once and in order: the held, the parked and the late first event together.
    expect(history?.value.history).toEqual(
      Array.from({ length: 401 }, (_, index) => `${index + 1}:${index === 0 ? 'OrderPlaced' : 'OrderLineAdded'}`),
    );
  });

  it('keeps events parked, with the reason, when DynamoDB refuses the view row they would make', async () => {
    // 400 lines of 1 KB make a history row past DynamoDB's 400 KB item limit.
    const { handler, redriven } = await longGap(1000);
    expect(redriven.stillParked.length).toBeGreaterThan(0);
    expect(redriven.stillParked[0]?.error).toEqual(expect.objectContaining({ code: 'STORE_WRITE_FAILED', message: expect.stringMatching(/over DynamoDB's 400 KB/) }));
    const [history] = (await readAllRows(handler.store, orderHistory)).filter((row) => (row.key as { streamId: string }).streamId === 'o-big');
    // What the checkpoint held applied when version 1 came; nothing past it is lost, it waits in the store.
    const appliedVersions = (history?.value.history as readonly string[] | undefined)?.length ?? 0;
    const stillHistory = redriven.stillParked.filter((record) => record.projection === 'order-history');
    expect(appliedVersions + stillHistory.length).toBe(401);
  });

  it('rebuilds history views from a scan of the event table, the same as live processing gave', async () => {
    const live = (await deliver(batches(records, 50))).handler;
    const tables = await freshTables(client);
    const registry = new DynamoDbGenerationRegistry(client, tables.readModels);
    for (const projection of projections) {
      const { runtime } = compose([projection], {
        dynamoDbClient: client,
        logger: silentLogger,
        config: tableConfig(tables),
      });
      await new Rebuilder(projection, runtime, new DynamoDbSourceScanner(client, table.spec.name), new DynamoDbRebuildStateStore(client, tables.checkpoints, 'default'), registry, silentLogger).run({ segments: 3, pageSize: 25 });
    }
    const rebuilt = compose(projections, { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) }).dynamoDbStore;
    for (const projection of projections) {
      expect(await readAllRows(rebuilt, projection)).toEqual(await readAllRows(live.store, projection));
    }
    expect(eventDifferences(truth, await readAllRows(rebuilt, orderHistory), await readAllRows(rebuilt, revenuePerDay))).toEqual([]);
  });
});
