import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/local/random.js';
import { silentLogger } from '../../src/logging.js';
import type { Projection } from '../../src/projection/define.js';
import type { CheckpointEntry, DeadLetterStore, KeyWrite, ParkedRecord, Refusal } from '../../src/projection/ports.js';
import { ProjectionRuntime } from '../../src/projection/runtime.js';
import { StateLane } from '../../src/projection/state-lane.js';
import { noSleep } from '../support/messages.js';
import { localClient } from '../support/local-dynamodb.js';
import { keyText, type RawRecord } from './docs-truth.js';
import { docsWithRecords } from './docs-table.js';
import { docsWorkload } from './docs-workload.js';
import { poisonScenarios, runPoisonScenario, type PoisonMutation, type PoisonWorkload } from './poison-harness.js';
import { DynamoDbLimitedStore } from './processes.js';

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

  /** Runs scenarios with a planted bug until one shows it: answers the differences it found. */
  async function firstDifferences(mutation: PoisonMutation): Promise<string[]> {
    let found: string[] = [];
    await fc
      .assert(
        fc.asyncProperty(poisonScenarios, async (scenario) => {
          const report = await runPoisonScenario(workload, scenario, mutation);
          found = report.differences;
          if (found.length > 0) throw new Error(found.slice(0, 3).join('\n'));
        }),
        { numRuns: 300, seed: 42, endOnFailure: true },
      )
      .catch(() => undefined);
    return found;
  }

  it('catches a redrive that applies again what the checkpoint covers', async () => {
    /** The lane without the redrive's guard: a parked record the checkpoint has passed is taken as awaited. */
    class CarelessLane extends StateLane {
      override standing(entry: CheckpointEntry | undefined, record: Pick<ParkedRecord, 'sequence'>) {
        const standing = super.standing(entry, record);
        return standing === 'covered' ? 'awaiting' : standing;
      }
    }
    const differences = await firstDifferences({
      redriveRuntimes: (projections: readonly Projection[], store, deadLetters: DeadLetterStore) => [
        new ProjectionRuntime(new CarelessLane(projections), store, silentLogger, { sleep: noSleep, maxRounds: 12, deadLetters }),
      ],
    });
    expect(differences.join('\n')).toMatch(/doc-history .* entries \[/);
  });

  it('catches a store that forgets what DynamoDB refuses', async () => {
    /** Takes any row, whatever its size: what the in-memory store does without the adapter's limits. */
    class Forgetful extends DynamoDbLimitedStore {
      override refusals(_write: KeyWrite): readonly Refusal[] {
        return [];
      }
    }
    const differences = await firstDifferences({ store: () => new Forgetful() });
    expect(differences.join('\n')).toMatch(/doc-history|parked .*doc-history#v1/);
  });

  it('catches parked records whose binaries do not come back as bytes', async () => {
    /** Parks through plain JSON, as the dead-letter stores did before the wire codec: bytes become `{"0":4,...}`. */
    const plainJson = (real: DeadLetterStore): DeadLetterStore => ({
      park: (records) => real.park(JSON.parse(JSON.stringify(records)) as ParkedRecord[]),
      list: (filter) => real.list(filter),
      remove: (records) => real.remove(records),
    });
    const differences = await firstDifferences({ deadLetters: plainJson });
    expect(differences.join('\n')).toMatch(/stage-counts|parked .*stage-counts#v1/);
  });
});
