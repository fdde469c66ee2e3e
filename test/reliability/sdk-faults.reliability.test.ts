import { beforeAll, describe, expect, it } from 'vitest';
import { tableConfig } from '../../src/core/config.js';
import { createHandler } from '../../src/lambda/handler.js';
import { silentLogger } from '../../src/core/logging.js';
import { ordersWorkload } from '../../demo/orders-workload.js';
import { seededRandom, shuffle } from '../../src/testing/random.js';
import { compareSequences } from '../../src/records/sequence.js';
import examples from '../../projections/index.js';
import { batches } from '../support/consumers.js';
import { differencesFromTruth } from '../support/expectations.js';
import { freshTables, localClient, ordersWithRecords } from '../support/local-dynamodb.js';
import { injectFaults, type FaultCounts } from '../support/sdk-faults.js';

const SCENARIOS = Number(process.env.STREAMFOLD_SDK_FAULT_SCENARIOS ?? 8);
let source: Awaited<ReturnType<typeof ordersWithRecords>>;

beforeAll(async () => {
  source = await ordersWithRecords(localClient(), ordersWorkload({ seed: 8008, operations: 220, customers: 5, maxOrders: 50 }));
});

describe('faults injected in the AWS SDK, on DynamoDB Local', () => {
  it(`recovers from throttling, conflicts, lost answers and crashes between writes (${SCENARIOS} seeds)`, async () => {
    const totals: FaultCounts = { throttle: 0, conflict: 0, timeoutAfterSend: 0, readThrottle: 0, crashes: 0, writes: 0 };
    for (let seed = 1; seed <= SCENARIOS; seed += 1) {
      const random = seededRandom(seed);
      const tables = await freshTables(localClient());
      // A container: a client with its faults, and the handler built on it. After a crash, a new one.
      const container = () => {
        const client = localClient();
        const faults = injectFaults(client, {
          random,
          throttle: 0.15,
          conflict: 0.15,
          timeoutAfterSend: 0.15,
          readThrottle: 0.1,
          crashAfterWrites: random() < 0.7 ? 1 + Math.floor(random() * 6) : undefined,
        });
        const handler = createHandler({
          projections: examples,
          dynamoDbClient: client,
          logger: silentLogger,
          config: { ...tableConfig(tables), STREAMFOLD_MAX_ROUNDS: 4 },
        });
        return { handler, faults };
      };
      let live = container();
      const delivery = shuffle(random, batches(source.records, 20)).flatMap((batch) => (random() < 0.3 ? [batch, batch] : [batch]));
      for (const batch of delivery) {
        let pending = batch;
        for (let attempt = 0; pending.length > 0; attempt += 1) {
          if (attempt > 200) throw new Error(`seed ${seed}: a batch never went through`);
          let failed: string | undefined;
          try {
            failed = (await live.handler({ Records: pending })).batchItemFailures[0]?.itemIdentifier;
          } catch {
            failed = undefined;
          }
          if (live.faults.crashed()) {
            add(totals, live.faults.counts);
            live = container();
            continue; // the invocation died: Lambda delivers the batch again
          }
          if (failed === undefined) break;
          pending = pending.filter((record) => compareSequences((record.dynamodb as { SequenceNumber: string }).SequenceNumber, failed) >= 0);
        }
      }
      add(totals, live.faults.counts);
      const differences = await differencesFromTruth(live.handler.store, source.finalItems);
      if (differences.length > 0) {
        throw new Error(`seed ${seed} (replay: STREAMFOLD_SDK_FAULT_SCENARIOS=${seed}): ${JSON.stringify(differences.slice(0, 5))}`);
      }
    }
    console.log(`sdk faults: ${JSON.stringify(totals)}`);
    expect(totals.crashes).toBeGreaterThan(0);
    expect(totals.timeoutAfterSend).toBeGreaterThan(0);
    expect(totals.conflict + totals.throttle).toBeGreaterThan(0);
  });
});

function add(total: FaultCounts, more: FaultCounts): void {
  for (const name of Object.keys(total) as (keyof FaultCounts)[]) total[name] += more[name];
}
