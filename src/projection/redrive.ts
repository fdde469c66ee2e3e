import { StreamfoldError } from '../errors.js';
import type { Logger } from '../logging.js';
import { decodeRecord } from '../records/decode.js';
import { itemKeyFromKeys, type ItemKey } from '../records/item-key.js';
import type { RunStep } from '../records/order.js';
import { compareSequences } from '../records/sequence.js';
import { backoffDelay, DEFAULT_BACKOFF, sleep as defaultSleep, type BackoffPolicy, type Sleep } from '../retry.js';
import type { EventLog, EventProjection } from '../eventlog/define.js';
import { planStream } from '../eventlog/plan.js';
import { locateEvent, streamIdOf, streamKey } from '../eventlog/streams.js';
import { generationOf } from './define.js';
import { isStateProjection, type AnyProjection } from './kinds.js';
import { applyEvent, keyWrite, projectionChanges, type Fold } from './plan.js';
import { DEFAULT_MAX_ROUNDS, writeFailure } from './runtime.js';
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
    private readonly projections: readonly AnyProjection[],
    private readonly store: ReadModelStore,
    private readonly deadLetters: DeadLetterStore,
    private readonly logger: Logger,
    options: RedriveOptions = {},
  ) {
    this.maxRounds = options.maxRounds ?? DEFAULT_MAX_ROUNDS;
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

  private projectionNamed(name: string): AnyProjection {
    const projection = this.projections.find((candidate) => candidate.name === name);
    if (projection === undefined) {
      throw new StreamfoldError('CONFIGURATION', `no projection named "${name}" in this module`, { projection: name });
    }
    return projection;
  }

  /** One projection's parked records of one source item. */
  private async redriveItem(generation: string, keyId: string): Promise<RedriveResult> {
    const found = this.projections.find((candidate) => generationOf(candidate) === generation);
    if (found === undefined) {
      this.logger.warn({ generation, key: keyId }, 'parked records of a projection this module does not define');
      return { applied: [], obsolete: [], stillParked: await this.parkedOf(generation, keyId) };
    }
    if (!isStateProjection(found)) return this.redriveStream(found, generation, keyId);
    const projection = found;
    const key = keyFromId(keyId);
    return this.inRounds(generation, keyId, async () => {
      const { loaded, records: listed, checkpoint, entry } = await this.read(key, generation, projection.kind === 'view');
      // Parked but not yet in the checkpoint (the live consumer is between the two): left for next time.
      const records = listed.filter((record) => entry !== undefined && compareSequences(record.sequence, entry.sequence) <= 0);
      // Blocked, the item waits from its poison record on. Not blocked (`onPoison: 'skip'`), only a parked
      // record that nothing has come after can still apply; older ones were overtaken.
      const from =
        entry?.blockedAt ??
        (entry !== undefined && records.some((record) => compareSequences(record.sequence, entry.sequence) === 0)
          ? entry.sequence
          : undefined);
      const obsolete = records.filter((record) => from === undefined || compareSequences(record.sequence, from) < 0);
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
        blockedAt: failedAt === undefined || projection.onPoison === 'skip' ? undefined : pending[failedAt.index]?.sequence,
        failure: undefined,
      };
      const changes = projectionChanges(projection, steps, entry, storedRow, fold);
      const write = keyWrite(
        key,
        checkpoint,
        new Map([...checkpoint.entries, [generation, changes.entry ?? entry]]),
        changes.view === undefined ? [] : [changes.view],
        changes.sums,
        [],
      );
      const refused = await this.commit(write, records);
      if (refused !== undefined) return refused;

      const applied = pending.slice(0, appliedCount);
      const stillParked =
        failedAt === undefined ? [] : await this.refreshError(pending.slice(appliedCount), failedAt.error);
      await this.deadLetters.remove([...applied, ...obsolete]);
      return { applied, obsolete, stillParked };
    });
  }

  /**
   * One event stream's parked events: folded again from where the stream was blocked, as if the block were
   * lifted, through the same planner as live events. What applies (or now waits for a gap, in the checkpoint)
   * leaves the dead-letter store; what fails again stays, with its new error.
   */
  private async redriveStream(projection: EventProjection, generation: string, keyId: string): Promise<RedriveResult> {
    const log = projection.log;
    const key = streamKey(log, streamIdOf(keyId));
    return this.inRounds(generation, keyId, async () => {
      const { loaded, records, checkpoint, entry } = await this.read(key, generation, projection.kind === 'event-view');
      if (checkpoint === undefined || entry === undefined) return { applied: [], obsolete: [], stillParked: records };
      // Versions the stream has passed were skipped (`onPoison: 'skip'`) or applied by an earlier redrive.
      const obsolete = records.filter((record) => BigInt(record.sequence) <= BigInt(entry.sequence));
      const unblocked = {
        ...loaded,
        checkpoints: new Map([
          [key.id, { ...checkpoint, entries: new Map([...checkpoint.entries, [generation, { ...entry, blockedAt: undefined }]]) }],
        ]),
      };
      const plan = planStream({ key, steps: records.map((record, index) => stepOf(record, log, index)) }, unblocked, [projection], log, {
        parking: true,
        now: this.now,
        sharingCheckpoint: this.projections.filter((other) => !isStateProjection(other) && other.log === log).length,
      });
      if (plan.write === undefined) {
        await this.deadLetters.remove(obsolete);
        return { applied: [], obsolete, stillParked: records.filter((record) => !obsolete.includes(record)) };
      }
      if (plan.write.parked.length > 0) await this.deadLetters.park(plan.write.parked);
      const refused = await this.commit(plan.write, records);
      if (refused !== undefined) return refused;
      // What applied, or now waits in the checkpoint for a gap, leaves the store; what failed again stays.
      const again = new Set(plan.write.parked.map((record) => record.id));
      const applied = records.filter((record) => !again.has(record.id) && !obsolete.includes(record));
      await this.deadLetters.remove([...applied, ...obsolete]);
      return { applied, obsolete, stillParked: [...plan.write.parked] };
    });
  }

  /**
   * Runs a round until it settles: `'again'` (the checkpoint moved under it) backs off and reads afresh. Past
   * the rounds allowed, the records stay parked as they are.
   */
  private async inRounds(generation: string, keyId: string, round: () => Promise<RedriveResult | 'again'>): Promise<RedriveResult> {
    for (let attempt = 0; attempt < this.maxRounds; attempt += 1) {
      if (attempt > 0) await this.sleep(backoffDelay(this.backoff, attempt - 1));
      const result = await round();
      if (result !== 'again') return result;
    }
    return { applied: [], obsolete: [], stillParked: await this.parkedOf(generation, keyId) };
  }

  /**
   * The checkpoint first, then the list: a record the live consumer parks after this read moves the
   * checkpoint, so the round's write meets a conflict and the round starts over.
   */
  private async read(key: ItemKey, generation: string, withViewRow: boolean) {
    const loaded = await this.store.load([key], withViewRow ? [generation] : []);
    const records = await this.parkedOf(generation, key.id);
    const checkpoint = loaded.checkpoints.get(key.id);
    return { loaded, records, checkpoint, entry: checkpoint?.entries.get(generation) };
  }

  /**
   * Commits a round's write. Answers nothing when it landed, `'again'` on a conflict or a throttle, and the
   * result when DynamoDB refused it for good (an item over 400 KB, say): the records stay, saying why.
   */
  private async commit(write: KeyWrite, records: readonly ParkedRecord[]): Promise<RedriveResult | 'again' | undefined> {
    const [outcome] = await this.store.commit([write]);
    if (outcome?.status === 'conflict' || outcome?.status === 'retry') return 'again';
    if (outcome?.status !== 'failed') return undefined;
    const error = writeFailure(outcome.error, false).locate({ key: write.key.id });
    return { applied: [], obsolete: [], stillParked: await this.refreshError(records, error) };
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

/** A parked event as the step of a stream run again: decoded, placed at its version. */
function stepOf(record: ParkedRecord, log: EventLog, index: number): RunStep {
  const decoded = decodeRecord(record.record, index);
  if (decoded.ok) {
    const located = locateEvent(decoded.event, log, index);
    if (!(located instanceof StreamfoldError)) {
      return {
        type: 'event',
        sequence: located.version,
        identifier: decoded.identifier,
        event: { ...decoded.event, key: located.key, sequence: located.version },
        record: record.record,
      };
    }
  }
  const error = decoded.ok ? new StreamfoldError('MALFORMED_RECORD', 'the parked event no longer names its stream') : decoded.error;
  return {
    type: 'undecodable',
    sequence: record.sequence,
    failure: { index, identifier: undefined, eventID: record.eventID, key: undefined, sequence: record.sequence, error, record: record.record },
  };
}
