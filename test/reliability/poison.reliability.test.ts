import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/local/random.js';
import { localClient } from '../support/local-dynamodb.js';
import { keyText, type RawRecord } from './docs-truth.js';
import { docsWithRecords } from './docs-table.js';
import { docsWorkload } from './docs-workload.js';
import { poisonScenarios, runPoisonScenario, type PoisonWorkload } from './poison-harness.js';

const RUNS = Number(process.env.STREAMFOLD_RELIABILITY_RUNS ?? 1000);
const REPLAY = process.env.STREAMFOLD_RELIABILITY_SEED === undefined
  ? {}
  : { seed: Number(process.env.STREAMFOLD_RELIABILITY_SEED), path: process.env.STREAMFOLD_RELIABILITY_PATH };

let workload: PoisonWorkload;

beforeAll(async () => {
  const generated = docsWorkload(seededRandom(9001), { items: 30, operations: 240 });
  const source = await docsWithRecords(localClient(), generated.operations);
  workload = {
    records: source.records as unknown as RawRecord[],
    finalItems: source.finalItems,
    heavyKey: keyText({ id: { B: Buffer.from(generated.heavy.id).toString('base64') }, slot: { N: String(generated.heavy.slot) } }),
  };
  if (process.env.DUMP) (await import('node:fs')).writeFileSync(process.env.DUMP, (await import('../../src/records/wire-json.js')).toWireJson(workload));
});

describe('the adversary, with poison', () => {
  it(`leaves what correct projections leave in ${RUNS} seeded scenarios`, async () => {
    const totals: Record<string, number> = { scenarios: 0, invocations: 0 };
    await fc.assert(
      fc.asyncProperty(poisonScenarios, async (scenario) => {
        const report = await runPoisonScenario(workload, scenario);
        totals.scenarios = (totals.scenarios ?? 0) + 1;
        totals.invocations = (totals.invocations ?? 0) + report.invocations;
        for (const [name, count] of [...Object.entries(report.injected), ...Object.entries(report.counts)]) totals[name] = (totals[name] ?? 0) + count;
        if (report.differences.length > 0) {
          throw new Error(`read models or parked records differ from the truth:\n${report.differences.slice(0, 10).join('\n')}`);
        }
      }),
      { numRuns: RUNS, ...REPLAY },
    );
    console.log(`adversary with poison: ${JSON.stringify(totals)}`);
  });
});
