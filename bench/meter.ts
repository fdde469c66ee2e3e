import type { AttributeValue, BatchStatementRequest, DynamoDBClient, TransactWriteItem, WriteRequest } from '@aws-sdk/client-dynamodb';
import { itemSize, writeUnits } from '../adapters/dynamodb/item-size.js';

/** What a contender asked of DynamoDB, counted on the wire, and write units as AWS bills them. */
export interface Meter {
  requests: number;
  byCommand: Record<string, number>;
  billedWriteUnits: number;
  reset(): void;
}

type Item = Record<string, AttributeValue>;

/**
 * Counts every request a client sends, and the write units each costs, from what is sent: 1 per KB for a
 * standard write, 2 per KB for each item of a transaction. (DynamoDB Local reports a flat figure for a whole
 * transaction, so its own consumed capacity cannot be used.) An update is billed on the item it leaves, which
 * is estimated as its key plus the values it sets.
 */
export function meter(client: DynamoDBClient): Meter {
  const state: Meter = {
    requests: 0,
    byCommand: {},
    billedWriteUnits: 0,
    reset() {
      state.requests = 0;
      state.byCommand = {};
      state.billedWriteUnits = 0;
    },
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      state.requests += 1;
      state.byCommand[command] = (state.byCommand[command] ?? 0) + 1;
      state.billedWriteUnits += unitsOf(command, args.input as Record<string, unknown>);
      return next(args);
    },
    { step: 'build', name: 'benchMeter' },
  );
  return state;
}

function unitsOf(command: string, input: Record<string, unknown>): number {
  switch (command) {
    case 'PutItemCommand':
      return writeUnits(itemSize(input.Item as Item), false);
    case 'UpdateItemCommand':
      return writeUnits(itemSize({ ...(input.Key as Item), ...((input.ExpressionAttributeValues as Item | undefined) ?? {}) }), false);
    case 'DeleteItemCommand':
      return writeUnits(itemSize(input.Key as Item), false);
    case 'TransactWriteItemsCommand':
      return ((input.TransactItems as TransactWriteItem[] | undefined) ?? []).reduce((total, item) => {
        const written = item.Put?.Item ?? item.Delete?.Key ?? { ...(item.Update?.Key ?? {}), ...(item.Update?.ExpressionAttributeValues ?? {}) };
        return total + writeUnits(itemSize(written), true);
      }, 0);
    case 'BatchExecuteStatementCommand':
      return ((input.Statements as BatchStatementRequest[] | undefined) ?? []).reduce((total, statement) => {
        const item = statementItem(statement);
        return total + (item === undefined ? 0 : writeUnits(itemSize(item), false));
      }, 0);
    case 'BatchWriteItemCommand':
      return Object.values((input.RequestItems as Record<string, WriteRequest[]> | undefined) ?? {})
        .flat()
        .reduce((total, request) => total + writeUnits(itemSize(request.PutRequest?.Item ?? request.DeleteRequest?.Key ?? {}), false), 0);
    default:
      return 0;
  }
}

/**
 * The item a PartiQL write leaves, estimated as an update is: its attributes as the statement names them
 * (`'name': ?` in an INSERT, `"name" = ?` in an UPDATE's SET and WHERE), with the values passed. A SELECT
 * writes nothing.
 */
function statementItem(statement: BatchStatementRequest): Item | undefined {
  const text = statement.Statement ?? '';
  if (/^\s*SELECT/i.test(text)) return undefined;
  const names = [...text.matchAll(/'([^']+)'\s*:\s*\?|"((?:[^"]|"")+)"\s*=\s*\?/g)].map((match) => match[1] ?? (match[2] ?? '').replaceAll('""', '"'));
  const item: Item = {};
  names.forEach((name, index) => {
    const value = statement.Parameters?.[index];
    if (value !== undefined && item[name] === undefined) item[name] = value;
  });
  return item;
}

/** Samples the heap while a run goes, for its peak above where it started. */
export function heapSampler(): { stop(): number } {
  const start = process.memoryUsage().heapUsed;
  let peak = start;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage().heapUsed);
      return peak - start;
    },
  };
}
