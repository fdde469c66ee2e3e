import type { EventBridgeClient, PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { resolveClient, type LazyClient } from '../lazy-client.js';
import { StreamfoldError } from '../../src/core/errors.js';
import { chunkBySize, deliverEntries, oversized, type DeliveryOptions } from '../../src/fanout/deliver.js';
import type { OutgoingMessage, PublishOutcome, Publisher } from '../../src/fanout/ports.js';
import type { Deadline } from '../../src/core/retry.js';

/** PutEvents takes at most 10 entries a call. */
export const EVENTBRIDGE_MAX_ENTRIES = 10;
/**
 * EventBridge accepts entries of up to 1 MB since 29 January 2026 (it was 256 KB); the AWS Compute Blog
 * announced it for event buses, SQS and asynchronous Lambda. Set `maxEntryBytes` lower for a target that
 * still enforces 256 KB.
 */
export const EVENTBRIDGE_MAX_ENTRY_BYTES = 1_048_576;
/** The whole request is held to the same size, so ten large entries go in several calls. */
export const EVENTBRIDGE_MAX_REQUEST_BYTES = 1_048_576;

/** Error codes that say the entry itself is wrong: sending it again cannot help. */
const PERMANENT_ERRORS = new Set(['MalformedDetail', 'InvalidArgument', 'ValidationException', 'InvalidEventBusName']);

export interface EventBridgePublisherOptions extends DeliveryOptions {
  readonly client: LazyClient<EventBridgeClient>;
  readonly eventBusName: string;
  readonly maxEntryBytes?: number;
}

/** Publishes messages with PutEvents, retrying only the entries the response marks as failed. */
export class EventBridgePublisher implements Publisher {
  constructor(private readonly options: EventBridgePublisherOptions) {}

  async publish(messages: readonly OutgoingMessage[], deadline?: Deadline): Promise<PublishOutcome[]> {
    const limit = this.options.maxEntryBytes ?? EVENTBRIDGE_MAX_ENTRY_BYTES;
    const outcomes = new Array<PublishOutcome>(messages.length);
    const sendable: { index: number; entry: PutEventsRequestEntry; size: number }[] = [];
    messages.forEach((message, index) => {
      const entry: PutEventsRequestEntry = {
        EventBusName: this.options.eventBusName,
        Source: message.source,
        DetailType: message.detailType,
        Detail: message.body,
        ...(message.time === undefined ? {} : { Time: new Date(message.time) }),
      };
      const size = entrySize(entry);
      if (size > limit) outcomes[index] = oversized('EventBridge', message, size, limit);
      else sendable.push({ index, entry, size });
    });
    const delivered = await deliverEntries(
      sendable,
      (pending) => chunkBySize(pending, EVENTBRIDGE_MAX_ENTRIES, EVENTBRIDGE_MAX_REQUEST_BYTES, (item) => item.size),
      (chunk) => this.send(chunk.map((item) => item.entry)),
      { ...this.options, deadline },
    );
    sendable.forEach((item, position) => {
      outcomes[item.index] = delivered[position] as PublishOutcome;
    });
    return outcomes;
  }

  private async send(entries: PutEventsRequestEntry[]): Promise<PublishOutcome[]> {
    // Loaded on first use: a consumer without fan-out never pays for the EventBridge client.
    const { PutEventsCommand } = await import('@aws-sdk/client-eventbridge');
    const client = await resolveClient(this.options.client);
    const response = await client.send(new PutEventsCommand({ Entries: entries }));
    if ((response.FailedEntryCount ?? 0) === 0) return entries.map(() => ({ ok: true }));
    // The response's entries are in the order of the request's.
    return entries.map((_, index) => {
      const result = response.Entries?.[index];
      if (result?.ErrorCode === undefined) return { ok: true };
      return {
        ok: false,
        retryable: !PERMANENT_ERRORS.has(result.ErrorCode),
        error: new StreamfoldError('STORE_WRITE_FAILED', `EventBridge refused the entry: ${result.ErrorCode} ${result.ErrorMessage ?? ''}`.trim()),
      };
    });
  }
}

/** EventBridge's own rule: Time counts 14 bytes, Source, DetailType, Detail and Resources their UTF-8 bytes. */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time === undefined ? 0 : 14;
  size += Buffer.byteLength(entry.Source ?? '', 'utf8') + Buffer.byteLength(entry.DetailType ?? '', 'utf8');
  size += Buffer.byteLength(entry.Detail ?? '', 'utf8');
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource, 'utf8');
  return size;
}
