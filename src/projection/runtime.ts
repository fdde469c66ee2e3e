import { StreamfoldError, errorMessage, isStreamfoldError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { ItemKey } from '../records/item-key.js';
import type { KeyRun } from '../records/order.js';
import { backoffDelay, DEFAULT_BACKOFF, sleep as defaultSleep, type BackoffPolicy, type Sleep } from '../retry.js';
import { assertDistinctProjections, generationOf, type Projection } from './define.js';
import { planKey, type KeyFailure, type KeyPlan } from './plan.js';
import type { CommitOutcome, LoadedState, ReadModelStore } from './ports.js';
import { ImageParser } from './typed-event.js';

export interface RuntimeOptions {
  /** Rounds of read, fold and write before a key whose writes keep failing is reported as failed. */
  readonly maxRounds?: number;
  readonly backoff?: BackoffPolicy;
  readonly sleep?: Sleep;
}

export interface KeyOutcome {
  readonly key: ItemKey;
  readonly applied: number;
  readonly stale: number;
  readonly failure: KeyFailure | undefined;
  readonly newestTime: number | undefined;
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

  constructor(
    readonly projections: readonly Projection[],
    private readonly store: ReadModelStore,
    private readonly logger: Logger,
    options: RuntimeOptions = {},
  ) {
    assertDistinctProjections(projections);
    this.viewGenerations = projections.filter((p) => p.kind === 'view').map(generationOf);
    this.maxRounds = options.maxRounds ?? DEFAULT_MAX_ROUNDS;
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.sleep = options.sleep ?? defaultSleep;
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
      const plans = pending.map((run) => planKey(run, loaded, this.projections, parser));
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

  private async commit(plans: readonly KeyPlan[]): Promise<CommitOutcome[]> {
    if (plans.length === 0) return [];
    try {
      return await this.store.commit(plans.map((plan) => plan.write).filter((w) => w !== undefined));
    } catch (error) {
      return plans.map(() => ({ status: 'retry', error }));
    }
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
    stale: plan.stale,
    failure: plan.failure,
    newestTime: plan.newestTime,
  };
}

/** The key's writes did not land: nothing of this batch took effect for it, from `first` on. */
function notWritten(run: KeyRun, first: FailurePoint | undefined, error: unknown, retryable: boolean): KeyOutcome {
  const cause = isStreamfoldError(error)
    ? error
    : new StreamfoldError('STORE_WRITE_FAILED', `writing the read model failed: ${errorMessage(error)}`, {
        cause: error,
        retryable,
      });
  return {
    key: run.key,
    applied: 0,
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
  };
}

type FailurePoint = { readonly sequence: string; readonly eventID: string | undefined };

function firstStep(run: KeyRun): FailurePoint | undefined {
  const step = run.steps[0];
  if (step === undefined) return undefined;
  return { sequence: step.sequence, eventID: step.type === 'event' ? step.event.eventID : step.failure.eventID };
}
