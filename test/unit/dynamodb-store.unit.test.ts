import {
  BatchGetItemCommand,
  DynamoDBClient,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoDbReadModelStore, TRANSACT_MAX_ITEMS } from '../../adapters/dynamodb/store.js';
import type { KeyWrite } from '../../src/projection/ports.js';
import { Decimal } from '../../src/records/decimal.js';
import { itemKeyFromKeys } from '../../src/records/item-key.js';

const dynamo = mockClient(DynamoDBClient);
afterEach(() => dynamo.reset());

function store(overrides: Partial<ConstructorParameters<typeof DynamoDbReadModelStore>[0]> = {}) {
  return new DynamoDbReadModelStore({
    client: new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    consumer: 'test',
    sleep: async () => {},
    concurrency: 1,
    ...overrides,
  });
}

function keyWrite(orderId: string, group: string, amount = '1', shards = 1): KeyWrite {
  const key = itemKeyFromKeys({ orderId: { S: orderId } }, 'Keys');
  return {
    key,
    expectedRevision: undefined,
    checkpoint: { revision: 1, entries: new Map([['customer-totals#v1', { sequence: '1', contribution: new Map() }]]) },
    views: [],
    parked: [],
    sums: [{ generation: 'customer-totals#v1', group, shards, amounts: new Map([['amount', Decimal.parse(amount)]]) }],
  };
}

function sentTransactions(): TransactWriteItemsCommandInput[] {
  return dynamo.commandCalls(TransactWriteItemsCommand).map((call) => call.args[0].input);
}

function itemIdentity(item: NonNullable<TransactWriteItemsCommandInput['TransactItems']>[number]): string {
  const operation = item.Put ?? item.Update ?? item.Delete ?? item.ConditionCheck;
  const key = item.Put?.Item ?? item.Update?.Key ?? item.Delete?.Key ?? {};
  return `${operation?.TableName}|${key.pk?.S}|${key.sk?.S ?? ''}`;
}

