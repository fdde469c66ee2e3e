import type { StreamfoldError } from '../core/errors.js';
import type { Deadline } from '../core/retry.js';

/** One message for one change event, ready for any target. */
export interface OutgoingMessage {
  readonly eventID: string;
  /** The source item's key: FIFO queues use it as the message group. */
  readonly key: string;
  readonly sequence: string;
  readonly body: string;
  readonly detailType: string;
  readonly source: string;
  readonly time: number | undefined;
}

/** After the retries: delivered, or not, and whether trying later could help. */
export type PublishOutcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly retryable: boolean; readonly error: StreamfoldError };

/** A fan-out target: EventBridge, SQS. Outcomes come back in the order of the messages. */
export interface Publisher {
  /** `deadline` bounds the retries: none starts that would run into Lambda's deadline. */
  publish(messages: readonly OutgoingMessage[], deadline?: Deadline): Promise<PublishOutcome[]>;
}
