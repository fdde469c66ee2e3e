import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  type AttributeValue,
  type BatchWriteItemCommandOutput,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';

type Item = Record<string, AttributeValue>;

/** DynamoDB's limits, as its documentation states them. */
export const DYNAMODB_ITEM_LIMIT_BYTES = 400 * 1024;
const BATCH_WRITE_MAX_REQUESTS = 25;
const BATCH_WRITE_MAX_BYTES = 16 * 1024 * 1024;
const PAGE_BYTES = 1024 * 1024;

/**
 * One DynamoDB table held in memory, with string partition and sort keys, for adapters whose failure paths a
 * test must drive faster than DynamoDB Local can: it refuses what DynamoDB refuses (an item over 400 KB, a
 * `BatchWriteItem` of more than 25 requests, over 16 MB or naming one key twice, an empty key) with a
 * `ValidationException`, and pages reads at 1 MB.
 */
export class MemoryDynamoDbTable {
  /** By partition key, then sort key. */
  private readonly items = new Map<string, Map<string, Item>>();
  /** Told of every item written, for a test to count what it cares about. */
  onPut: ((item: Item) => void) | undefined;

  constructor(
    readonly name: string,
    private readonly keys: { readonly partition: string; readonly sort: string },
  ) {}

  get size(): number {
    return [...this.items.values()].reduce((total, partition) => total + partition.size, 0);
  }

  keyOf(item: Item, what: string): string {
    const [partition, sort] = this.keyParts(item, what);
    return `${partition}\u0000${sort}`;
  }

  private keyParts(item: Item, what: string): [string, string] {
    const partition = item[this.keys.partition]?.S;
    const sort = item[this.keys.sort]?.S;
    if (partition === undefined || sort === undefined || partition === '' || sort === '') {
      throw validation(`One or more parameter values were invalid: ${what} is missing a key attribute or has an empty one`);
    }
    return [partition, sort];
  }

  put(item: Item): void {
    const bytes = itemBytes(item);
    if (bytes > DYNAMODB_ITEM_LIMIT_BYTES) throw validation(`Item size has exceeded the maximum allowed size (${bytes} bytes)`);
    const [partition, sort] = this.keyParts(item, 'the item');
    let sorted = this.items.get(partition);
    if (sorted === undefined) {
      sorted = new Map();
      this.items.set(partition, sorted);
    }
    sorted.set(sort, structuredClone(item));
    this.onPut?.(item);
  }

  delete(key: Item): void {
    const [partition, sort] = this.keyParts(key, 'the key');
    this.items.get(partition)?.delete(sort);
  }

  /**
   * Items in key order after `startKey` that match, from one page of at most 1 MB read; only the partition
   * named, when one is. Copies, as DynamoDB's answers are.
   */
  page(matching: (item: Item) => boolean, startKey: Item | undefined, partition?: string): { items: Item[]; lastKey: Item | undefined } {
    const after = startKey === undefined ? undefined : this.keyOf(startKey, 'ExclusiveStartKey');
    const from = partition === undefined ? [...this.items.values()].flatMap((sorted) => [...sorted.values()]) : [...(this.items.get(partition)?.values() ?? [])];
    const ordered = from.map((item) => [this.keyOf(item, 'the item'), item] as const).filter(([key]) => after === undefined || key > after);
    ordered.sort(([a], [b]) => (a < b ? -1 : 1));
    const items: Item[] = [];
    let read = 0;
    for (const [index, [, item]] of ordered.entries()) {
      if (read >= PAGE_BYTES) return { items, lastKey: this.keyAttributes(ordered[index - 1]?.[1] ?? item) };
      read += itemBytes(item);
      if (matching(item)) items.push({ ...item });
    }
    return { items, lastKey: undefined };
  }

  keyAttributes(item: Item): Item {
    return { [this.keys.partition]: item[this.keys.partition] as AttributeValue, [this.keys.sort]: item[this.keys.sort] as AttributeValue };
  }
}

