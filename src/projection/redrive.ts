import { StreamfoldError } from '../errors.js';
import type { Logger } from '../logging.js';
import { decodeRecord } from '../records/decode.js';
import { itemKeyFromKeys, type ItemKey } from '../records/item-key.js';
import type { RunStep } from '../records/order.js';
import { compareSequences } from '../records/sequence.js';
import { backoffDelay, DEFAULT_BACKOFF, sleep as defaultSleep, type BackoffPolicy, type Sleep } from '../retry.js';
import { generationOf, type Projection } from './define.js';
import { applyEvent, projectionChanges, type Fold } from './plan.js';
import { viewRowId, type DeadLetterStore, type KeyWrite, type ParkedRecord, type ReadModelStore } from './ports.js';
import { ImageParser } from './typed-event.js';

export interface RedriveResult {
  /** Parked records that now applied, and were removed. */
  readonly applied: ParkedRecord[];
  /** Parked records that no longer need applying (superseded, or applied by an earlier redrive), removed. */
  readonly obsolete: ParkedRecord[];
  /** Still parked: the first that failed again (with its new error) and those waiting behind it. */
  readonly stillParked: ParkedRecord[];
}

export interface RedriveOptions {
  readonly maxRounds?: number;
  readonly backoff?: BackoffPolicy;
  readonly sleep?: Sleep;
  readonly now?: () => number;
}

/**
 * Applies parked records again, after a fix: per projection and source item, in sequence order, from where
 * the item was stopped. Those that apply are removed; the first that fails again stays parked with its new
 * error, and so do the records behind it. The write is conditional on the checkpoint like any other, so a
 * redrive may run while the live consumer does.
 */
export class Redriver {
  private readonly maxRounds: number;
  private readonly backoff: BackoffPolicy;
  private readonly sleep: Sleep;
  private readonly now: () => number;

  constructor(
    private readonly projections: readonly Projection[],
    private readonly store: ReadModelStore,
    private readonly deadLetters: DeadLetterStore,
    private readonly logger: Logger,
    options: RedriveOptions = {},
  ) {
    this.maxRounds = options.maxRounds ?? 8;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
  }

  async redrive(filter: { projection?: string } = {}): Promise<RedriveResult> {
    const result: RedriveResult = { applied: [], obsolete: [], stillParked: [] };
    const groups = new Map<string, { generation: string; key: string }>();
    const projection = filter.projection === undefined ? undefined : this.projectionNamed(filter.projection);
    for await (const record of this.deadLetters.list(projection === undefined ? {} : { generation: generationOf(projection) })) {
      groups.set(`${record.generation}\u0000${record.key}`, { generation: record.generation, key: record.key });
    }
    for (const group of groups.values()) {
      const outcome = await this.redriveItem(group.generation, group.key);
      result.applied.push(...outcome.applied);
      result.obsolete.push(...outcome.obsolete);
      result.stillParked.push(...outcome.stillParked);
    }
    return result;
  }

  private projectionNamed(name: string): Projection {
    const projection = this.projections.find((candidate) => candidate.name === name);
    if (projection === undefined) {
      throw new StreamfoldError('CONFIGURATION', `no projection named "${name}" in this module`, { projection: name });
    }
    return projection;
  }

