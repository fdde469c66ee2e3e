import type * as z from 'zod';
import { StreamfoldError } from '../core/errors.js';
import type { Item } from '../records/attribute-value.js';
import { assertNameAndVersion, type Contribution } from '../projection/define.js';

/**
 * An event store table: one item per domain event, keyed by stream id (partition key) and version (sort
 * key), only ever inserted. `events` is a zod discriminated union over `{ type, payload }`.
 */
export interface EventLog<Events extends z.ZodType = z.ZodType> {
  readonly kind: 'event-log';
  /** The attribute holding the stream id (the partition key). */
  readonly streamId: string;
  /** The attribute holding the version (the sort key): 1, 2, 3, … without gaps. */
  readonly version: string;
  /** The attribute holding the event type. */
  readonly type: string;
  /** The attribute holding the event's payload. */
  readonly payload: string;
  readonly events: Events;
  /** How long a gap in a stream's versions may stay open before it is reported. */
  readonly gapTimeoutMs: number;
}

/** A domain event as a projection sees it: the parsed `{ type, payload }` and where it sits in its stream. */
export type DomainEvent<Parsed> = Parsed & {
  readonly streamId: string;
  readonly version: number;
  readonly eventID: string;
  /** Epoch milliseconds, when DynamoDB wrote the event item (to the second). */
  readonly approximateTime: number | undefined;
  /** The whole event item, for attributes beside type and payload (such as an occurrence time). */
  readonly item: Item;
  readonly replay: boolean;
};

interface EventProjectionBase<Events extends z.ZodType> {
  readonly name: string;
  readonly version: number;
  readonly log: EventLog<Events>;
  /** After a poison event: `wait` (the default) holds the stream's later events; `skip` goes on without it. */
  readonly onPoison?: 'wait' | 'skip';
}

/** A view over a stream's events, folded in version order: it may depend on the whole history. */
export interface EventViewProjection<Events extends z.ZodType = z.ZodType, State extends object = object>
  extends EventProjectionBase<Events> {
  readonly kind: 'event-view';
  evolve(state: State | undefined, event: DomainEvent<z.output<Events>>): State | undefined;
}

/** A sum over domain events: each event's contribution is added exactly once. */
export interface EventSumProjection<Events extends z.ZodType = z.ZodType> extends EventProjectionBase<Events> {
  readonly kind: 'event-sum';
  contribute(event: DomainEvent<z.output<Events>>): Contribution;
  readonly shards: number;
}

export type EventProjection = EventViewProjection<z.ZodType, object> | EventSumProjection<z.ZodType>;

export const DEFAULT_GAP_TIMEOUT_MS = 5 * 60_000;

export function defineEventLog<Events extends z.ZodType>(
  definition: Omit<EventLog<Events>, 'kind' | 'gapTimeoutMs'> & { readonly gapTimeoutMs?: number },
): EventLog<Events> {
  for (const field of ['streamId', 'version', 'type', 'payload'] as const) {
    if (typeof definition[field] !== 'string' || definition[field].length === 0) {
      throw new StreamfoldError('INVALID_PROJECTION', `an event log names its ${field} attribute`);
    }
  }
  return Object.freeze({ ...definition, kind: 'event-log' as const, gapTimeoutMs: definition.gapTimeoutMs ?? DEFAULT_GAP_TIMEOUT_MS });
}

type EventViewDefinition<Events extends z.ZodType, State extends object> = Omit<EventViewProjection<Events, State>, 'kind'> & {
  readonly kind: 'event-view';
};
type EventSumDefinition<Events extends z.ZodType> = Omit<EventSumProjection<Events>, 'kind' | 'shards'> & {
  readonly kind: 'event-sum';
  readonly shards?: number;
};

/** Declares a projection over an event log: plain data and pure functions, like `defineProjection`. */
export function defineEventProjection<Events extends z.ZodType, State extends object>(
  definition: EventViewDefinition<Events, State>,
): EventViewProjection<Events, State>;
export function defineEventProjection<Events extends z.ZodType>(definition: EventSumDefinition<Events>): EventSumProjection<Events>;
export function defineEventProjection(
  definition: EventViewDefinition<z.ZodType, object> | EventSumDefinition<z.ZodType>,
): EventProjection {
  assertNameAndVersion(definition);
  if (definition.log?.kind !== 'event-log') {
    throw new StreamfoldError('INVALID_PROJECTION', 'an event projection needs the log it folds (defineEventLog)', {
      projection: definition.name,
    });
  }
  if (definition.kind === 'event-sum') return Object.freeze({ ...definition, shards: definition.shards ?? 1 });
  return Object.freeze({ ...definition });
}

export function isEventProjection(value: unknown): value is EventProjection {
  const kind = (value as { kind?: unknown } | null)?.kind;
  return kind === 'event-view' || kind === 'event-sum';
}