/** What happens to the process that uses a client: it may die after a write lands. */
export interface ProcessFate {
  assertAlive(): void;
  /** Called after each write landed; throws if the process dies right there. */
  afterWrite(what: string): void;
}

export interface TableFaults {
  /** Chance that a request is throttled, and does nothing. */
  readonly throttle: number;
  /** Chance that each request of a `BatchWriteItem` is handed back unprocessed. */
  readonly unprocessed: number;
}

/**
 * A `DynamoDBClient` stand-in over a `MemoryDynamoDbTable`: the commands an adapter sends (`BatchWriteItem`,
 * `PutItem`, `DeleteItem`, `Query`, `Scan`), with the expressions it uses, throttled and partly unprocessed at
 * seeded random, in a process that may die after any write.
 */
export class MemoryDynamoDbClient {
  readonly injected = { throttle: 0, unprocessed: 0 };

  constructor(
    private readonly table: MemoryDynamoDbTable,
    private readonly fate: ProcessFate,
    private readonly random: () => number = Math.random,
    private readonly faults: TableFaults = { throttle: 0, unprocessed: 0 },
  ) {}

  /** For the adapter's constructor, which takes an SDK client and only ever calls `send`. */
  asClient(): DynamoDBClient {
    return this as unknown as DynamoDBClient;
  }

  async send(command: unknown): Promise<unknown> {
    this.fate.assertAlive();
    if (this.random() < this.faults.throttle) {
      this.injected.throttle += 1;
      throw Object.assign(new Error('injected: Throughput exceeds the current capacity of your table'), { name: 'ProvisionedThroughputExceededException' });
    }
    if (command instanceof BatchWriteItemCommand) return this.batchWrite(command.input.RequestItems ?? {});
    if (command instanceof PutItemCommand) {
      this.tableNamed(command.input.TableName).put(command.input.Item ?? {});
      this.fate.afterWrite('PutItem');
      return {};
    }
    if (command instanceof DeleteItemCommand) {
      this.tableNamed(command.input.TableName).delete(command.input.Key ?? {});
      this.fate.afterWrite('DeleteItem');
      return {};
    }
    if (command instanceof QueryCommand) return this.query(command);
    if (command instanceof ScanCommand) return this.scan(command);
    throw new Error(`MemoryDynamoDbClient does not know ${String((command as object).constructor.name)}`);
  }

  private tableNamed(name: string | undefined): MemoryDynamoDbTable {
    if (name !== this.table.name) throw Object.assign(new Error(`Requested resource not found: ${name}`), { name: 'ResourceNotFoundException' });
    return this.table;
  }

  private batchWrite(requestItems: Record<string, WriteRequest[]>): BatchWriteItemCommandOutput {
    const entries = Object.entries(requestItems);
    const requests = entries.flatMap(([, list]) => list);
    if (requests.length === 0 || requests.length > BATCH_WRITE_MAX_REQUESTS) {
      throw validation(`Too many items requested for the BatchWriteItem call (${requests.length})`);
    }
    let bytes = 0;
    for (const [name, list] of entries) {
      const table = this.tableNamed(name);
      const keys = new Set<string>();
      for (const request of list) {
        const item = request.PutRequest?.Item ?? request.DeleteRequest?.Key ?? {};
        const key = table.keyOf(item, 'a request');
        if (keys.has(key)) throw validation('Provided list of item keys contains duplicates');
        keys.add(key);
        const size = itemBytes(item);
        if (size > DYNAMODB_ITEM_LIMIT_BYTES) throw validation(`Item size has exceeded the maximum allowed size (${size} bytes)`);
        bytes += size;
      }
    }
    if (bytes > BATCH_WRITE_MAX_BYTES) throw validation('Too many bytes in the BatchWriteItem request');
    const unprocessed: Record<string, WriteRequest[]> = {};
    for (const [name, list] of entries) {
      const table = this.tableNamed(name);
      for (const request of list) {
        if (this.random() < this.faults.unprocessed) {
          this.injected.unprocessed += 1;
          (unprocessed[name] ??= []).push(request);
        } else if (request.PutRequest?.Item !== undefined) table.put(request.PutRequest.Item);
        else if (request.DeleteRequest?.Key !== undefined) table.delete(request.DeleteRequest.Key);
      }
    }
    this.fate.afterWrite('BatchWriteItem');
    return { UnprocessedItems: unprocessed, $metadata: {} };
  }

