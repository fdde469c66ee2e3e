import { StreamfoldError } from '../core/errors.js';
import type { ChangeEvent } from '../records/change-event.js';

export type FanOutTarget = 'eventbridge' | 'sqs';

/**
 * Which change events go out to a target, and how each becomes a message. Declared beside projections; the
 * destination (an event bus, a queue URL) may be given here or, per stage, by the consumer's environment.
 */
export interface FanOut {
  readonly kind: 'fan-out';
  readonly name: string;
  readonly target: FanOutTarget;
  /** An EventBridge bus name or ARN, or an SQS queue URL (FIFO when it ends in `.fifo`). */
  readonly destination?: string | undefined;
  /** Which events go out; all by default. */
  readonly select?: ((event: ChangeEvent) => boolean) | undefined;
  /** The message body; by default `defaultMessage(event)`. */
  readonly message?: ((event: ChangeEvent) => unknown) | undefined;
  /** EventBridge `DetailType`; by default `<table>.<INSERT|MODIFY|REMOVE>`. */
  readonly detailType?: ((event: ChangeEvent) => string) | undefined;
  /** EventBridge `Source`; by default `streamfold`. */
  readonly source?: string | undefined;
  /** Events replayed by a rebuild go out too; off by default. */
  readonly includeReplays?: boolean | undefined;
}

export function defineFanOut(definition: Omit<FanOut, 'kind'>): FanOut {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(definition.name)) {
    throw new StreamfoldError('INVALID_PROJECTION', 'a fan-out name is 1 to 64 letters, digits, ".", "_" or "-"', {
      projection: definition.name,
    });
  }
  if (definition.target !== 'eventbridge' && definition.target !== 'sqs') {
    throw new StreamfoldError('INVALID_PROJECTION', 'a fan-out target is "eventbridge" or "sqs"', {
      projection: definition.name,
    });
  }
  return Object.freeze({ ...definition, kind: 'fan-out' as const });
}

export function isFanOut(value: unknown): value is FanOut {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'fan-out';
}
