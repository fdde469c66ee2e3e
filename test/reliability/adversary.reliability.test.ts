import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { viewRowId, type CommitOutcome, type KeyWrite } from '../../src/projection/ports.js';
import { ordersWorkload } from '../../demo/orders-workload.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import { localClient, ordersWithRecords } from '../support/local-dynamodb.js';
import { runScenario, scenarios, type Workload } from './harness.js';
import { REPLAY, RUNS } from './runs.js';


let workload: Workload;

beforeAll(async () => {
  // Real stream records: written to DynamoDB Local and read back from its stream.
  const source = await ordersWithRecords(localClient(), ordersWorkload({ seed: 7001, operations: 260, customers: 4, maxOrders: 40 }));
  workload = { records: source.records, finalItems: source.finalItems };
});

describe('the adversary', () => {
  it(`finds no lost or double-applied effect in ${RUNS} seeded scenarios`, async () => {
    expect(workload.records.length).toBeGreaterThan(200);
    const totals = { scenarios: 0, invocations: 0, conflict: 0, throttle: 0, unknownOutcome: 0, crash: 0, loadFailure: 0 };
    await fc.assert(
      fc.asyncProperty(scenarios, async (scenario) => {
        const report = await runScenario(workload, scenario);
        totals.scenarios += 1;
        totals.invocations += report.invocations;
        for (const [fault, count] of Object.entries(report.injected)) totals[fault as keyof typeof report.injected] += count;
        if (report.differences.length > 0) {
          throw new Error(
            `read model differs from the truth (replay: STREAMFOLD_RELIABILITY_SEED and _PATH from the lines below):\n` +
              report.differences.slice(0, 10).map((difference) => JSON.stringify(difference)).join('\n'),
          );
        }
      }),
      { numRuns: RUNS, ...REPLAY },
    );
    console.log(`adversary: ${JSON.stringify(totals)}`);
    expect(totals.crash).toBeGreaterThan(0);
    expect(totals.unknownOutcome).toBeGreaterThan(0);
  });

  it('catches a checkpoint whose condition is skipped', async () => {
    /** The store without its guard: a write lands whatever the checkpoint and the row became meanwhile. */
    class UnguardedStore extends MemoryReadModelStore {
      override async commit(writes: readonly KeyWrite[]): Promise<CommitOutcome[]> {
        const loaded = await this.load(writes.map((write) => write.key), writes.flatMap((write) => write.views.map((view) => view.generation)));
        return super.commit(
          writes.map((write) => ({
            ...write,
            expectedRevision: loaded.checkpoints.get(write.key.id)?.revision,
            views: write.views.map((view) => ({ ...view, expectedSequence: loaded.viewRows.get(viewRowId(view.generation, write.key))?.sequence })),
          })),
        );
      }
    }
    const failure = await fc
      .assert(
        fc.asyncProperty(scenarios, async (scenario) => {
          const report = await runScenario(workload, scenario, () => new UnguardedStore());
          if (report.differences.length > 0) throw new Error(`${report.differences.length} differences`);
        }),
        { numRuns: 300, seed: 42, endOnFailure: true },
      )
      .then(
        () => undefined,
        (error: unknown) => error as Error,
      );
    expect(failure?.message).toMatch(/Property failed after \d+ tests/);
    expect(failure?.message).toMatch(/Counterexample/);
  });
});