  /** One projection's parked records of one source item. */
  private async redriveItem(generation: string, keyId: string): Promise<RedriveResult> {
    const projection = this.projections.find((candidate) => generationOf(candidate) === generation);
    const parked = await this.parkedOf(generation, keyId);
    if (projection === undefined) {
      this.logger.warn({ generation, key: keyId }, 'parked records of a projection this module does not define');
      return { applied: [], obsolete: [], stillParked: parked };
    }
    const key = keyFromId(keyId);
    for (let round = 0; round < this.maxRounds; round += 1) {
      if (round > 0) await this.sleep(backoffDelay(this.backoff, round - 1));
      const records = round === 0 ? parked : await this.parkedOf(generation, keyId);
      const loaded = await this.store.load([key], projection.kind === 'view' ? [generation] : []);
      const checkpoint = loaded.checkpoints.get(key.id);
      const entry = checkpoint?.entries.get(generation);
      const blockedAt = entry?.blockedAt;
      // Not blocked: the item went on past these records (it skips poison, or an earlier redrive applied them).
      const obsolete = records.filter(
        (record) => blockedAt === undefined || compareSequences(record.sequence, blockedAt) < 0,
      );
      const pending = records.filter((record) => !obsolete.includes(record));
      if (pending.length === 0 || entry === undefined || checkpoint === undefined) {
        await this.deadLetters.remove(obsolete);
        return { applied: [], obsolete, stillParked: [] };
      }

      const parser = new ImageParser();
      const storedRow = loaded.viewRows.get(viewRowId(generation, key));
      let state = storedRow?.state;
      let contribution = entry.contribution;
      const steps: RunStep[] = [];
      let failedAt: { index: number; error: StreamfoldError } | undefined;
      for (const [index, record] of pending.entries()) {
        const decoded = decodeRecord(record.record, 0);
        if (!decoded.ok) {
          failedAt = { index, error: decoded.error.locate({ projection: projection.name }) };
          break;
        }
        steps.push({
          type: 'event',
          sequence: record.sequence,
          identifier: decoded.identifier,
          event: decoded.event,
          record: record.record,
        });
        try {
          ({ state, contribution } = applyEvent(projection, decoded.event, state, contribution, parser));
        } catch (error) {
          failedAt = { index, error: error as StreamfoldError };
          steps.pop();
          break;
        }
      }
      const appliedCount = failedAt?.index ?? pending.length;
      if (appliedCount === 0 && failedAt !== undefined) {
        const stillParked = await this.refreshError(pending, failedAt.error);
        await this.deadLetters.remove(obsolete);
        return { applied: [], obsolete, stillParked };
      }
      const fold: Fold = {
        end: appliedCount,
        applied: new Set(Array.from({ length: appliedCount }, (_, index) => index)),
        parked: [],
        sequence: entry.sequence,
        state,
        contribution,
        blockedAt: failedAt === undefined ? undefined : pending[failedAt.index]?.sequence,
        failure: undefined,
      };
      const changes = projectionChanges(projection, steps, entry, storedRow, fold);
      const write: KeyWrite = {
        key,
        expectedRevision: checkpoint.revision,
        checkpoint: {
          revision: checkpoint.revision + 1,
          entries: new Map([...checkpoint.entries, [generation, changes.entry ?? entry]]),
        },
        views: changes.view === undefined ? [] : [changes.view],
        sums: changes.sums,
        parked: [],
      };
      const [outcome] = await this.store.commit([write]);
      if (outcome?.status === 'conflict' || outcome?.status === 'retry') continue;
      if (outcome?.status === 'failed') return { applied: [], obsolete: [], stillParked: records };

      const applied = pending.slice(0, appliedCount);
      const stillParked =
        failedAt === undefined ? [] : await this.refreshError(pending.slice(appliedCount), failedAt.error);
      await this.deadLetters.remove([...applied, ...obsolete]);
      return { applied, obsolete, stillParked };
    }
    return { applied: [], obsolete: [], stillParked: parked };
  }

  /** The first record failed again: it stays parked with the new error, the rest behind it as they are. */
  private async refreshError(remaining: readonly ParkedRecord[], error: StreamfoldError): Promise<ParkedRecord[]> {
    const [failed, ...waiting] = remaining;
    if (failed === undefined) return [];
    const refreshed: ParkedRecord = {
      ...failed,
      reason: 'failed',
      error: { code: error.code, message: error.message, field: error.field },
      parkedAt: new Date(this.now()).toISOString(),
    };
    await this.deadLetters.park([refreshed]);
    return [refreshed, ...waiting];
  }

  private async parkedOf(generation: string, key: string): Promise<ParkedRecord[]> {
    const records: ParkedRecord[] = [];
    for await (const record of this.deadLetters.list({ generation, key })) records.push(record);
    return records.sort((a, b) => compareSequences(a.sequence, b.sequence));
  }
}

/** The canonical key id is the key's wire form, so the key comes back from it whole. */
function keyFromId(id: string): ItemKey {
  return itemKeyFromKeys(JSON.parse(id) as unknown, 'key');
}
