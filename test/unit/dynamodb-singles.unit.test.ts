import {
  BatchExecuteStatementCommand,
  DynamoDBClient,
  TransactWriteItemsCommand,
  type BatchExecuteStatementCommandInput,
  type BatchStatementResponse,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoDbReadModelStore } from '../../adapters/dynamodb/store.js';
import { STATEMENTS_PER_BATCH } from '../../adapters/dynamodb/singles.js';
import { keyWrite } from '../../src/projection/key-write.js';
import type { CheckpointEntry, KeyWrite, ViewWrite } from '../../src/projection/ports.js';
import { Decimal } from '../../src/records/decimal.js';
import { itemKeyFromKeys } from '../../src/records/item-key.js';

const dynamo = mockClient(DynamoDBClient);
afterEach(() => dynamo.reset());

const VIEW = 'order-view#v1';
const TOTALS = 'customer-totals#v1';

function store() {
  return new DynamoDbReadModelStore({
    client: new DynamoDBClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }),
    consumer: 'test',
    sleep: async () => {},
    concurrency: 1,
  });
}

const keyOf = (orderId: string) => itemKeyFromKeys({ orderId: { S: orderId } }, 'Keys');

/** A key whose only projection is a view: its row carries the view's entry, and nothing else is written. */
function viewWrite(orderId: string, view: Partial<ViewWrite> = {}): KeyWrite {
  const entries = new Map<string, CheckpointEntry>([[VIEW, { sequence: '7' }]]);
  const row: ViewWrite = { generation: VIEW, state: { status: 'PAID' }, expectedRevision: undefined, sequence: '7', approximateTime: undefined, ...view };
  return keyWrite(keyOf(orderId), undefined, entries, [row], [], [], { entriesInRows: new Set([VIEW]), checkpointChanged: false });
}

/** A key with a view and a sum: the row alone, the checkpoint and the group's ADD in a transaction. */
function viewAndSumWrite(orderId: string): KeyWrite {
  const entries = new Map<string, CheckpointEntry>([
    [VIEW, { sequence: '7' }],
    [TOTALS, { sequence: '7', contribution: new Map([['c-1', new Map([['amount', Decimal.parse('5')]])]]) }],
  ]);
  const row: ViewWrite = { generation: VIEW, state: { status: 'PAID' }, expectedRevision: 2, sequence: '7', approximateTime: undefined };
  const sums = [{ generation: TOTALS, group: 'c-1', shards: 1, amounts: new Map([['amount', Decimal.parse('5')]]) }];
  return keyWrite(keyOf(orderId), { revision: 4, entries: new Map() }, entries, [row], sums, [], { entriesInRows: new Set([VIEW]), checkpointChanged: true });
}

const statements = (): NonNullable<BatchExecuteStatementCommandInput['Statements']> =>
  dynamo.commandCalls(BatchExecuteStatementCommand).flatMap((call) => call.args[0].input.Statements ?? []);