  private query(command: QueryCommand) {
    const { TableName, KeyConditionExpression, ExpressionAttributeNames: names = {}, ExpressionAttributeValues: values = {} } = command.input;
    const table = this.tableNamed(TableName);
    const match = /^(#\w+) = (:\w+)(?: AND begins_with\((#\w+), (:\w+)\))?$/.exec(KeyConditionExpression ?? '');
    if (match === null) throw new Error(`MemoryDynamoDbClient does not know the key condition ${KeyConditionExpression}`);
    const [, pkName, pkValue, skName, skPrefix] = match;
    const partition = names[pkName ?? ''] ?? '';
    const wanted = values[pkValue ?? '']?.S;
    const sortName = skName === undefined ? undefined : (names[skName] ?? '');
    const prefix = skPrefix === undefined ? undefined : (values[skPrefix]?.S ?? '');
    const { items, lastKey } = table.page(
      (item) => item[partition]?.S === wanted && (sortName === undefined || (item[sortName]?.S ?? '').startsWith(prefix ?? '')),
      command.input.ExclusiveStartKey,
      wanted,
    );
    return { Items: items.map((item) => projected(item, command.input.ProjectionExpression, names)), LastEvaluatedKey: lastKey, $metadata: {} };
  }

  private scan(command: ScanCommand) {
    const { TableName, FilterExpression, ExpressionAttributeNames: names = {}, ExpressionAttributeValues: values = {} } = command.input;
    const conditions = (FilterExpression ?? '').split(' AND ').filter((part) => part !== '').map((part) => {
      const match = /^(#\w+) = (:\w+)$/.exec(part);
      if (match === null) throw new Error(`MemoryDynamoDbClient does not know the filter ${FilterExpression}`);
      return { name: names[match[1] ?? ''] ?? '', value: values[match[2] ?? '']?.S };
    });
    const { items, lastKey } = this.tableNamed(TableName).page(
      (item) => conditions.every((condition) => item[condition.name]?.S === condition.value),
      command.input.ExclusiveStartKey,
    );
    return { Items: items, LastEvaluatedKey: lastKey, $metadata: {} };
  }
}

function projected(item: Item, expression: string | undefined, names: Record<string, string>): Item {
  if (expression === undefined) return item;
  const wanted = expression.split(',').map((name) => names[name.trim()] ?? name.trim());
  return Object.fromEntries(Object.entries(item).filter(([name]) => wanted.includes(name)));
}

function validation(message: string): Error {
  return Object.assign(new Error(message), { name: 'ValidationException' });
}

/** An item's size by DynamoDB's documented rules: attribute names plus values, numbers about a byte per two digits. */
export function itemBytes(item: Item): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += Buffer.byteLength(name) + valueBytes(value);
  return bytes;
}

function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/[^0-9]/g, '').length / 2) + 1;
  if (value.B !== undefined) return value.B.byteLength;
  if (value.SS !== undefined) return value.SS.reduce((total, text) => total + Buffer.byteLength(text), 0);
  if (value.NS !== undefined) return value.NS.reduce((total, text) => total + Math.ceil(text.length / 2) + 1, 0);
  if (value.BS !== undefined) return value.BS.reduce((total, bytes) => total + bytes.byteLength, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((total, element) => total + 1 + valueBytes(element), 0);
  if (value.M !== undefined) return 3 + Object.entries(value.M).reduce((total, [name, element]) => total + 1 + Buffer.byteLength(name) + valueBytes(element), 0);
  return 1;
}
