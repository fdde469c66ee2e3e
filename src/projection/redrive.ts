import { StreamfoldError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import { compareSequences } from '../records/sequence.js';
import { backoffDelay, DEFAULT_BACKOFF, Deadline, sleep as defaultSleep, type BackoffPolicy, type Sleep } from '../core/retry.js';
import { generationOf } from './define.js';
import type { DeadLetterStore, ParkedRecord } from './ports.js';
import { Refusals } from './refusals.js';
import { DEFAULT_MAX_ROUNDS, type ProjectionRuntime } from './runtime.js';
import { ImageParser } from './typed-event.js';

export interface RedriveResult {
  /** Parked records that now applied, and were removed. */
  readonly applied: ParkedRecord[];
  /** Parked records the checkpoint had passed without waiting for them (skipped, overtaken, or applied by an
   * earlier redrive that stopped before removing them): removed, never applied again. */
  readonly obsolete: ParkedRecord[];
  /** Still parked: the first that failed again (with its new error) and those waiting behind it. */
  readonly stillParked: ParkedRecord[];
}

export interface RedriveOptions {
  readonly maxRounds?: number;
  readonly backoff?: BackoffPolicy;
  readonly sleep?: Sleep;
}

/**
 * Applies parked records again, after a fix: per projection and source item (or stream), in order, from
 * where the item was blocked. It is the live path with that block lifted: the same lane plans, the same
 * checks run, the same conditional write lands, so a redrive may run beside the live consumer. Those that
 * apply are removed; the first that fails again stays parked with its new error, and so do those behind it.
 * The checkpoint says what is still awaited, so a redrive that stopped after its write never applies a record
 * twice: the next one finds it covered and only removes it.
 */
export class Redriver {
  private readonly maxRounds: number;
  private readonly backoff: BackoffPolicy;
  private readonly sleep: Sleep;

  constructor(
    private readonly runtimes: readonly ProjectionRuntime[],
    private readonly deadLetters: DeadLetterStore,
    private readonly logger: Logger,
    options: RedriveOptions = {},
  ) {
    this.maxRounds = options.maxRounds ?? DEFAULT_MAX_ROUNDS;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.sleep = options.sleep ?? defaultSleep;
  }

  async redrive(filter: { projection?: string } = {}): Promise<RedriveResult> {
    const result: RedriveResult = { applied: [], obsolete: [], stillParked: [] };
    const generation = filter.projection === undefined ? undefined : this.generationNamed(filter.projection);
    const groups = new Map<string, { generation: string; key: string }>();
    for await (const record of this.deadLetters.list(generation === undefined ? {} : { generation })) {
      groups.set(`${record.generation}\u0000${record.key}`, { generation: record.generation, key: record.key });
    }
    for (const group of groups.values()) {
      const outcome = await this.redriveKey(group.generation, group.key);
      result.applied.push(...outcome.applied);
      result.obsolete.push(...outcome.obsolete);
      result.stillParked.push(...outcome.stillParked);
    }
    return result;
  }

  private generationNamed(name: string): string {
    const projection = this.runtimes.flatMap((runtime) => runtime.projections).find((candidate) => candidate.name === name);
    if (projection === undefined) {
      throw new StreamfoldError('CONFIGURATION', `no projection named "${name}" in this module`, { projection: name });
    }
    return generationOf(projection);
  }

  /** One projection's parked records of one source item, in rounds until a write lands. */
  private async redriveKey(generation: string, keyId: string): Promise<RedriveResult> {
    const runtime = this.runtimes.find((candidate) => candidate.projections.some((projection) => generationOf(projection) === generation));
    if (runtime === undefined) {
      this.logger.warn({ generation, key: keyId }, 'parked records of a projection this module does not define');
      return { applied: [], obsolete: [], stillParked: await this.parkedOf(generation, keyId) };
    }
    const { lane } = runtime;
    const key = lane.parkedKey(keyId);
    const options = { parser: new ImageParser(), refusals: new Refusals(), deadline: Deadline.NONE, lifted: generation };
    for (let round = 0; round < this.maxRounds; round += 1) {
      if (round > 0) await this.sleep(backoffDelay(this.backoff, round - 1));
      // The checkpoint first, then the list: a record parked after this read is either beyond the checkpoint
      // read (left for next time) or moves the checkpoint, and this round's write then meets a conflict.
      const loaded = await runtime.load([key]);
      const entry = loaded.checkpoints.get(key.id)?.entries.get(generation);
      const records = await this.parkedOf(generation, keyId);
      const awaiting = records.filter((record) => lane.standing(entry, record) === 'awaiting');
      const obsolete = records.filter((record) => lane.standing(entry, record) === 'covered');
      if (awaiting.length === 0) {
        await this.deadLetters.remove(obsolete);
        return { applied: [], obsolete, stillParked: records.filter((record) => !obsolete.includes(record)) };
      }
      const run = { key, steps: awaiting.map((record, index) => lane.parkedStep(record, index)) };
      const [settled] = await runtime.settle([run], loaded, options);
      if (settled === undefined || settled.status === 'conflict' || settled.status === 'retry' || settled.status === 'refused') continue;
      if (settled.status === 'failed') {
        // DynamoDB refuses the write and no record can be blamed: they all stay, saying why.
        return { applied: [], obsolete: [], stillParked: await this.refresh(awaiting, settled.error) };
      }
      // What failed again was parked again (with its new error); what failed for now was not taken at all.
      const again = new Map(settled.plan.write?.parked.map((record) => [record.id, record]));
      const stoppedAt = settled.plan.failure?.sequence;
      const kept = (record: ParkedRecord) => again.has(record.id) || (stoppedAt !== undefined && compareSequences(record.sequence, stoppedAt) >= 0);
      const applied = awaiting.filter((record) => !kept(record));
      await this.deadLetters.remove([...applied, ...obsolete]);
      return { applied, obsolete, stillParked: awaiting.filter(kept).map((record) => again.get(record.id) ?? record) };
    }
    return { applied: [], obsolete: [], stillParked: await this.parkedOf(generation, keyId) };
  }

  /** The first record stays parked with the new error, the rest behind it as they are. */
  private async refresh(remaining: readonly ParkedRecord[], error: StreamfoldError): Promise<ParkedRecord[]> {
    const [first, ...waiting] = remaining;
    if (first === undefined) return [];
    const refreshed: ParkedRecord = { ...first, reason: 'failed', error: { code: error.code, message: error.message, field: error.field } };
    await this.deadLetters.park([refreshed]);
    return [refreshed, ...waiting];
  }

  private async parkedOf(generation: string, key: string): Promise<ParkedRecord[]> {
    const records: ParkedRecord[] = [];
    for await (const record of this.deadLetters.list({ generation, key })) records.push(record);
    return records.sort((a, b) => compareSequences(a.sequence, b.sequence));
  }
}
