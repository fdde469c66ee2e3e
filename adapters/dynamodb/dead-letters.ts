import { gunzipSync, gzipSync } from 'node:zlib';
import {
  BatchWriteItemCommand,
  QueryCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { chunk } from '../../src/concurrency.js';
import { StreamfoldError } from '../../src/errors.js';
import type { DeadLetterStore, ParkedRecord } from '../../src/projection/ports.js';
import { padSequence } from '../../src/records/sequence.js';
import { backoffDelay, DEFAULT_BACKOFF, sleep as defaultSleep, type Sleep } from '../../src/retry.js';
import { ATTR, partitionKey, type SdkItem } from './layout.js';
import { pages } from './pages.js';
import type { DynamoDbUsage } from './usage.js';

export const BATCH_WRITE_MAX_ITEMS = 25;
const MAX_ATTEMPTS = 8;

export interface DynamoDbDeadLetterOptions {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly consumer: string;
  readonly sleep?: Sleep;
  readonly usage?: DynamoDbUsage;
}

/**
 * Parked records in a DynamoDB table, one item per (projection, source item, sequence), so parking the same
 * record again overwrites it. The record itself is kept gzipped: a stream record carries up to two 400 KB
 * images, and the item limit is 400 KB.
 */
export class DynamoDbDeadLetterStore implements DeadLetterStore {
  private readonly sleep: Sleep;

  constructor(private readonly options: DynamoDbDeadLetterOptions) {
    this.sleep = options.sleep ?? defaultSleep;
  }

  async park(records: readonly ParkedRecord[]): Promise<void> {
    await this.batchWrite(records.map((record) => ({ PutRequest: { Item: this.encode(record) } })));
  }

  async remove(records: readonly ParkedRecord[]): Promise<void> {
    await this.batchWrite(records.map((record) => ({ DeleteRequest: { Key: this.keyOf(record) } })));
  }

  async *list(filter: { generation?: string; key?: string } = {}): AsyncIterable<ParkedRecord> {
    for await (const items of pages((startKey: Record<string, AttributeValue> | undefined) => this.page(filter, startKey))) {
      const records = items.map((item) => this.decode(item));
      records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      yield* records.filter((record) => filter.key === undefined || record.key === filter.key);
    }
  }

  /** One item's parked records come from one Query; anything wider is a Scan of this consumer's records. */
  private async page(
    filter: { generation?: string; key?: string },
    startKey: Record<string, AttributeValue> | undefined,
  ): Promise<{ Items?: SdkItem[]; LastEvaluatedKey?: Record<string, AttributeValue> }> {
    if (filter.generation !== undefined && filter.key !== undefined) {
      this.options.usage?.request('Query');
      return this.options.client.send(
        new QueryCommand({
          TableName: this.options.table,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': ATTR.pk },
          ExpressionAttributeValues: { ':pk': { S: this.partition(filter.generation, filter.key) } },
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
    }
    const names: Record<string, string> = { '#c': 'consumer' };
    const values: Record<string, AttributeValue> = { ':c': { S: this.options.consumer } };
    if (filter.generation !== undefined) {
      names['#g'] = 'generation';
      values[':g'] = { S: filter.generation };
    }
    this.options.usage?.request('Scan');
    return this.options.client.send(
      new ScanCommand({
        TableName: this.options.table,
        FilterExpression: filter.generation === undefined ? '#c = :c' : '#c = :c AND #g = :g',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ExclusiveStartKey: startKey,
        ConsistentRead: true,
      }),
    );
  }

  private async batchWrite(requests: WriteRequest[]): Promise<void> {
    for (const part of chunk(requests, BATCH_WRITE_MAX_ITEMS)) {
      let pending: WriteRequest[] = part;
      for (let attempt = 0; pending.length > 0; attempt += 1) {
        if (attempt >= MAX_ATTEMPTS) {
          throw new StreamfoldError('STORE_WRITE_FAILED', 'BatchWriteItem kept returning unprocessed parked records', {
            retryable: true,
          });
        }
        if (attempt > 0) await this.sleep(backoffDelay(DEFAULT_BACKOFF, attempt - 1));
        this.options.usage?.request('BatchWriteItem');
        const response = await this.options.client.send(
          new BatchWriteItemCommand({ RequestItems: { [this.options.table]: pending } }),
        );
        pending = response.UnprocessedItems?.[this.options.table] ?? [];
      }
    }
  }

  private partition(generation: string, key: string): string {
    return partitionKey(`${this.options.consumer}#${generation}`, key);
  }

  private keyOf(record: ParkedRecord): SdkItem {
    return {
      [ATTR.pk]: { S: this.partition(record.generation, record.key) },
      [ATTR.sk]: { S: padSequence(record.sequence || '0') },
    };
  }

  private encode(record: ParkedRecord): SdkItem {
    const item: SdkItem = {
      ...this.keyOf(record),
      consumer: { S: this.options.consumer },
      id: { S: record.id },
      generation: { S: record.generation },
      projection: { S: record.projection },
      key: { S: record.key },
      sequence: { S: record.sequence },
      reason: { S: record.reason },
      error: { S: JSON.stringify(record.error) },
      record: { B: gzipSync(JSON.stringify(record.record)) },
      parkedAt: { S: record.parkedAt },
    };
    if (record.eventID !== undefined) item.eventID = { S: record.eventID };
    return item;
  }

  private decode(item: SdkItem): ParkedRecord {
    const bytes = item.record?.B;
    return {
      id: item.id?.S ?? '',
      generation: item.generation?.S ?? '',
      projection: item.projection?.S ?? '',
      key: item.key?.S ?? '',
      sequence: item.sequence?.S ?? '',
      eventID: item.eventID?.S,
      reason: item.reason?.S === 'waiting' ? 'waiting' : 'failed',
      error: JSON.parse(item.error?.S ?? '{}') as ParkedRecord['error'],
      record: bytes === undefined ? undefined : (JSON.parse(gunzipSync(bytes).toString('utf8')) as unknown),
      parkedAt: item.parkedAt?.S ?? '',
    };
  }
}
