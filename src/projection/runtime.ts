import { StreamfoldError, errorMessage, isStreamfoldError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import type { ItemKey } from '../records/item-key.js';
import type { KeyRun } from '../records/order.js';
import { backoffDelay, DEFAULT_BACKOFF, Deadline, sleep as defaultSleep, type BackoffPolicy, type Sleep } from '../core/retry.js';
import type { Lane, PlanContext } from './lane.js';
import { finished, firstStep, notWritten, writeFailure } from './outcomes.js';
import type { KeyFailure, KeyPlan, ProjectionCounts, PublishableEvent } from './plan.js';
import type { DeadLetterStore, GapReport, LoadedState, ParkedRecord, ReadModelStore } from './ports.js';
import { Refusals } from './refusals.js';
import { ImageParser } from './typed-event.js';

export interface RuntimeOptions {
  /** Rounds of read, fold and write before a key whose writes keep failing is reported as failed. */
  readonly maxRounds?: number;
  readonly backoff?: BackoffPolicy;
  readonly sleep?: Sleep;
  /** Where records that can never succeed are parked; without one they are reported as failed instead. */
  readonly deadLetters?: DeadLetterStore | undefined;
  readonly now?: () => number;
}

/** What every kind of projection has: a name, a version, and a kind that says whether it keeps view rows. */
export interface NamedProjection {
  readonly name: string;
  readonly version: number;
  readonly kind: 'view' | 'sum' | 'event-view' | 'event-sum';
  readonly onPoison?: 'wait' | 'skip' | undefined;
}

export interface KeyOutcome {
  readonly key: ItemKey;
  readonly applied: number;
  readonly parked: number;
  readonly stale: number;
  /** Of the stale records, those an earlier delivery parked (a state table's lane says; others leave it out). */
  readonly parkedBefore?: number;
  readonly failure: KeyFailure | undefined;
  readonly newestTime: number | undefined;
  readonly gaps: readonly GapReport[];
  readonly byProjection: readonly ProjectionCounts[];
  /** Event logs: what fan-out may publish, in version order. */
  readonly publishable: readonly PublishableEvent[] | undefined;
}

/** How one key's plan fared in a round: written, or why not. */
export type Settled =
  | { readonly status: 'committed'; readonly plan: KeyPlan }
  | { readonly status: 'conflict'; readonly plan: KeyPlan }
  | { readonly status: 'retry'; readonly plan: KeyPlan; readonly error: unknown }
  /** DynamoDB refused the write for good; the records at fault are now known: plan again. */
  | { readonly status: 'refused'; readonly plan: KeyPlan }
  /** Refused for good, and no record of it can be blamed: the key fails. */
  | { readonly status: 'failed'; readonly plan: KeyPlan; readonly error: StreamfoldError };

export interface SettleOptions {
  readonly parser: ImageParser;
  readonly refusals: Refusals;
  readonly deadline: Deadline;
  /** A redrive: only this generation is planned, with its block lifted. */
  readonly lifted?: string;
}

export const DEFAULT_MAX_ROUNDS = 8;

/**
 * Applies per-key runs through a lane: read the checkpoints and view rows of the touched keys, fold what is
 * not applied yet, and write each key's result atomically with its checkpoint. A write that meets a moved
 * checkpoint (another consumer, or an earlier attempt that did land) is planned again from a fresh read,
 * which is what makes redelivery and concurrent writers harmless.
 */
export class ProjectionRuntime {
  private readonly maxRounds: number;
  private readonly backoff: BackoffPolicy;
  private readonly sleep: Sleep;
  readonly deadLetters: DeadLetterStore | undefined;
  readonly now: () => number;

  constructor(
    readonly lane: Lane,
    readonly store: ReadModelStore,
    readonly logger: Logger,
    options: RuntimeOptions = {},
  ) {
    this.maxRounds = options.maxRounds ?? DEFAULT_MAX_ROUNDS;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.sleep = options.sleep ?? defaultSleep;
    this.deadLetters = options.deadLetters;
    this.now = options.now ?? Date.now;
  }

  get projections() {
    return this.lane.projections;
  }

  private readonly checkRow: PlanContext['checkRow'] = (generation, key, state) => this.store.viewRowRefusal?.(generation, key, state);

  async apply(runs: readonly KeyRun[], deadline: Deadline = Deadline.NONE): Promise<KeyOutcome[]> {
    const outcomes = new Map<string, KeyOutcome>();
    const options: SettleOptions = { parser: new ImageParser(), refusals: new Refusals(), deadline };
    // Records parked by a round whose write did not land: the plan that did land may have applied them.
    const strays = new Map<string, ParkedRecord[]>();
    const removable: ParkedRecord[] = [];
    let pending = runs;
    let lastError: unknown;
    for (let round = 0; round < this.maxRounds && pending.length > 0; round += 1) {
      const pause = round === 0 ? 0 : backoffDelay(this.backoff, round - 1);
      // Near Lambda's deadline no round starts: what is left is reported, rather than the batch killed.
      if (!deadline.allows(pause)) {
        lastError = new StreamfoldError('STORE_WRITE_FAILED', "stopped before Lambda's deadline; the records come again", { retryable: true });
        break;
      }
      await this.sleep(pause);
      let loaded: LoadedState;
      try {
        loaded = await this.load(pending.map((run) => run.key), deadline);
      } catch (error) {
        lastError = error;
        this.logger.warn({ err: error, round, keys: pending.length }, 'reading checkpoints failed; retrying');
        continue;
      }
      const again: KeyRun[] = [];
      for (const settled of await this.settle(pending, loaded, options)) {
        const { plan } = settled;
        switch (settled.status) {
          case 'committed':
            outcomes.set(plan.run.key.id, finished(plan));
            removable.push(...this.covered(strays.get(plan.run.key.id), plan, loaded));
            break;
          case 'conflict':
          case 'refused':
            if (plan.write !== undefined) strays.set(plan.run.key.id, [...(strays.get(plan.run.key.id) ?? []), ...plan.write.parked]);
            again.push(plan.run);
            break;
          case 'retry':
            lastError = settled.error;
            again.push(plan.run);
            break;
          case 'failed':
            outcomes.set(plan.run.key.id, notWritten(plan.run, plan.firstApplied ?? firstStep(plan.run), settled.error, false));
            break;
          default: {
            const unexpected: never = settled;
            throw new Error(`unexpected outcome ${JSON.stringify(unexpected)}`);
          }
        }
      }
      pending = again;
    }
    // Nothing is known of these keys' progress, so they are reported from their first record: Lambda
    // redelivers from there, and what did land is then skipped as stale.
    for (const run of pending) outcomes.set(run.key.id, notWritten(run, firstStep(run), lastError, true));
    await this.removeStrays(removable);
    const ordered = runs.map((run) => outcomes.get(run.key.id)).filter((o): o is KeyOutcome => o !== undefined);
    for (const outcome of ordered) if (outcome.failure !== undefined) this.logFailure(outcome.key, outcome.failure);
    return ordered;
  }

  /** Of the records parked by earlier rounds, those the checkpoint that landed has passed without waiting for them. */
  private covered(strays: readonly ParkedRecord[] | undefined, plan: KeyPlan, loaded: LoadedState): ParkedRecord[] {
    if (strays === undefined) return [];
    const kept = new Set(plan.write?.parked.map((record) => record.id));
    const checkpoint = plan.write?.checkpoint ?? loaded.checkpoints.get(plan.run.key.id);
    return strays.filter((record) => !kept.has(record.id) && this.lane.standing(checkpoint?.entries.get(record.generation), record) === 'covered');
  }

  /** Best effort: a covered record left behind is removed by the next redrive, never applied. */
  private async removeStrays(records: readonly ParkedRecord[]): Promise<void> {
    if (records.length === 0 || this.deadLetters === undefined) return;
    try {
      await this.deadLetters.remove(records);
    } catch (error) {
      this.logger.warn({ err: error, records: records.length }, 'could not remove parked records that were applied after all');
    }
  }

  load(keys: readonly ItemKey[], deadline: Deadline = Deadline.NONE): Promise<LoadedState> {
    return this.store.load(keys, this.lane.viewGenerations, deadline, { checkpointItems: this.lane.usesCheckpointItem });
  }

  /**
   * One round for runs whose state was just read: plan each (checking what DynamoDB would refuse before
   * sending), park what must be parked, then write. The live consumer and the redrive both come through here.
   */
  async settle(runs: readonly KeyRun[], loaded: LoadedState, options: SettleOptions): Promise<Settled[]> {
    const plans: (KeyPlan | Settled)[] = runs.map((run) => this.planChecked(run, loaded, options));
    const writing = plans.filter((plan): plan is KeyPlan => 'run' in plan && plan.write !== undefined);
    const results = await this.commit(writing, options.deadline);
    const resultOf = new Map(writing.map((plan, position) => [plan, results[position] ?? { status: 'retry' as const, error: new Error('no outcome') }]));
    return plans.map((entry): Settled => {
      if (!('run' in entry)) return entry;
      const result = resultOf.get(entry);
      if (result === undefined) return { status: 'committed', plan: entry };
      if (result.status !== 'refused') return { ...result, plan: entry };
      // With the totals DynamoDB's refusal made known, planning again finds the record at fault step by step.
      if (options.refusals.learn(result.totals ?? [])) return { status: 'refused', plan: entry };
      if (options.refusals.blame(entry, result.generations.map((generation) => ({ generation, error: result.error })), true)) {
        return { status: 'refused', plan: entry };
      }
      return { status: 'failed', plan: entry, error: result.error };
    });
  }

  /** Plans a run, and plans it again without each record whose write DynamoDB would refuse. */
  private planChecked(run: KeyRun, loaded: LoadedState, options: SettleOptions): KeyPlan | Settled {
    const parking = this.deadLetters !== undefined;
    for (;;) {
      const context = {
        parking,
        now: this.now,
        parser: options.parser,
        refused: options.refusals.of(run.key.id),
        lifted: options.lifted,
        checkRow: this.checkRow,
        totals: options.refusals.totals,
      };
      const plan = this.lane.plan(run, loaded, context);
      const refusals = plan.write === undefined ? [] : (this.store.refusals?.(plan.write) ?? []);
      if (refusals.length === 0) return plan;
      // Without parking, a refused record is reported like any poison record: the key stops there.
      if (!parking || !options.refusals.blame(plan, refusals, false)) {
        return { status: 'failed', plan, error: (refusals[0]?.error ?? writeFailure(undefined, false)).locate({ key: run.key.id }) };
      }
    }
  }

  /**
   * Parks what must be parked, then writes. Parking comes first and is idempotent (a parked record's id is
   * its projection, key and sequence), so a crash between the two parks the record again on redelivery.
   */
  private async commit(plans: readonly KeyPlan[], deadline: Deadline) {
    if (plans.length === 0) return [];
    const parking = plans.flatMap((plan) => plan.write?.parked ?? []);
    let parkingError: unknown;
    if (parking.length > 0 && this.deadLetters !== undefined) {
      try {
        await this.deadLetters.park(parking);
        for (const record of parking) {
          this.logger
            .child({ projection: record.projection, key: record.key, sequence: record.sequence, eventID: record.eventID })
            .warn({ reason: record.reason, error: record.error }, 'record parked');
        }
      } catch (error) {
        parkingError = isStreamfoldError(error)
          ? error
          : new StreamfoldError('STORE_WRITE_FAILED', `parking records failed: ${errorMessage(error)}`, { cause: error, retryable: true });
      }
    }
    const parked = (plan: KeyPlan) => parkingError !== undefined && (plan.write?.parked.length ?? 0) > 0;
    const writing = plans.filter((plan) => !parked(plan));
    let written;
    try {
      written = await this.store.commit(writing.map((plan) => plan.write).filter((write) => write !== undefined), deadline);
    } catch (error) {
      written = writing.map(() => ({ status: 'retry' as const, error }));
    }
    let next = 0;
    return plans.map((plan) => (parked(plan) ? { status: 'retry' as const, error: parkingError } : (written[next++] ?? { status: 'retry' as const, error: new Error('no outcome') })));
  }

  private logFailure(key: ItemKey, failure: KeyFailure): void {
    this.logger
      .child({ projection: failure.error.projection, key: key.id, sequence: failure.sequence, eventID: failure.eventID })
      .error({ err: failure.error.toJSON(), code: failure.error.code }, failure.error.message);
  }
}
