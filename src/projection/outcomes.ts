import { StreamfoldError, errorMessage, isStreamfoldError } from '../core/errors.js';
import type { KeyRun } from '../records/order.js';
import { eventIdOf } from './parked.js';
import type { KeyPlan } from './plan.js';
import type { KeyOutcome } from './runtime.js';

/** What a key's plan came to, once written. */
export function finished(plan: KeyPlan): KeyOutcome {
  return {
    key: plan.run.key,
    applied: plan.applied,
    parked: plan.parked,
    stale: plan.stale,
    parkedBefore: plan.parkedBefore,
    failure: plan.failure,
    newestTime: plan.newestTime,
    gaps: plan.gaps ?? [],
    byProjection: plan.byProjection,
    publishable: plan.publishable,
  };
}

/** A read-model write that failed, as its records are told: the store's own error, or one saying so. */
export function writeFailure(error: unknown, retryable: boolean): StreamfoldError {
  if (isStreamfoldError(error)) return error;
  return new StreamfoldError('STORE_WRITE_FAILED', `writing the read model failed: ${errorMessage(error)}`, { cause: error, retryable });
}

/** The key's writes did not land: nothing of this batch took effect for it, from `first` on. */
export function notWritten(run: KeyRun, first: FailurePoint | undefined, error: unknown, retryable: boolean): KeyOutcome {
  const cause = writeFailure(error, retryable);
  return {
    key: run.key,
    applied: 0,
    parked: 0,
    stale: 0,
    failure:
      first === undefined
        ? undefined
        : { sequence: first.sequence, eventID: first.eventID, error: cause.locate({ key: run.key.id, sequence: first.sequence, eventID: first.eventID }) },
    newestTime: undefined,
    gaps: [],
    byProjection: [],
    publishable: undefined,
  };
}

type FailurePoint = { readonly sequence: string; readonly eventID: string | undefined };

export function firstStep(run: KeyRun): FailurePoint | undefined {
  const step = run.steps[0];
  return step === undefined ? undefined : { sequence: step.sequence, eventID: eventIdOf(step) };
}
