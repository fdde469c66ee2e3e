import { StreamfoldError, errorMessage, isStreamfoldError } from '../errors.js';
import type { Logger } from '../logging.js';
import { createHash } from 'node:crypto';
import type { ChangeEvent, UndecodableRecord } from '../records/change-event.js';
import type { ItemKey } from '../records/item-key.js';
import type { KeyRun } from '../records/order.js';
import { backoffDelay, DEFAULT_BACKOFF, sleep as defaultSleep, type BackoffPolicy, type Sleep } from '../retry.js';
import { assertDistinctProjections, generationOf, type Projection } from './define.js';
import { parkedRecordOf, planKey, type KeyFailure, type KeyPlan, type PlanOptions, type ProjectionCounts, type PublishableEvent } from './plan.js';
import type { CommitOutcome, DeadLetterStore, GapReport, LoadedState, ReadModelStore } from './ports.js';
import { ImageParser } from './typed-event.js';

export interface RuntimeOptions {
  /** Rounds of read, fold and write before a key whose writes keep failing is reported as failed. */
  readonly maxRounds?: number;
  readonly backoff?: BackoffPolicy;
  readonly sleep?: Sleep;
  /** Where records that can never succeed are parked; without one they are reported as failed instead. */
  readonly deadLetters?: DeadLetterStore | undefined;
  readonly now?: () => number;
  /** How one key's records become a write: per item for state tables, per stream for event logs. */
  readonly planner?: Planner;
}

export type Planner = (run: KeyRun, loaded: LoadedState, parser: ImageParser, options: PlanOptions) => KeyPlan;

/** What every kind of projection has: a name, a version, and a kind that says whether it keeps view rows. */
export interface NamedProjection {
  readonly name: string;
  readonly version: number;
  readonly kind: 'view' | 'sum' | 'event-view' | 'event-sum';
}

export interface KeyOutcome {
  readonly key: ItemKey;
  readonly applied: number;
  readonly parked: number;
  readonly stale: number;
  readonly failure: KeyFailure | undefined;
  readonly newestTime: number | undefined;
  readonly gaps: readonly GapReport[];
  readonly byProjection: readonly ProjectionCounts[];
  /** Event logs: what fan-out may publish, in version order. */
  readonly publishable: readonly PublishableEvent[] | undefined;
}

export const DEFAULT_MAX_ROUNDS = 8;

/**
 * Applies per-key runs to every projection: read the checkpoints and view rows of the touched keys, fold
 * what is not applied yet, and write each key's result atomically with its checkpoint. A write that meets
 * a moved checkpoint (another consumer, or an earlier attempt that did land) is planned again from a fresh
 * read, which is what makes redelivery and concurrent writers harmless.
 */
export class ProjectionRuntime {
  private readonly viewGenerations: readonly string[];
  private readonly maxRounds: number;
  private readonly backoff: BackoffPolicy;
  private readonly sleep: Sleep;
  private readonly deadLetters: DeadLetterStore | undefined;
  private readonly now: () => number;

  private readonly planner: Planner;

  constructor(
    readonly projections: readonly NamedProjection[],
    private readonly store: ReadModelStore,
    private readonly logger: Logger,
    options: RuntimeOptions = {},
  ) {
    assertDistinctProjections(projections);
    this.viewGenerations = projections.filter((p) => p.kind === 'view' || p.kind === 'event-view').map(generationOf);
    this.planner =
      options.planner ??
      ((run, loaded, parser, planOptions) => planKey(run, loaded, projections as readonly Projection[], parser, planOptions));
    this.maxRounds = options.maxRounds ?? DEFAULT_MAX_ROUNDS;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.sleep = options.sleep ?? defaultSleep;
    this.deadLetters = options.deadLetters;
    this.now = options.now ?? Date.now;
  }

