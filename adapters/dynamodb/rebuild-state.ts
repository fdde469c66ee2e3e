import {
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  type DynamoDBClient,
  type KeysAndAttributes,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { chunk } from '../../src/core/concurrency.js';
import { StreamfoldError } from '../../src/core/errors.js';
import { backoffDelay, DEFAULT_BACKOFF, sleep } from '../../src/core/retry.js';
import type { GenerationRegistry, RebuildState, RebuildStateStore, SegmentState } from '../../src/rebuild/ports.js';
import { fromWireJson, toWireJson } from '../../src/records/wire-json.js';
import { BATCH_GET_MAX_KEYS, BATCH_MAX_ATTEMPTS, batchWriteAll } from './batches.js';
import { ATTR, partitionKey, type SdkItem } from './layout.js';


/** The head of a rebuild's state as stored: everything but its shares, which are items of their own. */
type StoredHead = Omit<RebuildState, 'segments'> & { readonly segments?: readonly SegmentState[] };

/**
 * A rebuild's state in the checkpoint table: a head item (`_rebuild#<consumer>#<generation>|<source>`) and one
 * item per share (`...#share#<i>`), so that workers in parallel, in one process or in many Lambda invocations,
 * each write only their own share after every page. A head written before shares had items of their own (it
 * holds them inline) still loads.
 */
export class DynamoDbRebuildStateStore implements RebuildStateStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly consumer: string,
  ) {}

  async load(id: string): Promise<RebuildState | undefined> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.table, Key: this.key(id), ConsistentRead: true }));
    const text = Item?.state?.S;
    if (text === undefined) return undefined;
    const head = fromWireJson(text) as StoredHead;
    if (head.segments !== undefined) {
      // Saved whole in its head, before shares had items of their own: saved again in today's form, so that
      // workers each saving their own share item and the promotion read the same items.
      await this.save(id, head as RebuildState);
      return head as RebuildState;
    }
    const found = new Map<string, SegmentState>();
    for (const keys of chunk(Array.from({ length: head.totalSegments }, (_, index) => this.key(id, index)), BATCH_GET_MAX_KEYS)) {
      for (const item of await this.batchGet(keys)) found.set(item[ATTR.pk]?.S ?? '', fromWireJson(item.state?.S ?? 'null') as SegmentState);
    }
    const segments = Array.from({ length: head.totalSegments }, (_, index) => {
      const share = found.get(this.key(id, index)[ATTR.pk].S);
      if (share === undefined) throw new StreamfoldError('STORE_WRITE_FAILED', `rebuild state ${id} lacks share ${index}: run the rebuild with --restart`);
      return share;
    });
    return { ...head, segments };
  }

  /** Shares first, then the head: a head never names shares that were not written. */
  async save(id: string, state: RebuildState): Promise<void> {
    const writes = state.segments.map((share, index): WriteRequest => ({ PutRequest: { Item: { ...this.key(id, index), state: { S: toWireJson(share) } } } }));
    await batchWriteAll(this.client, this.table, writes);
    const { segments: _shares, ...head } = state;
    await this.client.send(new PutItemCommand({ TableName: this.table, Item: { ...this.key(id), state: { S: toWireJson(head) } } }));
  }

  async loadShare(id: string, index: number): Promise<SegmentState | undefined> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.table, Key: this.key(id, index), ConsistentRead: true }));
    if (Item?.state?.S !== undefined) return fromWireJson(Item.state.S) as SegmentState;
    // A state saved whole in its head, before shares had items of their own.
    return (await this.load(id))?.segments[index];
  }

  async saveShare(id: string, index: number, share: SegmentState): Promise<void> {
    await this.client.send(new PutItemCommand({ TableName: this.table, Item: { ...this.key(id, index), state: { S: toWireJson(share) } } }));
  }

  private async batchGet(keys: readonly SdkItem[]): Promise<SdkItem[]> {
    const found: SdkItem[] = [];
    let request: Record<string, KeysAndAttributes> = { [this.table]: { Keys: [...keys], ConsistentRead: true } };
    for (let attempt = 0; Object.keys(request).length > 0; attempt += 1) {
      if (attempt >= BATCH_MAX_ATTEMPTS) throw new Error(`BatchGetItem left keys unprocessed ${BATCH_MAX_ATTEMPTS} times`);
      if (attempt > 0) await sleep(backoffDelay(DEFAULT_BACKOFF, attempt));
      const response = await this.client.send(new BatchGetItemCommand({ RequestItems: request }));
      found.push(...(response.Responses?.[this.table] ?? []));
      request = response.UnprocessedKeys ?? {};
    }
    return found;
  }

  private key(id: string, share?: number): { [ATTR.pk]: { S: string } } {
    return { [ATTR.pk]: { S: partitionKey(`_rebuild#${this.consumer}`, share === undefined ? id : `${id}#share#${share}`) } };
  }
}

/**
 * Which version of each projection readers use: one item per projection in the read-model table
 * (`_generation#<name>`, sort key `current`). Without one, readers use the version their module declares.
 */
export class DynamoDbGenerationRegistry implements GenerationRegistry {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
  ) {}

  async current(name: string): Promise<number | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: this.key(name), ConsistentRead: true }),
    );
    const version = Item?.version?.N;
    return version === undefined ? undefined : Number(version);
  }

  /** Conditional on the stored version, so that two rebuilds finishing at once leave the newer one current. */
  async promote(name: string, version: number): Promise<number> {
    const promoted = await this.putIf(this.versionItem(name, version), 'attribute_not_exists(#pk) OR #version <= :version', {
      names: { '#version': 'version' },
      values: { ':version': { N: String(version) } },
    });
    return promoted ? version : ((await this.current(name)) ?? version);
  }

  async adopt(name: string, version: number): Promise<void> {
    await this.putIf(this.versionItem(name, version), 'attribute_not_exists(#pk)');
  }

  /** `_generation#<name>`, sort key `live#v<version>`: written once, by the first consumer of that version to run. */
  async markLive(name: string, version: number, at: number): Promise<void> {
    await this.putIf({ ...this.key(name, `live#v${version}`), since: { N: String(at) } }, 'attribute_not_exists(#pk)');
  }

  async liveSince(name: string, version: number): Promise<number | undefined> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.table, Key: this.key(name, `live#v${version}`), ConsistentRead: true }));
    return Item?.since?.N === undefined ? undefined : Number(Item.since.N);
  }

  private versionItem(name: string, version: number): SdkItem {
    return { ...this.key(name), version: { N: String(version) }, promotedAt: { S: new Date().toISOString() } };
  }

  /** Puts the item if the condition holds (`#pk` is the partition key); answers whether it did. */
  private async putIf(
    item: SdkItem,
    condition: string,
    extra: { readonly names?: Record<string, string>; readonly values?: SdkItem } = {},
  ): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#pk': ATTR.pk, ...extra.names },
          ...(extra.values === undefined ? {} : { ExpressionAttributeValues: extra.values }),
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return false;
    }
  }

  private key(name: string, sort = 'current') {
    return { [ATTR.pk]: { S: `_generation#${name}` }, [ATTR.sk]: { S: sort } };
  }
}
