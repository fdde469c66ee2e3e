import { randomBytes } from 'node:crypto';
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDeadLetterStore } from '../../adapters/dynamodb/dead-letters.js';
import type { TableNames } from '../../adapters/dynamodb/layout.js';
import type { ParkedRecord } from '../../src/projection/ports.js';
import { binaryRecord, parkedOf } from '../support/binary-records.js';
import { itemKeyFromAttributes } from '../../src/records/item-key.js';
import { runCli } from '../support/cli.js';
import { freshTables, localClient, localEndpoint, localHandler } from '../support/local-dynamodb.js';
import eventSourced from '../../projections/event-sourced/index.js';
import { orderRecord, streamRecord, wire, type TestOrder } from '../support/records.js';

let client: DynamoDBClient;

beforeAll(() => {
  client = localClient();
});

async function listAll(store: DynamoDbDeadLetterStore, filter: { generation?: string; key?: string } = {}): Promise<ParkedRecord[]> {
  const listed: ParkedRecord[] = [];
  for await (const record of store.list(filter)) listed.push(record);
  return listed;
}

/** Every item of a table, counted over all its scan pages. */
async function itemsIn(table: string): Promise<number> {
  let count = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true, Select: 'COUNT', ExclusiveStartKey: startKey }));
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return count;
}

/** Incompressible text: random bytes in base64 (gzip brings it down to about three quarters, no more). */
const noise = (bytes: number): string => randomBytes(Math.ceil((bytes * 3) / 4)).toString('base64').slice(0, bytes);

/** An order whose amount is formatted text: the example projections' schema refuses it. */
function badOrder(sequence: string, orderId: string) {
  return orderRecord(sequence, { orderId, customerId: 'c-1', status: 'PLACED', amount: '1,250' as unknown as number });
}

describe('parked records on DynamoDB Local come back byte for byte', () => {
  it('keeps B, BS and a binary inside a map exactly, as a scan would hand them to a rebuild', async () => {
    const tables = await freshTables(client);
    const store = new DynamoDbDeadLetterStore({ client, table: tables.parked, consumer: 'default' });
    const record = binaryRecord();
    const parked = parkedOf(record);
    await store.park([parked]);
    const [listed] = await listAll(store);
    expect(listed?.record).toEqual(record);
    const image = (listed?.record as typeof record).dynamodb.NewImage;
    expect(image.blob.B).toBeInstanceOf(Uint8Array);
    expect([...image.blob.B]).toEqual([4, 5, 0, 255]);
    expect(image.set.BS.map((element) => [...element])).toEqual([[9], []]);
    expect([...image.nested.M.inner.B]).toEqual([7, 7]);
  });
});

describe('parking never fails a batch, on DynamoDB Local', () => {
  let tables: TableNames;
  beforeAll(async () => {
    tables = await freshTables(client);
  });

  it('parks a record too large to park whole in parts, beside the batch\'s other poison records', async () => {
    // A change whose images are both near DynamoDB's 400 KB item limit: over it even gzipped.
    const big = orderRecord(
      '100000000000000000010',
      { orderId: 'o-big', customerId: 'c-1', status: 'PLACED', amount: '1,250' as unknown as number, note: noise(390_000) } as TestOrder,
      { orderId: 'o-big', customerId: 'c-1', status: 'NEW', amount: 1, note: noise(390_000) } as TestOrder,
    );
    const others = [badOrder('100000000000000000011', 'o-small-1'), badOrder('100000000000000000012', 'o-small-2')];
    const good = orderRecord('100000000000000000013', { orderId: 'o-good', customerId: 'c-1', status: 'PLACED', amount: 5 });
    const handler = localHandler(client, tables);

    const report = await handler.invoke({ Records: [others[0], big, good, others[1]] });

    expect(report.batchItemFailures).toEqual([]);
    expect(report.stats.applied).toBe(1); // the good record
    const store = new DynamoDbDeadLetterStore({ client, table: tables.parked, consumer: 'default' });
    const listed = await listAll(store);
    // Three poison records, each parked for the three example projections.
    expect(listed).toHaveLength(9);
    const bigOnes = listed.filter((record) => record.eventID === big.eventID);
    expect(bigOnes).toHaveLength(3);
    for (const record of bigOnes) {
      expect(record.record).toEqual(big);
      expect(record.error).toMatchObject({ code: 'SCHEMA_MISMATCH', field: 'dynamodb.NewImage.amount' });
    }
    for (const record of listed.filter((entry) => entry.eventID !== big.eventID)) {
      expect(record.record).toEqual(others.find((other) => other.eventID === record.eventID));
    }
    // Listing one item's records reassembles them too.
    const [one] = await listAll(store, { generation: 'order-view#v1', key: '{"orderId":{"S":"o-big"}}' });
    expect(one?.record).toEqual(big);

    // The big record's three copies went into parts: more items than records.
    expect(await itemsIn(tables.parked)).toBeGreaterThan(9);
    // After the fix, a redrive applies them all and removes them, parts included.
    const connection = ['--endpoint', localEndpoint(), '--read-model-table', tables.readModels, '--checkpoint-table', tables.checkpoints, '--parked-table', tables.parked];
    const redriven = await runCli(['parked', 'redrive', '--projections', 'test/fixtures/fixed-projections.ts', ...connection]);
    expect(redriven.stdout).toMatch(/applied\s+9/);
    expect(redriven.code).toBe(0);
    expect(await listAll(store)).toEqual([]);
    expect(await itemsIn(tables.parked)).toBe(0);
    const view = await handler.store.readView('order-view#v1', itemKeyFromAttributes({ orderId: 'o-big' }));
    expect(view).toMatchObject({ customerId: 'c-1', status: 'PLACED', amount: 1250 });
  });

  it('parks a changed event item delivered twice in one batch once, and the invocation answers', async () => {
    const placed = { type: 'OrderPlaced', payload: { customerId: 'c-1', placedAt: '2026-01-01' } };
    const changed = streamRecord({
      eventName: 'MODIFY',
      table: 'OrderEvents',
      keys: { streamId: { S: 'order-1' }, version: { N: '1' } },
      sequence: '100000000000000000020',
      oldImage: wire({ streamId: 'order-1', version: 1, ...placed }),
      newImage: wire({ streamId: 'order-1', version: 1, ...placed, type: 'OrderPaid' }),
    });
    const handler = localHandler(client, await freshTables(client), eventSourced);
    const report = await handler.invoke({ Records: [changed, changed] });
    expect(report.batchItemFailures).toEqual([]);
    const store = new DynamoDbDeadLetterStore({ client, table: handler.store.tables.parked, consumer: 'default' });
    const listed = await listAll(store);
    expect(listed.map((record) => record.projection).sort()).toEqual(['order-history', 'revenue-per-day']);
    for (const record of listed) expect(record.record).toEqual(changed);
  });

  it('parks an unreadable record delivered twice in one batch once', async () => {
    const unreadable = streamRecord({ eventName: 'INSERT', keys: {}, sequence: '100000000000000000030', newImage: { orderId: { S: 'x' } } });
    const handler = localHandler(client, await freshTables(client));
    const report = await handler.invoke({ Records: [unreadable, unreadable] });
    expect(report.batchItemFailures).toEqual([]);
    const store = new DynamoDbDeadLetterStore({ client, table: handler.store.tables.parked, consumer: 'default' });
    expect(await listAll(store)).toHaveLength(1);
  });
});
