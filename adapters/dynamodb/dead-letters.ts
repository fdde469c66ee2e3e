import {
  DeleteItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { errorMessage, StreamfoldError } from '../../src/core/errors.js';
import type { DeadLetterStore, ParkedRecord } from '../../src/projection/ports.js';
import { sleep as defaultSleep, type Sleep } from '../../src/core/retry.js';
import { lastOfEach, parkedByCoordinates } from '../parked-coordinates.js';
import { batchWriteAll } from './batches.js';
import { ATTR, type SdkItem } from './layout.js';
import { pages } from './pages.js';
import { ParkedItemLayout, type EncodedParkedRecord } from './parked-items.js';
import type { DynamoDbUsage } from './usage.js';


export interface DynamoDbDeadLetterOptions {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly consumer: string;
  readonly sleep?: Sleep;
  readonly usage?: DynamoDbUsage;
}

type Page = { Items?: SdkItem[]; LastEvaluatedKey?: Record<string, AttributeValue> };

/**
 * Parked records in a DynamoDB table, one item per (projection, source item, sequence), so parking the same
 * record again overwrites it; a record too large for one item even gzipped is kept in parts beside it
 * (see parked-items.ts). Parking does not depend on the batch's largest or oddest record: duplicates are
 * written once, and when DynamoDB refuses a BatchWriteItem as invalid the records are written one by one,
 * a record refused even alone being kept by its coordinates. What still fails (throttled past the retries,
 * the network) is a `PARKING_FAILED` error naming this table.
 */
export class DynamoDbDeadLetterStore implements DeadLetterStore {
  private readonly sleep: Sleep;
  private readonly layout: ParkedItemLayout;

  constructor(private readonly options: DynamoDbDeadLetterOptions) {
    this.sleep = options.sleep ?? defaultSleep;
    this.layout = new ParkedItemLayout(options.consumer);
  }

  async park(records: readonly ParkedRecord[]): Promise<void> {
    const encoded = lastOfEach(records, (record) => this.layout.keyText(record)).map((record) => this.layout.encode(record));
    try {
      // Parts first: a main item is only ever written once its parts are.
      await this.batchWrite(encoded.flatMap((entry) => entry.parts).map((item) => ({ PutRequest: { Item: item } })));
      await this.batchWrite(encoded.map((entry) => ({ PutRequest: { Item: entry.main } })));
    } catch (error) {
      if (!isInvalid(error)) throw this.failed(error);
      await this.parkOneByOne(encoded);
    }
  }

  async remove(records: readonly ParkedRecord[]): Promise<void> {
    const distinct = lastOfEach(records, (record) => this.layout.keyText(record));
    try {
      // Main items first: parts left by a crash in between are never listed, and parking again overwrites them.
      await this.batchWrite(distinct.map((record) => ({ DeleteRequest: { Key: this.layout.keyOf(record) } })));
      const parts: SdkItem[] = [];
      for (const record of distinct.filter((candidate) => this.layout.mayHaveParts(candidate))) {
        parts.push(...(await this.partsOf(this.layout.keyOf(record), true)));
      }
      await this.batchWrite(parts.map((part) => ({ DeleteRequest: { Key: { [ATTR.pk]: part[ATTR.pk]!, [ATTR.sk]: part[ATTR.sk]! } } })));
    } catch (error) {
      throw this.failed(error, 'removing parked records');
    }
  }

  async *list(filter: { generation?: string; key?: string } = {}): AsyncIterable<ParkedRecord> {
    for await (const items of pages((startKey: Record<string, AttributeValue> | undefined) => this.page(filter, startKey))) {
      const records: ParkedRecord[] = [];
      for (const item of items.filter((candidate) => this.layout.isMain(candidate))) {
        const parts = this.layout.partCount(item) > 0 ? await this.partsOf(item, false) : [];
        records.push(this.layout.decode(item, parts));
      }
      records.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      yield* records.filter((record) => filter.key === undefined || record.key === filter.key);
    }
  }

  /** A main item's part items (only their keys when `keysOnly`). */
  private async partsOf(main: SdkItem, keysOnly: boolean): Promise<SdkItem[]> {
    const parts: SdkItem[] = [];
    const query = (startKey: Record<string, AttributeValue> | undefined): Promise<Page> => {
      this.options.usage?.request('Query');
      return this.options.client.send(
        new QueryCommand({
          TableName: this.options.table,
          KeyConditionExpression: '#pk = :pk AND begins_with(#sk, :part)',
          ExpressionAttributeNames: { '#pk': ATTR.pk, '#sk': ATTR.sk },
          ExpressionAttributeValues: { ':pk': main[ATTR.pk]!, ':part': { S: this.layout.partPrefix(main) } },
          ProjectionExpression: keysOnly ? '#pk, #sk' : undefined,
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
    };
    for await (const items of pages(query)) parts.push(...items);
    return parts;
  }

  /** One item's parked records come from one Query; anything wider is a Scan of this consumer's records. */
  private async page(filter: { generation?: string; key?: string }, startKey: Record<string, AttributeValue> | undefined): Promise<Page> {
    if (filter.generation !== undefined && filter.key !== undefined) {
      this.options.usage?.request('Query');
      return this.options.client.send(
        new QueryCommand({
          TableName: this.options.table,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': ATTR.pk },
          ExpressionAttributeValues: { ':pk': { S: this.layout.partition(filter.generation, filter.key) } },
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
        }),
      );
    }
    // Part items carry no consumer, so the filter leaves them out.
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

  /**
   * After DynamoDB refused a batch as invalid: each record on its own, so one bad item cannot take the others
   * down. A record refused even alone is kept by its coordinates, its error saying why.
   */
  private async parkOneByOne(encoded: readonly EncodedParkedRecord[]): Promise<void> {
    const failures: { record: ParkedRecord; error: unknown }[] = [];
    for (const entry of encoded) {
      try {
        for (const item of [...entry.parts, entry.main]) await this.put(item);
      } catch (error) {
        try {
          if (!isInvalid(error)) throw error;
          await this.put(this.layout.coordinates(parkedByCoordinates(entry.record, `DynamoDB refused it: ${errorMessage(error)}`)));
        } catch (again) {
          failures.push({ record: entry.record, error: again });
        }
      }
    }
    const [first] = failures;
    if (first !== undefined) {
      throw this.failed(first.error, `parking ${failures.length} of ${encoded.length} records`, first.record);
    }
  }

  private async put(item: SdkItem): Promise<void> {
    this.options.usage?.request('PutItem');
    await this.options.client.send(new PutItemCommand({ TableName: this.options.table, Item: item }));
  }

  private async batchWrite(requests: WriteRequest[]): Promise<void> {
    await batchWriteAll(this.options.client, this.options.table, requests, { sleep: this.sleep, onRequest: () => this.options.usage?.request('BatchWriteItem') });
  }

  private failed(error: unknown, doing = 'parking', record?: ParkedRecord): StreamfoldError {
    if (error instanceof StreamfoldError && error.code === 'PARKING_FAILED') return error;
    return new StreamfoldError('PARKING_FAILED', `${doing} in the parked table ${this.options.table} failed: ${errorMessage(error)}`, {
      cause: error,
      retryable: !isInvalid(error),
      projection: record?.projection,
      key: record?.key,
      sequence: record?.sequence,
      eventID: record?.eventID,
    });
  }
}

/** DynamoDB refused the request itself (too large, duplicate keys, a bad value): sending it again cannot help. */
function isInvalid(error: unknown): boolean {
  return error instanceof Error && error.name === 'ValidationException';
}
