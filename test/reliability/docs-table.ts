import { DeleteItemCommand, PutItemCommand, ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbStreamSource } from '../../adapters/dynamodb/stream-source.js';
import { readStream } from '../../src/local/shard-poller.js';
import { createStreamedTable } from '../support/keyed-table.js';
import { localStreams } from '../support/local-dynamodb.js';
import type { Doc, DocEvent, DocKey, DocOperation } from './docs-workload.js';

/** A doc as DynamoDB attribute values, written by hand (no streamfold encoder involved). */
export function docItem(doc: Doc): Record<string, AttributeValue> {
  return {
    ...docKeyItem(doc),
    stage: { S: doc.stage },
    group: { S: doc.group },
    amount: { N: doc.amount },
    rev: { N: String(doc.rev) },
    note: { S: doc.note },
    copies: { N: String(doc.copies) },
    blob: { B: doc.blob },
    tags: { BS: [...doc.tags] },
    meta: { M: { raw: { B: doc.meta.raw }, list: { L: [{ B: doc.meta.list[0] }, { S: doc.meta.list[1] }] } } },
  };
}

function docKeyItem(key: DocKey): Record<string, AttributeValue> {
  return { id: { B: key.id }, slot: { N: String(key.slot) } };
}

/** An event as DynamoDB attribute values. */
export function eventItem(event: DocEvent): Record<string, AttributeValue> {
  return {
    stream: { S: event.stream },
    version: { N: String(event.version) },
    type: { S: event.type },
    payload: { M: { blob: { B: event.payload.blob }, n: { N: String(event.payload.n) }, parts: { BS: [...event.payload.parts] } } },
  };
}

/**
 * Creates a `Docs` table (binary partition key, number sort key) with a stream on DynamoDB Local, applies the
 * operations, and reads back the stream's records (Lambda's JSON shape, binaries in base64) and a scan of the
 * final table (the SDK's shape, binaries as bytes, as a rebuild's scanner hands them over).
 */
export async function docsWithRecords(client: DynamoDBClient, operations: readonly DocOperation[]) {
  return tableWithRecords(client, 'Docs', ['id', 'B'], ['slot', 'N'], async (table) => {
    for (const operation of operations) {
      if (operation.type === 'put') await client.send(new PutItemCommand({ TableName: table, Item: docItem(operation.doc) }));
      else await client.send(new DeleteItemCommand({ TableName: table, Key: docKeyItem(operation.key) }));
    }
  });
}

/** The same for a `DocEvents` log (stream id and version), its events written in the order given. */
export async function docEventsWithRecords(client: DynamoDBClient, events: readonly DocEvent[]) {
  return tableWithRecords(client, 'DocEvents', ['stream', 'S'], ['version', 'N'], async (table) => {
    for (const event of events) await client.send(new PutItemCommand({ TableName: table, Item: eventItem(event) }));
  });
}

async function tableWithRecords(
  client: DynamoDBClient,
  prefix: string,
  hash: [string, 'S' | 'B'],
  range: [string, 'N'],
  write: (table: string) => Promise<void>,
) {
  const { name: table, streamArn } = await createStreamedTable(client, prefix, hash, range);
  await write(table);
  const records: Record<string, unknown>[] = [];
  for await (const shard of readStream(new DynamoDbStreamSource(localStreams()), streamArn)) records.push(...(shard.records as Record<string, unknown>[]));
  const finalItems: Record<string, AttributeValue>[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: startKey }));
    finalItems.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return { records, finalItems };
}
