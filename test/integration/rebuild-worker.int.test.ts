import { PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbGenerationRegistry, DynamoDbRebuildStateStore } from '../../adapters/dynamodb/rebuild-state.js';
import { DynamoDbSourceScanner } from '../../adapters/dynamodb/scanner.js';
import { tableConfig } from '../../src/core/config.js';
import { silentLogger } from '../../src/core/logging.js';
import { createRebuildWorker } from '../../src/lambda/rebuild-worker.js';
import type { LambdaContext } from '../../src/lambda/handler.js';
import { verifyProjection } from '../../src/rebuild/verify.js';
import type { PrepareResult, PromoteResult, WorkResult } from '../../src/rebuild/worker.js';
import { customerTotals } from '../../projections/customer-totals.js';
import { bulkOrders } from '../support/bulk-orders.js';
import { freshTables, localClient } from '../support/local-dynamodb.js';

const ITEMS = 20_000;
const PAGES_PER_INVOCATION = 6;

let client: DynamoDBClient;
let table: string;

/** A Lambda context whose time runs out after a few pages: each check of the remaining time uses up one second. */
function shortLivedContext(): LambdaContext {
  // The first page is always read; each later one asks first.
  let remaining = (PAGES_PER_INVOCATION - 1) * 1000;
  return { awsRequestId: `r-${Math.random()}`, getRemainingTimeInMillis: () => (remaining -= 1000) + 1000 };
}

/** The DynamoDB client, failing once: the save of a share's position after its 17th page, as a worker killed between its fold and its save. */
function failingOnceAfterAFold(inner: DynamoDBClient): DynamoDBClient {
  let saves = 0;
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: unknown, ...rest: unknown[]) => {
        if (command instanceof PutItemCommand && String(command.input.Item?.pk?.S).includes('#share#')) {
          saves += 1;
          if (saves === 17) return Promise.reject(new Error('killed between the fold and the save'));
        }
        return (target.send as (...args: unknown[]) => Promise<unknown>)(command, ...rest);
      };
    },
  });
}

beforeAll(async () => {
  client = localClient();
  table = await bulkOrders(client, ITEMS, 37);
});

describe('the rebuild runner\'s worker Lambda', () => {
  it('finishes a 20,000-item table over many short invocations, a share at a time as the Distributed Map runs them, nothing read twice into the result, nothing lost', async () => {
    const tables = await freshTables(client);
    const worker = createRebuildWorker({
      projections: [customerTotals],
      dynamoDbClient: failingOnceAfterAFold(client),
      logger: silentLogger,
      config: tableConfig(tables),
      environment: { STREAMFOLD_REBUILD_MARGIN_SECONDS: '0' },
    });
    const job = { projection: 'customer-totals', table, segments: 4, pageSize: 100 };

    const prepared = (await worker({ action: 'prepare', job }, shortLivedContext())) as PrepareResult;
    expect(prepared.shares).toEqual([0, 1, 2, 3]);
    // The map item of each share calls the worker until it says the share is done (a failed call is retried,
    // as the state machine's Retry does); all four map items at once.
    const invocations: WorkResult[] = [];
    let failures = 0;
    const mapItem = async (share: number): Promise<void> => {
      for (;;) {
        try {
          const result = (await worker({ action: 'work', job: prepared.job, share }, shortLivedContext())) as WorkResult;
          invocations.push(result);
          if (result.done) return;
        } catch (error) {
          expect((error as Error).message).toBe('killed between the fold and the save');
          failures += 1;
        }
      }
    };
    await Promise.all(prepared.shares.map(mapItem));
    const promoted = (await worker({ action: 'promote', job: prepared.job }, shortLivedContext())) as PromoteResult;

    expect(failures).toBe(1);
    // Each invocation stopped when its time ran out, saved its position, and the next went on from there.
    expect(invocations.length).toBeGreaterThanOrEqual(Math.ceil(ITEMS / (PAGES_PER_INVOCATION * 100)));
    expect(invocations.every((invocation) => invocation.read <= PAGES_PER_INVOCATION * 100)).toBe(true);
    // Every item was read into the saved positions exactly once; the page whose save failed was read again,
    // and its items (already folded) were skipped, not counted twice.
    expect(promoted.read).toBe(ITEMS);
    expect(promoted.applied + promoted.skipped).toBe(ITEMS);
    expect(promoted.skipped).toBeLessThanOrEqual(100);
    expect(promoted.parked).toBe(0);
    expect(await new DynamoDbGenerationRegistry(client, tables.readModels).current('customer-totals')).toBe(1);
    const state = await new DynamoDbRebuildStateStore(client, tables.checkpoints, 'default').load(promoted.stateId);
    expect(state?.finishedAt).toBeDefined();

    const store = (await import('../../src/container.js')).compose([customerTotals], { dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) }).dynamoDbStore;
    const verified = await verifyProjection({ projection: customerTotals, scanner: new DynamoDbSourceScanner(client, table), reader: store, generation: 'customer-totals#v1' });
    expect(verified.itemsScanned).toBe(ITEMS);
    expect(verified.drift).toEqual([]);
    expect(verified.storedRows).toBe(37);
  });

  it('refuses to promote while a share is unfinished, naming it', async () => {
    const tables = await freshTables(client);
    const worker = createRebuildWorker({ projections: [customerTotals], dynamoDbClient: client, logger: silentLogger, config: tableConfig(tables) });
    const job = { projection: 'customer-totals', table, segments: 200, pageSize: 10 };
    const prepared = (await worker({ action: 'prepare', job })) as PrepareResult;
    await worker({ action: 'work', job: prepared.job, share: 3 }, shortLivedContext());
    await expect(worker({ action: 'promote', job: prepared.job })).rejects.toThrow(/is not done: \d+ of 200 shares are unfinished \(0, 1, 2, 3, 4, \.\.\.\); the generation stays unpromoted/);
    expect(await new DynamoDbGenerationRegistry(client, tables.readModels).current('customer-totals')).toBeUndefined();
    await expect(worker({ action: 'sweep', job })).rejects.toThrow(/not a rebuild runner step/);
  });
});