describe('DynamoDbReadModelStore: items written alone', () => {
  it('writes a view-only key as one conditional statement, 25 to a call, and no transaction', async () => {
    dynamo.on(BatchExecuteStatementCommand).callsFake((input: BatchExecuteStatementCommandInput) => ({ Responses: (input.Statements ?? []).map(() => ({})) }));
    const writes = Array.from({ length: 30 }, (_, index) => viewWrite(`o-${index}`));
    const subject = store();
    const outcomes = await subject.commit(writes);
    expect(outcomes.every((outcome) => outcome.status === 'committed')).toBe(true);
    expect(dynamo.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
    expect(dynamo.commandCalls(BatchExecuteStatementCommand).map((call) => call.args[0].input.Statements?.length)).toEqual([STATEMENTS_PER_BATCH, 5]);
    const [first] = statements();
    expect(first?.Statement).toMatch(/^INSERT INTO "streamfold-read-models" VALUE \{'pk': \?, 'sk': \?, .*'rev': \?, .*'_cp': \?\}$/);
    expect(first?.Parameters).toContainEqual({ M: { s: { S: '7'.padStart(40, '0') } } });
    // Billed as single-item writes: one unit per row under 1 KB, not two.
    expect(subject.usage.snapshot()).toMatchObject({ billedWriteUnits: 30, itemsWritten: 30 });
  });

  it('writes over a row only at the revision read, and a deleted row as a tombstone that keeps its entry', async () => {
    dynamo.on(BatchExecuteStatementCommand).resolves({ Responses: [{}] });
    await store().commit([viewWrite('o-1', { state: undefined, expectedRevision: 3 })]);
    const [statement] = statements();
    expect(statement?.Statement).toMatch(/^UPDATE "streamfold-read-models" SET .*SET "rev" = \? SET "_cp" = \? REMOVE "value" REMOVE "_at" WHERE "pk" = \? AND "sk" = \? AND "rev" = \?$/);
    expect(statement?.Parameters?.at(-1)).toEqual({ N: '3' });
  });

  it('moves only the entry of a row whose state stays, whatever the state', async () => {
    dynamo.on(BatchExecuteStatementCommand).resolves({ Responses: [{}] });
    await store().commit([viewWrite('o-1', { keepState: true, expectedRevision: 5 })]);
    const [statement] = statements();
    expect(statement?.Statement).toBe('UPDATE "streamfold-read-models" SET "rev" = ? SET "_cp" = ? WHERE "pk" = ? AND "sk" = ? AND "rev" = ?');
  });

  it('sends the row alone and the checkpoint with its ADD in a transaction; the checkpoint keeps only the sum\'s entry', async () => {
    dynamo.on(BatchExecuteStatementCommand).resolves({ Responses: [{}] });
    dynamo.on(TransactWriteItemsCommand).resolves({});
    const outcomes = await store().commit([viewAndSumWrite('o-1')]);
    expect(outcomes).toEqual([{ status: 'committed' }]);
    expect(statements()).toHaveLength(1);
    const [transaction] = dynamo.commandCalls(TransactWriteItemsCommand).map((call) => call.args[0].input.TransactItems ?? []);
    expect(transaction).toHaveLength(2);
    const checkpoint = transaction?.[0]?.Put;
    expect(Object.keys(checkpoint?.Item?.p?.M ?? {})).toEqual([TOTALS]);
    expect(checkpoint?.ExpressionAttributeValues).toEqual({ ':rev': { N: '4' } });
    expect(transaction?.[1]?.Update?.UpdateExpression).toMatch(/ADD #f0 :a0/);
  });

  it('writes a checkpoint with nothing to go with it alone, not in a transaction', async () => {
    dynamo.on(BatchExecuteStatementCommand).resolves({ Responses: [{}] });
    const entries = new Map<string, CheckpointEntry>([[TOTALS, { sequence: '9', contribution: new Map() }]]);
    await store().commit([keyWrite(keyOf('o-1'), { revision: 4, entries: new Map() }, entries, [], [], [])]);
    expect(dynamo.commandCalls(TransactWriteItemsCommand)).toHaveLength(0);
    expect(statements()[0]?.Statement).toBe('UPDATE "streamfold-checkpoints" SET "rev" = ? SET "p" = ? WHERE "pk" = ? AND "rev" = ?');
  });

  it('tells each statement\'s fate apart: a moved row is a conflict, a refused one is poison for its view, a throttled one is sent again', async () => {
    let call = 0;
    dynamo.on(BatchExecuteStatementCommand).callsFake((input: BatchExecuteStatementCommandInput): { Responses: BatchStatementResponse[] } => {
      call += 1;
      if (call > 1) return { Responses: (input.Statements ?? []).map(() => ({})) };
      return {
        Responses: [
          {},
          { Error: { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' } },
          { Error: { Code: 'ValidationError', Message: 'Item size has exceeded the maximum allowed size' } },
          { Error: { Code: 'ThrottlingError', Message: 'Throughput exceeds the current capacity' } },
        ],
      };
    });
    const outcomes = await store().commit(['o-1', 'o-2', 'o-3', 'o-4'].map((id) => viewWrite(id)));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['committed', 'conflict', 'refused', 'committed']);
    expect(outcomes[2]).toMatchObject({ generations: [VIEW] });
    expect(dynamo.commandCalls(BatchExecuteStatementCommand)[1]?.args[0].input.Statements).toHaveLength(1);
  });

  it('reports a conflict for a key whose row landed while its transaction met a moved checkpoint', async () => {
    dynamo.on(BatchExecuteStatementCommand).resolves({ Responses: [{}] });
    dynamo.on(TransactWriteItemsCommand).rejects(
      Object.assign(new Error('Transaction cancelled'), { name: 'TransactionCanceledException', CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }] }),
    );
    const outcomes = await store().commit([viewAndSumWrite('o-1')]);
    expect(outcomes).toEqual([{ status: 'conflict' }]);
    expect(statements()).toHaveLength(1);
  });

  it('evens out the transactions a batch needs: as many, of about the same size', async () => {
    dynamo.on(TransactWriteItemsCommand).resolves({});
    const writes = Array.from({ length: 110 }, (_, index) => {
      const write = viewAndSumWrite(`o-${index}`);
      return { ...write, views: [], sums: write.sums.map((sum) => ({ ...sum, group: `c-${index}` })) };
    });
    await store().commit(writes);
    const sizes = dynamo.commandCalls(TransactWriteItemsCommand).map((call) => call.args[0].input.TransactItems?.length ?? 0);
    expect(sizes.reduce((total, size) => total + size, 0)).toBe(220);
    expect(sizes).toHaveLength(3);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(80); // not 100, 100 and 20
  });
});
