import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/testing/random.js';
import type { ItemKey } from '../../src/records/item-key.js';
import type { Checkpoint, CheckpointEntry, DeadLetterStore, KeyWrite, LoadedState, ParkedRecord, Refusal } from '../../src/projection/ports.js';
import { StateLane } from '../../src/projection/state-lane.js';
import { localClient } from '../support/local-dynamodb.js';
import { keyText, type RawRecord } from './docs-truth.js';
import { docEventsWithRecords, docsWithRecords } from './docs-table.js';
import { docEventsWorkload, docsWorkload } from './docs-workload.js';
import { poisonScenarios, runPoisonScenario, type PoisonMutation, type PoisonWorkload } from './poison-harness.js';
import { DynamoDbLimitedStore } from './processes.js';
import { REPLAY, RUNS } from './runs.js';

let workload: PoisonWorkload;

beforeAll(async () => {
  const generated = docsWorkload(seededRandom(9001), { items: 30, operations: 240 });
  const client = localClient();
  const source = await docsWithRecords(client, generated.operations);
  const log = await docEventsWithRecords(client, docEventsWorkload(seededRandom(9002), { streams: 10, events: 70 }));
  workload = {
    records: source.records as unknown as RawRecord[],
    finalItems: source.finalItems,
    eventRecords: log.records as unknown as RawRecord[],
    eventItems: log.finalItems,
    heavyKey: keyText({ id: { B: Buffer.from(generated.heavy.id).toString('base64') }, slot: { N: String(generated.heavy.slot) } }),
  };
  // The stream and the table agree: each item's last record leaves what the scan finds.
  const last = new Map(workload.records.map((record) => [keyText(record.dynamodb.Keys), record]));
  const scanned = workload.finalItems.map((item) => `${Buffer.from(item.id?.B ?? []).toString('base64')}/${item.slot?.N}:${item.rev?.N}`).sort();
  const streamed = [...last].filter(([, record]) => record.eventName !== 'REMOVE').map(([key, record]) => `${key}:${record.dynamodb.NewImage?.rev?.N}`).sort();
  expect(streamed).toEqual(scanned);
  expect(workload.records.length).toBeGreaterThan(200);
  expect(workload.eventRecords.length).toBe(70);
  // The heavy item's last change carries two 240 KB notes: more than a parked item holds even gzipped.
  const heavy = workload.records.filter((record) => keyText(record.dynamodb.Keys) === workload.heavyKey).at(-1);
  expect(JSON.stringify(heavy).length).toBeGreaterThan(480_000);
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
    if (RUNS >= 500 && !('seed' in REPLAY)) {
      for (const exercised of ['rowsOver400KB', 'totalsPast38Digits', 'parkedInParts', 'redrivesRacing', 'redriveDiedAfterParkedTableWrite', 'redriveDiedAfterCommit', 'rebuilds', 'crash', 'unknownOutcome']) {
        expect(totals[exercised], exercised).toBeGreaterThan(0);
      }
    }
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
    const differences = await firstDifferences({ redriveStateLane: (projections) => new CarelessLane(projections) });
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
    expect(differences.join('\n')).toMatch(/stage-counts|stream-history/);
  });

  it('catches events held behind a gap whose binaries do not come back as bytes', async () => {
    /** Keeps the events held in a checkpoint through plain JSON, as the checkpoint item did before the wire codec. */
    class PlainJsonCheckpoints extends DynamoDbLimitedStore {
      override async load(keys: readonly ItemKey[], views: readonly string[]): Promise<LoadedState> {
        const loaded = await super.load(keys, views);
        const plain = (entry: CheckpointEntry): CheckpointEntry =>
          entry.pending === undefined ? entry : { ...entry, pending: new Map([...entry.pending].map(([version, record]) => [version, JSON.parse(JSON.stringify(record)) as unknown])) };
        const checkpoints = new Map<string, Checkpoint>(
          [...loaded.checkpoints].map(([id, checkpoint]) => [id, { ...checkpoint, entries: new Map([...checkpoint.entries].map(([generation, entry]) => [generation, plain(entry)])) }]),
        );
        return { ...loaded, checkpoints };
      }
    }
    const differences = await firstDifferences({ store: () => new PlainJsonCheckpoints() });
    expect(differences.join('\n')).toMatch(/stream-history/);
  });
});
