/**
 * What a failed DynamoDB write means for the engine. AWS errors are translated here and nowhere else.
 *  - conflict: a condition failed, someone else wrote first; read again and plan again.
 *  - throttled: the same request may pass after a pause.
 *  - invalid: the request itself is wrong (an item too large, a number out of range); it will never pass.
 *  - unknown: a network fault or a server error; the write may or may not have happened.
 */
export type WriteErrorKind = 'conflict' | 'throttled' | 'invalid' | 'unknown';

const THROTTLING_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TransactionInProgressException',
  'TransactionConflictException',
]);

const THROTTLING_REASONS = new Set(['ThrottlingError', 'TransactionConflict', 'ProvisionedThroughputExceeded']);
/** A transaction's cancellation reasons, and a PartiQL statement's error codes, that no resending can pass. */
export const INVALID_REASONS: ReadonlySet<string> = new Set(['ValidationError', 'ItemCollectionSizeLimitExceeded']);
/** A statement's codes for an item someone else wrote first (its condition failed, or an `INSERT` met it). */
const STATEMENT_CONFLICTS = new Set(['ConditionalCheckFailed', 'DuplicateItem']);
/** Not written, and may pass: a throttle, a conflict with a transaction, a server error. */
const STATEMENT_PASSING = new Set(['ProvisionedThroughputExceeded', 'ThrottlingError', 'RequestLimitExceeded', 'TransactionConflict', 'InternalServerError']);

interface CancellationReason {
  readonly Code?: string | undefined;
  readonly Message?: string | undefined;
}

export function classifyWriteError(error: unknown): WriteErrorKind {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TransactionCanceledException') {
    const reasons = cancellationReasons(error);
    if (reasons.some((reason) => reason.Code === 'ConditionalCheckFailed')) return 'conflict';
    if (reasons.some((reason) => INVALID_REASONS.has(reason.Code ?? ''))) return 'invalid';
    if (reasons.some((reason) => THROTTLING_REASONS.has(reason.Code ?? ''))) return 'throttled';
    return 'unknown';
  }
  if (name === 'ConditionalCheckFailedException') return 'conflict';
  if (typeof name === 'string' && THROTTLING_ERRORS.has(name)) return 'throttled';
  if (name === 'ValidationException') return 'invalid';
  return 'unknown';
}

export function cancellationReasons(error: unknown): readonly CancellationReason[] {
  const reasons = (error as { CancellationReasons?: unknown } | null)?.CancellationReasons;
  return Array.isArray(reasons) ? (reasons as CancellationReason[]) : [];
}

/**
 * What one statement's error code in a `BatchExecuteStatement` answer means: `throttled` is not written and
 * may pass when sent again (each statement is conditional, so that is safe); `undefined`, a code not known.
 */
export function classifyStatementError(code: string): Exclude<WriteErrorKind, 'unknown'> | undefined {
  if (STATEMENT_CONFLICTS.has(code)) return 'conflict';
  if (INVALID_REASONS.has(code)) return 'invalid';
  if (STATEMENT_PASSING.has(code)) return 'throttled';
  return undefined;
}