  async apply(runs: readonly KeyRun[]): Promise<KeyOutcome[]> {
    const outcomes = new Map<string, KeyOutcome>();
    const parser = new ImageParser();
    let pending = runs;
    let lastError: unknown;
    for (let round = 0; round < this.maxRounds && pending.length > 0; round += 1) {
      if (round > 0) await this.sleep(backoffDelay(this.backoff, round - 1));
      let loaded: LoadedState;
      try {
        loaded = await this.store.load(
          pending.map((run) => run.key),
          this.viewGenerations,
        );
      } catch (error) {
        lastError = error;
        this.logger.warn({ err: error, round, keys: pending.length }, 'reading checkpoints failed; retrying');
        continue;
      }
      const planOptions = { parking: this.deadLetters !== undefined, now: this.now };
      const plans = pending.map((run) => this.planner(run, loaded, parser, planOptions));
      const writing = plans.filter((plan) => plan.write !== undefined);
      for (const plan of plans) if (plan.write === undefined) outcomes.set(plan.run.key.id, finished(plan));
      const results = await this.commit(writing);
      const again: KeyRun[] = [];
      writing.forEach((plan, index) => {
        const result = results[index] ?? { status: 'retry', error: new Error('no outcome') };
        switch (result.status) {
          case 'committed':
            outcomes.set(plan.run.key.id, finished(plan));
            break;
          case 'conflict':
            again.push(plan.run);
            break;
          case 'retry':
            lastError = result.error;
            again.push(plan.run);
            break;
          case 'failed':
            outcomes.set(plan.run.key.id, notWritten(plan.run, plan.firstApplied ?? firstStep(plan.run), result.error, false));
            break;
          default: {
            const unexpected: never = result;
            throw new Error(`unexpected commit outcome ${JSON.stringify(unexpected)}`);
          }
        }
      });
      pending = again;
    }
    // Nothing is known of these keys' progress, so they are reported from their first record: Lambda
    // redelivers from there, and what did land is then skipped as stale.
    for (const run of pending) outcomes.set(run.key.id, notWritten(run, firstStep(run), lastError, true));
    const ordered = runs.map((run) => outcomes.get(run.key.id)).filter((o): o is KeyOutcome => o !== undefined);
    for (const outcome of ordered) if (outcome.failure !== undefined) this.logFailure(outcome.key, outcome.failure);
    return ordered;
  }

  /**
   * Parks records whose item cannot be read (no usable `Keys`): they can never be applied, and nothing but
   * their position is known. Answers whether they were parked; without a dead-letter store they are not.
   */
  async parkUnreadable(records: readonly UndecodableRecord[]): Promise<boolean> {
    if (records.length === 0) return true;
    if (this.deadLetters === undefined) return false;
    const parkedAt = new Date(this.now()).toISOString();
    await this.deadLetters.park(
      records.map((record) => {
        const digest = createHash('sha256').update(JSON.stringify(record.record) ?? '').digest('hex').slice(0, 16);
        return {
          id: `*|unreadable|${digest}`,
          generation: '*',
          projection: '*',
          key: `(unreadable ${digest})`,
          sequence: record.sequence ?? '0',
          eventID: record.eventID,
          reason: 'failed',
          error: { code: record.error.code, message: record.error.message, field: record.error.field },
          record: record.record,
          parkedAt,
        };
      }),
    );
    for (const record of records) {
      this.logger
        .child({ eventID: record.eventID, sequence: record.sequence })
        .warn({ error: record.error.toJSON() }, 'record without a readable key parked');
    }
    return true;
  }

  /**
   * Parks records that are reported but never folded (changes to the items of an append-only event log),
   * once per projection, without holding anything back. Without a dead-letter store they are only logged.
   */
  async parkMisuse(
    records: readonly { readonly event: ChangeEvent; readonly record: unknown; readonly error: StreamfoldError }[],
  ): Promise<boolean> {
    if (records.length === 0) return true;
    if (this.deadLetters === undefined) return false;
    const now = this.now();
    await this.deadLetters.park(
      this.projections.flatMap((projection) =>
        records.map(({ event, record, error }) =>
          parkedRecordOf(
            {
              generation: generationOf(projection),
              projection: projection.name,
              key: event.key.id,
              sequence: event.sequence,
              eventID: event.eventID,
              reason: 'failed',
              record,
            },
            error,
            now,
          ),
        ),
      ),
    );
    return true;
  }

