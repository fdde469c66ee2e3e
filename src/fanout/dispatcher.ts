import { StreamfoldError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import type { Deadline } from '../core/retry.js';
import { parkedRecordOf } from '../projection/parked.js';
import type { DeadLetterStore, ParkedRecord } from '../projection/ports.js';
import type { ChangeEvent } from '../records/change-event.js';
import type { KeyRun } from '../records/order.js';
import { compareSequences } from '../records/sequence.js';
import type { FanOut } from './define.js';
import { defaultMessage, messageBody } from './message.js';
import type { OutgoingMessage, PublishOutcome, Publisher } from './ports.js';

export interface FanOutRoute {
  readonly fanOut: FanOut;
  readonly publisher: Publisher;
}

/** The events of a batch that may go out: each key's records before the point where it failed, if it did. */
export interface Publishable {
  readonly run: KeyRun;
  /** The key's failed sequence: records from it on were not applied and will come again. */
  readonly stopAt: string | undefined;
  /** Sequences of events no redelivery brings back (they had waited in a checkpoint): parked if not sent. */
  readonly notRedelivered?: ReadonlySet<string>;
}

export interface DispatchResult {
  readonly published: number;
  /** Per item key, the lowest sequence whose messages did not all go out. */
  readonly failures: readonly { readonly key: string; readonly sequence: string; readonly error: StreamfoldError }[];
  readonly parked: number;
}

const DEFAULT_SOURCE = 'streamfold';
/** DynamoDB's own names for the kinds of change, as in `Orders.MODIFY`. */
const EVENT_NAMES = { insert: 'INSERT', modify: 'MODIFY', remove: 'REMOVE' } as const;

/**
 * Publishes a batch's change events after its projections applied. Delivery is at least once: a record
 * whose messages did not all go out is reported failed, and Lambda delivers it (and what follows) again.
 * A message that can never go out (too large, or its `message()` throws) is parked when parking is on, and
 * so is one that did not go out whose record no redelivery brings back.
 */
export class FanOutDispatcher {
  constructor(
    private readonly routes: readonly FanOutRoute[],
    private readonly logger: Logger,
    private readonly deadLetters: DeadLetterStore | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.routes.length > 0;
  }

  async dispatch(batch: readonly Publishable[], deadline?: Deadline): Promise<DispatchResult> {
    let published = 0;
    const failures = new Map<string, { key: string; sequence: string; error: StreamfoldError }>();
    const toPark: ParkedRecord[] = [];
    const fail = (
      route: FanOutRoute,
      event: ChangeEvent,
      record: unknown,
      outcome: PublishOutcome & { ok: false },
      redelivered: boolean,
    ): void => {
      if ((!outcome.retryable || !redelivered) && this.deadLetters !== undefined) {
        toPark.push(this.parked(route, event, record, outcome.error));
        return;
      }
      const previous = failures.get(event.key.id);
      if (previous === undefined || compareSequences(event.sequence, previous.sequence) < 0) {
        failures.set(event.key.id, { key: event.key.id, sequence: event.sequence, error: outcome.error });
      }
    };
    await Promise.all(
      this.routes.map(async (route) => {
        const messages: OutgoingMessage[] = [];
        const origins: { event: ChangeEvent; record: unknown; redelivered: boolean }[] = [];
        for (const { event, record, redelivered } of eventsOf(batch)) {
          if (event.replay && route.fanOut.includeReplays !== true) continue;
          let message: OutgoingMessage;
          try {
            if (route.fanOut.select !== undefined && !route.fanOut.select(event)) continue;
            message = this.messageOf(route.fanOut, event);
          } catch (error) {
            const failure = new StreamfoldError('PROJECTION_FAILED', `fan-out ${route.fanOut.name}: ${errorMessage(error)}`, {
              cause: error,
              eventID: event.eventID,
              key: event.key.id,
              sequence: event.sequence,
            });
            fail(route, event, record, { ok: false, retryable: false, error: failure }, redelivered);
            continue;
          }
          messages.push(message);
          origins.push({ event, record, redelivered });
        }
        if (messages.length === 0) return;
        const outcomes = await route.publisher.publish(messages, deadline);
        outcomes.forEach((outcome, index) => {
          const origin = origins[index];
          if (origin === undefined) return;
          if (outcome.ok) published += 1;
          else fail(route, origin.event, origin.record, outcome, origin.redelivered);
        });
      }),
    );
    let parked = toPark.length;
    if (toPark.length > 0 && this.deadLetters !== undefined) {
      try {
        await this.deadLetters.park(toPark);
        for (const record of toPark) {
          this.logger
            .child({ projection: record.projection, key: record.key, sequence: record.sequence, eventID: record.eventID })
            .warn({ error: record.error }, 'message parked');
        }
      } catch (error) {
        // Parking failed: the messages' records are reported instead, and Lambda delivers them again.
        parked = 0;
        for (const record of toPark) {
          const failure = new StreamfoldError('STORE_WRITE_FAILED', `a message could not be parked: ${errorMessage(error)}`, {
            cause: error,
            key: record.key,
            sequence: record.sequence,
            eventID: record.eventID,
            retryable: true,
          });
          const previous = failures.get(record.key);
          if (previous === undefined || compareSequences(record.sequence, previous.sequence) < 0) {
            failures.set(record.key, { key: record.key, sequence: record.sequence, error: failure });
          }
        }
      }
    }
    for (const failure of failures.values()) {
      this.logger
        .child({ key: failure.key, sequence: failure.sequence, eventID: failure.error.eventID })
        .error({ err: failure.error.toJSON() }, 'fan-out failed');
    }
    return { published, failures: [...failures.values()], parked };
  }

  private messageOf(fanOut: FanOut, event: ChangeEvent): OutgoingMessage {
    return {
      eventID: event.eventID,
      key: event.key.id,
      sequence: event.sequence,
      body: messageBody(fanOut.message === undefined ? defaultMessage(event) : fanOut.message(event)),
      detailType: fanOut.detailType?.(event) ?? `${event.source.table ?? 'Table'}.${EVENT_NAMES[event.kind]}`,
      source: fanOut.source ?? DEFAULT_SOURCE,
      time: event.approximateTime,
    };
  }

  private parked(route: FanOutRoute, event: ChangeEvent, record: unknown, error: StreamfoldError): ParkedRecord {
    const generation = `fan-out:${route.fanOut.name}`;
    const placed = error.locate({ eventID: event.eventID, key: event.key.id, sequence: event.sequence });
    const place = { generation, projection: generation, key: event.key.id, sequence: event.sequence, eventID: event.eventID };
    return parkedRecordOf({ ...place, reason: 'failed', record }, placed, this.now());
  }
}

function* eventsOf(batch: readonly Publishable[]): Generator<{ event: ChangeEvent; record: unknown; redelivered: boolean }> {
  for (const { run, stopAt, notRedelivered } of batch) {
    for (const step of run.steps) {
      if (stopAt !== undefined && compareSequences(step.sequence, stopAt) >= 0) break;
      if (step.type === 'event') {
        yield { event: step.event, record: step.record, redelivered: notRedelivered?.has(step.sequence) !== true };
      }
    }
  }
}
