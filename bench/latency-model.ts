import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * How long a request to real DynamoDB takes, by operation and size: what DynamoDB Local on two shared cores
 * cannot show (it answers a 100-item transaction slower than a hundred parallel single writes).
 */
export interface LatencyModel {
  readonly name: string;
  readonly source: string;
  /** Requests one client keeps in flight at once: the AWS SDK for JavaScript's default `maxSockets`. */
  readonly connections: number;
  latencyMs(command: string, input: Record<string, unknown>): number;
}

/**
 * Median (p50) latencies measured from AWS Lambda to DynamoDB in the same region (Alex DeBrie, "DynamoDB
 * Transactions Performance Testing", 2020, 400 invocations each): PutItem 7.55 ms; BatchWriteItem 8.14 ms for
 * 5 items and 10.2 ms for 25; TransactWriteItems 25.3 ms for 5 items and 32.1 ms for 25. AWS publishes only
 * "single-digit milliseconds" for single-item reads and writes, and no figure per item for batches or
 * transactions; the lines through the two measured sizes are used (a transaction of 100 items, past the
 * measured range, is taken as 57.6 ms), batch reads and PartiQL batches as batch writes of as many items.
 */
export const DYNAMODB_P50_MODEL: LatencyModel = {
  name: 'dynamodb-p50',
  source: 'p50 latencies, AWS Lambda to DynamoDB in one region (DeBrie 2020); 50 connections per client (the AWS SDK for JavaScript default maxSockets)',
  connections: 50,
  latencyMs(command, input) {
    switch (command) {
      case 'GetItemCommand':
      case 'PutItemCommand':
      case 'UpdateItemCommand':
      case 'DeleteItemCommand':
      case 'QueryCommand':
      case 'ScanCommand':
      case 'ExecuteStatementCommand':
        return SINGLE_MS;
      case 'BatchWriteItemCommand':
      case 'BatchGetItemCommand':
      case 'BatchExecuteStatementCommand':
        return batchMs(batchSize(command, input));
      case 'TransactWriteItemsCommand':
        return TRANSACTION_BASE_MS + TRANSACTION_PER_ITEM_MS * ((input.TransactItems as unknown[] | undefined)?.length ?? 1);
      default:
        // Table management (create, describe): set-up, not measured.
        return 0;
    }
  },
};

const SINGLE_MS = 7.55;
/** Through (5 items, 8.14 ms) and (25 items, 10.2 ms). */
const BATCH_PER_ITEM_MS = (10.2 - 8.14) / 20;
const BATCH_BASE_MS = 8.14 - 5 * BATCH_PER_ITEM_MS;
/** Through (5 items, 25.3 ms) and (25 items, 32.1 ms). */
const TRANSACTION_PER_ITEM_MS = (32.1 - 25.3) / 20;
const TRANSACTION_BASE_MS = 25.3 - 5 * TRANSACTION_PER_ITEM_MS;

const batchMs = (items: number): number => BATCH_BASE_MS + BATCH_PER_ITEM_MS * items;

function batchSize(command: string, input: Record<string, unknown>): number {
  if (command === 'BatchExecuteStatementCommand') return (input.Statements as unknown[] | undefined)?.length ?? 1;
  const tables = Object.values((input.RequestItems as Record<string, unknown> | undefined) ?? {});
  return tables.reduce<number>((total, requests) => total + (Array.isArray(requests) ? requests.length : ((requests as { Keys?: unknown[] }).Keys?.length ?? 0)), 0);
}

/**
 * Makes a client pace its requests as real DynamoDB would: each request (each attempt, after the SDK's
 * retries) holds one of the client's connections for the modelled latency on top of DynamoDB Local's own
 * time, so a client that sends more requests than it has connections waits for them as it would in AWS.
 * Applied the same way to every contender's client. It overstates every request by DynamoDB Local's own
 * time, which the raw run shows alone.
 */
export function applyLatencyModel(client: DynamoDBClient, model: LatencyModel): void {
  const connections = semaphore(model.connections);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const latency = model.latencyMs(context.commandName ?? '', args.input as Record<string, unknown>);
      if (latency === 0) return next(args);
      await connections.acquire();
      try {
        await new Promise((resolve) => setTimeout(resolve, latency));
        return await next(args);
      } finally {
        connections.release();
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'benchLatencyModel' },
  );
}

function semaphore(size: number): { acquire(): Promise<void>; release(): void } {
  let free = size;
  const waiting: (() => void)[] = [];
  return {
    acquire: () => {
      if (free > 0) {
        free -= 1;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => waiting.push(resolve));
    },
    release: () => {
      const next = waiting.shift();
      if (next === undefined) free += 1;
      else next();
    },
  };
}
