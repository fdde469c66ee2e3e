import type { StreamfoldError } from '../core/errors.js';
import { compareSequences } from '../records/sequence.js';
import type { Decimal } from '../records/decimal.js';
import type { KnownTotals, RefusedRecords } from './lane.js';
import type { KeyPlan } from './plan.js';
import type { KnownTotal, Refusal } from './ports.js';

/**
 * Writes DynamoDB refuses for good (a row over 400 KB, a total past 38 digits, more rows than a transaction
 * holds) become poison for the projection that made them: its record is parked there, and the item's other
 * projections go on. The record blamed is the last one the projection applied, since a row grows and a sum
 * moves with each record; planning again without it shows whether an earlier one is at fault too.
 */
export class Refusals {
  private readonly byKey = new Map<string, Map<string, Map<string, StreamfoldError>>>();
  private readonly blamedAfterWriting = new Map<string, number>();
  private readonly blames = new Map<string, number>();

  private readonly knownTotals = new Map<string, Map<string, Map<string, Decimal>>>();

  of(keyId: string): RefusedRecords {
    return this.byKey.get(keyId) ?? EMPTY;
  }

  /** Sum totals read after a refusal: from now on each record's step is checked against them. */
  get totals(): KnownTotals {
    return this.knownTotals;
  }

  /** Answers whether anything new was learned (so planning again can find the record at fault by itself). */
  learn(totals: readonly KnownTotal[]): boolean {
    let learned = false;
    for (const { generation, group, field, total } of totals) {
      const groups = this.knownTotals.get(generation) ?? new Map<string, Map<string, Decimal>>();
      this.knownTotals.set(generation, groups);
      const fields = groups.get(group) ?? new Map<string, Decimal>();
      groups.set(group, fields);
      if (fields.get(field)?.equals(total) !== true) learned = true;
      fields.set(field, total);
    }
    return learned;
  }

  /**
   * Blames the plan's records for the refusals: answers whether any record was blamed (if none was, the
   * projection refused applied nothing now, and the refusal cannot be laid on a record). A write DynamoDB
   * itself refused has cost a round trip: past a few of those, every record the projection applied is blamed.
   */
  blame(plan: KeyPlan, refusals: readonly Refusal[], afterWriting: boolean): boolean {
    const keyId = plan.run.key.id;
    const times = afterWriting ? (this.blamedAfterWriting.get(keyId) ?? 0) + 1 : 0;
    if (afterWriting) this.blamedAfterWriting.set(keyId, times);
    // Each blame moves to an earlier record or adds a later one, so this ends; the bound keeps it short.
    const blames = (this.blames.get(keyId) ?? 0) + 1;
    this.blames.set(keyId, blames);
    const all = times > BLAME_ONE_AT_A_TIME || blames > plan.run.steps.length * 2;
    let blamed = false;
    for (const refusal of refusals) {
      const counts = plan.byProjection.find((candidate) => candidate.generation === refusal.generation);
      const applied = counts?.appliedSequences ?? [];
      const chosen = all ? applied : applied.slice(-1);
      // A record blamed before, after this one, gets its chance again: without this one it may fit.
      if (!all) this.forgetAfter(keyId, refusal.generation, chosen[0]);
      for (const sequence of chosen) {
        const step = plan.run.steps.find((candidate) => candidate.sequence === sequence);
        const eventID = step?.type === 'event' ? step.event.eventID : undefined;
        this.record(keyId, refusal.generation, sequence, refusal.error.locate({ projection: counts?.projection, key: keyId, sequence, eventID }));
        blamed = true;
      }
    }
    return blamed;
  }

  private forgetAfter(keyId: string, generation: string, sequence: string | undefined): void {
    const sequences = this.byKey.get(keyId)?.get(generation);
    if (sequences === undefined || sequence === undefined) return;
    for (const blamed of [...sequences.keys()]) if (compareSequences(blamed, sequence) > 0) sequences.delete(blamed);
  }

  private record(keyId: string, generation: string, sequence: string, error: StreamfoldError): void {
    let generations = this.byKey.get(keyId);
    if (generations === undefined) {
      generations = new Map();
      this.byKey.set(keyId, generations);
    }
    let sequences = generations.get(generation);
    if (sequences === undefined) {
      sequences = new Map();
      generations.set(generation, sequences);
    }
    sequences.set(sequence, error);
  }
}

const EMPTY: RefusedRecords = new Map();
const BLAME_ONE_AT_A_TIME = 3;
