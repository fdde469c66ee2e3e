import { BatchWriteItemCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { chunk } from '../../src/core/concurrency.js';
import { backoffDelay, DEFAULT_BACKOFF, sleep as defaultSleep, type Sleep } from '../../src/core/retry.js';

/** What one `BatchWriteItem` takes. */
export const BATCH_WRITE_MAX_ITEMS = 25;
/** What one `BatchGetItem` takes. */
export const BATCH_GET_MAX_KEYS = 100;
/** Sends of one batch before what DynamoDB leaves unprocessed is an error. */
export const BATCH_MAX_ATTEMPTS = 8;

export interface BatchWriteOptions {
  readonly sleep?: Sleep;
  /** Told of each request sent, to count them. */
  readonly onRequest?: () => void;
}

/**
 * Puts or deletes items of one table, 25 a request, sending what DynamoDB leaves unprocessed again with
 * backoff; a part still unprocessed after 8 sends is an error, so a table throttled for good cannot hold the
 * caller forever.
 */
export async function batchWriteAll(client: DynamoDBClient, table: string, requests: readonly WriteRequest[], options: BatchWriteOptions = {}): Promise<void> {
  const sleep = options.sleep ?? defaultSleep;
  for (const part of chunk(requests, BATCH_WRITE_MAX_ITEMS)) {
    let pending: WriteRequest[] = [...part];
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt >= BATCH_MAX_ATTEMPTS) throw new Error(`BatchWriteItem left ${pending.length} items unprocessed ${BATCH_MAX_ATTEMPTS} times`);
      if (attempt > 0) await sleep(backoffDelay(DEFAULT_BACKOFF, attempt - 1));
      options.onRequest?.();
      const response = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
      pending = response.UnprocessedItems?.[table] ?? [];
    }
  }
}
