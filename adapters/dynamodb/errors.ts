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
const INVALID_REASONS = new Set(['ValidationError', 'ItemCollectionSizeLimitExceeded']);

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