  /**
   * Parks what must be parked, then writes. Parking comes first and is idempotent (a parked record's id is
   * its projection, key and sequence), so a crash between the two parks the record again on redelivery.
   */
  private async commit(plans: readonly KeyPlan[]): Promise<CommitOutcome[]> {
    if (plans.length === 0) return [];
    const outcomes = new Array<CommitOutcome | undefined>(plans.length);
    const parking = plans.flatMap((plan) => plan.write?.parked ?? []);
    if (parking.length > 0 && this.deadLetters !== undefined) {
      try {
        await this.deadLetters.park(parking);
        for (const record of parking) {
          this.logger
            .child({ projection: record.projection, key: record.key, sequence: record.sequence, eventID: record.eventID })
            .warn({ reason: record.reason, error: record.error }, 'record parked');
        }
      } catch (error) {
        plans.forEach((plan, index) => {
          if ((plan.write?.parked.length ?? 0) > 0) outcomes[index] = { status: 'retry', error };
        });
      }
    }
    const writing = plans.filter((_, index) => outcomes[index] === undefined);
    let written: CommitOutcome[];
    try {
      written = await this.store.commit(writing.map((plan) => plan.write).filter((w) => w !== undefined));
    } catch (error) {
      written = writing.map(() => ({ status: 'retry', error }));
    }
    let next = 0;
    return plans.map((_, index) => outcomes[index] ?? written[next++] ?? { status: 'retry', error: new Error('no outcome') });
  }

  private logFailure(key: ItemKey, failure: KeyFailure): void {
    this.logger
      .child({
        projection: failure.error.projection,
        key: key.id,
        sequence: failure.sequence,
        eventID: failure.eventID,
      })
      .error({ err: failure.error.toJSON(), code: failure.error.code }, failure.error.message);
  }
}

function finished(plan: KeyPlan): KeyOutcome {
  return {
    key: plan.run.key,
    applied: plan.applied,
    parked: plan.parked,
    stale: plan.stale,
    failure: plan.failure,
    newestTime: plan.newestTime,
    gaps: plan.gaps ?? [],
    byProjection: plan.byProjection ?? [],
    publishable: plan.publishable,
  };
}

/** A read-model write that failed, as its records are told: the store's own error, or one saying so. */
export function writeFailure(error: unknown, retryable: boolean): StreamfoldError {
  if (isStreamfoldError(error)) return error;
  return new StreamfoldError('STORE_WRITE_FAILED', `writing the read model failed: ${errorMessage(error)}`, { cause: error, retryable });
}

/** The key's writes did not land: nothing of this batch took effect for it, from `first` on. */
function notWritten(run: KeyRun, first: FailurePoint | undefined, error: unknown, retryable: boolean): KeyOutcome {
  const cause = writeFailure(error, retryable);
  return {
    key: run.key,
    applied: 0,
    parked: 0,
    stale: 0,
    failure:
      first === undefined
        ? undefined
        : {
            sequence: first.sequence,
            eventID: first.eventID,
            error: cause.locate({ key: run.key.id, sequence: first.sequence, eventID: first.eventID }),
          },
    newestTime: undefined,
    gaps: [],
    byProjection: [],
    publishable: undefined,
  };
}

type FailurePoint = { readonly sequence: string; readonly eventID: string | undefined };

function firstStep(run: KeyRun): FailurePoint | undefined {
  const step = run.steps[0];
  if (step === undefined) return undefined;
  return { sequence: step.sequence, eventID: step.type === 'event' ? step.event.eventID : step.failure.eventID };
}
