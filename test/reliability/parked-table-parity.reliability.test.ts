import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDeadLetterStore } from '../../adapters/dynamodb/dead-letters.js';
import type { DeadLetterStore, ParkedRecord } from '../../src/projection/ports.js';
import { seededRandom } from '../../src/testing/random.js';
import { binaryRecord, parkedOf } from '../support/binary-records.js';
import { freshTables, localClient } from '../support/local-dynamodb.js';
import { MemoryDynamoDbClient, MemoryDynamoDbTable } from '../support/memory-dynamodb-table.js';
import { Fate } from './processes.js';

/**
 * The adversary parks through the real DynamoDB adapter over an in-memory table, for speed. Here the same
 * adapter runs over both that table and DynamoDB Local: what one keeps, refuses and gives back, so does the other.
 */
let client: DynamoDBClient;
let parkedTable: string;
beforeAll(async () => {
  client = localClient();
  parkedTable = (await freshTables(client)).parked;
});

/** Incompressible text from a seed: gzip keeps about three quarters of it. */
function noise(random: () => number, length: number): string {
  return Buffer.from(Array.from({ length }, () => Math.floor(random() * 256))).toString('base64').slice(0, length);
}

async function listAll(store: DeadLetterStore): Promise<ParkedRecord[]> {
  const listed: ParkedRecord[] = [];
  for await (const record of store.list()) listed.push(record);
  return listed;
}

describe('the in-memory parked table, beside DynamoDB Local', () => {
  it('keeps what the adapter parks (in parts when too large, bytes as bytes) and gives it back the same', async () => {
    const random = seededRandom(5);
    const huge = { ...binaryRecord(), note: { old: noise(random, 250_000), new: noise(random, 250_000) } };
    const records = [parkedOf(binaryRecord(), '1'), parkedOf(huge, '2'), parkedOf(binaryRecord(), '3', '{"id":{"S":"other"}}')];
    const memory = new MemoryDynamoDbTable('parked', { partition: 'pk', sort: 'sk' });
    const stores = [
      new DynamoDbDeadLetterStore({ client, table: parkedTable, consumer: 'parity' }),
      new DynamoDbDeadLetterStore({ client: new MemoryDynamoDbClient(memory, new Fate()).asClient(), table: 'parked', consumer: 'parity' }),
    ];
    const listed = [];
    for (const store of stores) {
      await store.park(records);
      listed.push(await listAll(store));
    }
    expect(listed[1]).toEqual(listed[0]);
    expect(listed[0]).toEqual(records);
    expect(memory.size).toBeGreaterThan(records.length); // the huge one in parts

    for (const store of stores) {
      await store.remove(records.slice(0, 2));
      listed.push(await listAll(store));
    }
    expect(listed[3]).toEqual(listed[2]);
    expect(listed[2]).toEqual([records[2]]);
    expect(memory.size).toBe(1); // its parts went with it
  });

  it('refuses an item over 400 KB as DynamoDB does', async () => {
    const item = { pk: { S: 'p' }, sk: { S: 's' }, data: { B: new Uint8Array(410 * 1024) } };
    const refusals = [];
    for (const send of [
      () => client.send(new PutItemCommand({ TableName: parkedTable, Item: item })),
      () => new MemoryDynamoDbClient(new MemoryDynamoDbTable('parked', { partition: 'pk', sort: 'sk' }), new Fate()).send(new PutItemCommand({ TableName: 'parked', Item: item })),
    ]) {
      refusals.push(await send().then(() => 'accepted', (error: Error) => error.name));
    }
    expect(refusals).toEqual(['ValidationException', 'ValidationException']);
  });
});