function canceled(codes: string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

describe('DynamoDbReadModelStore.commit', () => {
  it('packs keys into transactions of at most 100 distinct items, never one item twice', async () => {
    dynamo.on(TransactWriteItemsCommand).resolves({});
    const writes = Array.from({ length: 150 }, (_, index) => keyWrite(`o-${index}`, `c-${index}`));
    const outcomes = await store().commit(writes);
    expect(outcomes.every((outcome) => outcome.status === 'committed')).toBe(true);
    const transactions = sentTransactions();
    expect(transactions).toHaveLength(3); // 300 items: 150 checkpoints and 150 group rows
    for (const transaction of transactions) {
      const identities = (transaction.TransactItems ?? []).map(itemIdentity);
      expect(identities.length).toBeLessThanOrEqual(TRANSACT_MAX_ITEMS);
      expect(new Set(identities).size).toBe(identities.length);
    }
  });

  it('merges the deltas of one group into one ADD per transaction', async () => {
    dynamo.on(TransactWriteItemsCommand).resolves({});
    const writes = Array.from({ length: 150 }, (_, index) => keyWrite(`o-${index}`, 'hot', String(index + 1)));
    await store().commit(writes);
    const transactions = sentTransactions();
    expect(transactions).toHaveLength(2); // 99 checkpoints + 1 group row, then 51 + 1
    let total = 0n;
    for (const transaction of transactions) {
      const updates = (transaction.TransactItems ?? []).filter((item) => item.Update !== undefined);
      expect(updates).toHaveLength(1);
      expect(updates[0]?.Update?.UpdateExpression).toMatch(/ADD #f0 :a0/);
      total += BigInt(updates[0]?.Update?.ExpressionAttributeValues?.[':a0']?.N ?? '0');
    }
    expect(total).toBe(BigInt((150 * 151) / 2));
  });

  it('spreads a sharded group over its sub-rows', async () => {
    dynamo.on(TransactWriteItemsCommand).resolves({});
    let roll = 0;
    const shardedStore = store({ random: () => [0.1, 0.3, 0.6, 0.9][roll++ % 4] ?? 0 });
    for (let index = 0; index < 4; index += 1) await shardedStore.commit([keyWrite(`o-${index}`, 'hot', '1', 4)]);
    const sortKeys = sentTransactions().map(
      (transaction) => transaction.TransactItems?.find((item) => item.Update)?.Update?.Key?.sk?.S,
    );
    expect(sortKeys).toEqual(['shard#0', 'shard#1', 'shard#2', 'shard#3']);
  });

  it('retries a throttled transaction with the same request token, then reports success', async () => {
    dynamo
      .on(TransactWriteItemsCommand)
      .rejectsOnce(canceled(['ThrottlingError', 'None']))
      .rejectsOnce(canceled(['TransactionConflict', 'None']))
      .resolves({});
    const outcomes = await store().commit([keyWrite('o-1', 'c-1')]);
    expect(outcomes).toEqual([{ status: 'committed' }]);
    const tokens = sentTransactions().map((transaction) => transaction.ClientRequestToken);
    expect(tokens).toHaveLength(3);
    expect(new Set(tokens).size).toBe(1);
  });

  it('hands throttled keys back for a later retry when the attempts run out', async () => {
    dynamo.on(TransactWriteItemsCommand).rejects(canceled(['ThrottlingError', 'None']));
    const outcomes = await store({ maxAttempts: 3 }).commit([keyWrite('o-1', 'c-1')]);
    expect(outcomes[0]?.status).toBe('retry');
    expect(sentTransactions()).toHaveLength(3);
  });

  it('marks only the key whose checkpoint moved as a conflict, and writes the others', async () => {
    const writes = [keyWrite('o-1', 'c-1'), keyWrite('o-2', 'c-2'), keyWrite('o-3', 'c-3')];
    let calls = 0;
    dynamo.on(TransactWriteItemsCommand).callsFake((input: TransactWriteItemsCommandInput) => {
      calls += 1;
      if (calls > 1) return {};
      const codes = (input.TransactItems ?? []).map((item) =>
        item.Put?.Item?.pk?.S === 'test#{"orderId":{"S":"o-2"}}' ? 'ConditionalCheckFailed' : 'None',
      );
      throw canceled(codes);
    });
    const outcomes = await store().commit(writes);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['committed', 'conflict', 'committed']);
    const retried = sentTransactions()[1]?.TransactItems?.map(itemIdentity) ?? [];
    expect(retried.some((identity) => identity.includes('o-2'))).toBe(false);
  });

  it('isolates a key DynamoDB rejects as invalid, so the others still land', async () => {
    dynamo.on(TransactWriteItemsCommand).callsFake((input: TransactWriteItemsCommandInput) => {
      const items = input.TransactItems ?? [];
      if (items.some((item) => item.Put?.Item?.pk?.S?.includes('o-bad'))) {
        throw canceled(items.map((item) => (item.Put?.Item?.pk?.S?.includes('o-bad') ? 'ValidationError' : 'None')));
      }
      return {};
    });
    const writes = ['o-1', 'o-2', 'o-bad', 'o-4', 'o-5'].map((id, index) => keyWrite(id, `c-${index}`));
    const outcomes = await store().commit(writes);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['committed', 'committed', 'refused', 'committed', 'committed']);
  });

  it('treats a network fault as unknown: the keys are planned again from a fresh read', async () => {
    dynamo.on(TransactWriteItemsCommand).rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));
    const outcomes = await store().commit([keyWrite('o-1', 'c-1')]);
    expect(outcomes[0]?.status).toBe('retry');
  });
});

describe('DynamoDbReadModelStore.load', () => {
  it('reads checkpoints consistently, 100 keys a call, and retries unprocessed keys', async () => {
    const keys = Array.from({ length: 130 }, (_, index) => itemKeyFromKeys({ orderId: { S: `o-${index}` } }, 'Keys'));
    let first = true;
    const checkpointOf = (key: unknown) => ({
      ...(key as object),
      rev: { N: '3' },
      p: { M: { 'customer-totals#v1': { M: { s: { S: '0'.repeat(39) + '9' } } } } },
    });
    dynamo.on(BatchGetItemCommand).callsFake((input) => {
      const request = input.RequestItems as Record<string, { Keys: unknown[]; ConsistentRead: boolean }>;
      const table = request['streamfold-checkpoints'];
      const wanted = table?.Keys ?? [];
      expect(table?.ConsistentRead).toBe(true);
      expect(wanted.length).toBeLessThanOrEqual(100);
      if (first) {
        first = false;
        return {
          Responses: { 'streamfold-checkpoints': wanted.slice(5).map(checkpointOf) },
          UnprocessedKeys: { 'streamfold-checkpoints': { Keys: wanted.slice(0, 5), ConsistentRead: true } },
        };
      }
      return { Responses: { 'streamfold-checkpoints': wanted.map(checkpointOf) } };
    });
    const loaded = await store().load(keys, []);
    expect(loaded.checkpoints.size).toBe(130);
    expect(loaded.checkpoints.get(keys[0]?.id ?? '')?.revision).toBe(3);
    expect(dynamo.commandCalls(BatchGetItemCommand)).toHaveLength(3);
  });
});
