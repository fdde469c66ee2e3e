import { createHash } from 'node:crypto';
import type { MessageAttributeValue, SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';
import { resolveClient, type LazyClient } from '../lazy-client.js';
import { StreamfoldError } from '../../src/core/errors.js';
import { chunkBySize, deliverEntries, oversized, type DeliveryOptions } from '../../src/fanout/deliver.js';
import type { OutgoingMessage, PublishOutcome, Publisher } from '../../src/fanout/ports.js';
import { compareSequences } from '../../src/records/sequence.js';
import type { Deadline } from '../../src/core/retry.js';

/** SendMessageBatch takes at most 10 messages a call. */
export const SQS_MAX_BATCH_ENTRIES = 10;
/** A message, and a whole batch, may be up to 1 MiB since 29 January 2026 (it was 256 KiB). */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;
export const SQS_MAX_BATCH_BYTES = 1_048_576;
/** FIFO group and deduplication ids: at most 128 printable ASCII characters, no spaces. */
const FIFO_ID = /^[\x21-\x7e]{1,128}$/;

export interface SqsPublisherOptions extends DeliveryOptions {
  readonly client: LazyClient<SQSClient>;
  readonly queueUrl: string;
  /** By default, a queue whose URL ends in `.fifo`. */
  readonly fifo?: boolean;
  /** A queue's `MaximumMessageSize` may be lower than SQS's limit. */
  readonly maxMessageBytes?: number;
}

interface Entry {
  readonly index: number;
  readonly message: OutgoingMessage;
  readonly size: number;
}

/**
 * Publishes messages with SendMessageBatch. On a FIFO queue the message group is the source item, and an
 * item's messages go out strictly one after the other: each batch holds at most one message per item, and
 * after a message fails its item's later messages are not sent, so the queue never sees them out of order.
 */
export class SqsPublisher implements Publisher {
  private readonly fifo: boolean;

  constructor(private readonly options: SqsPublisherOptions) {
    this.fifo = options.fifo ?? options.queueUrl.endsWith('.fifo');
  }

  async publish(messages: readonly OutgoingMessage[], deadline?: Deadline): Promise<PublishOutcome[]> {
    const limit = this.options.maxMessageBytes ?? SQS_MAX_MESSAGE_BYTES;
    const outcomes = new Array<PublishOutcome>(messages.length);
    const entries: Entry[] = [];
    messages.forEach((message, index) => {
      const size = messageSize(message);
      if (size > limit) outcomes[index] = oversized('SQS', message, size, limit);
      else entries.push({ index, message, size });
    });
    if (this.fifo) await this.publishInOrder(entries, outcomes, deadline);
    else await this.deliver(entries, outcomes, deadline);
    return outcomes;
  }

  /** One round sends each item's next message; an item whose message failed for now sends nothing more. */
  private async publishInOrder(entries: readonly Entry[], outcomes: PublishOutcome[], deadline: Deadline | undefined): Promise<void> {
    const queues = new Map<string, Entry[]>();
    for (const entry of entries) {
      const queue = queues.get(entry.message.key) ?? [];
      queue.push(entry);
      queues.set(entry.message.key, queue);
    }
    for (const queue of queues.values()) {
      queue.sort((a, b) => compareSequences(a.message.sequence, b.message.sequence));
    }
    while (queues.size > 0) {
      if (deadline?.allows() === false) {
        // Past the margin no round starts; the items' messages come again with their records.
        const late = new StreamfoldError('STORE_WRITE_FAILED', "not sent before Lambda's deadline", { retryable: true });
        for (const entry of [...queues.values()].flat()) outcomes[entry.index] = { ok: false, retryable: true, error: late };
        return;
      }
      const round = [...queues.values()].map((queue) => queue.shift() as Entry);
      await this.deliver(round, outcomes, deadline);
      for (const entry of round) {
        const queue = queues.get(entry.message.key) ?? [];
        const outcome = outcomes[entry.index];
        // Only a failure that may pass holds the item back (Lambda delivers it again, and these after it). A
        // message that can never go out is parked: waiting for it would fail the same way on every delivery.
        if (outcome?.ok === false && outcome.retryable) {
          const blocked = new StreamfoldError(
            'STORE_WRITE_FAILED',
            `not sent: the message of its item at sequence ${entry.message.sequence} was not delivered`,
            { key: entry.message.key, retryable: true },
          );
          for (const behind of queue) outcomes[behind.index] = { ok: false, retryable: true, error: blocked };
          queue.length = 0;
        }
        if (queue.length === 0) queues.delete(entry.message.key);
      }
    }
  }

  private async deliver(entries: readonly Entry[], outcomes: PublishOutcome[], deadline: Deadline | undefined): Promise<void> {
    const delivered = await deliverEntries(
      entries,
      (pending) => chunkBySize(pending, SQS_MAX_BATCH_ENTRIES, SQS_MAX_BATCH_BYTES, (entry) => entry.size),
      (chunk) => this.send(chunk),
      { ...this.options, deadline },
    );
    entries.forEach((entry, position) => {
      outcomes[entry.index] = delivered[position] as PublishOutcome;
    });
  }

  private async send(chunk: readonly Entry[]): Promise<PublishOutcome[]> {
    // Loaded on first use: a consumer without fan-out never pays for the SQS client.
    const { SendMessageBatchCommand } = await import('@aws-sdk/client-sqs');
    const client = await resolveClient(this.options.client);
    const response = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: this.options.queueUrl,
        Entries: chunk.map((entry, position) => this.requestEntry(entry.message, String(position))),
      }),
    );
    const failed = new Map((response.Failed ?? []).map((failure) => [failure.Id, failure]));
    return chunk.map((_, position) => {
      const failure = failed.get(String(position));
      if (failure === undefined) return { ok: true };
      return {
        ok: false,
        // A sender fault is the request's own doing (too large, a bad attribute): it will fail again.
        retryable: failure.SenderFault !== true,
        error: new StreamfoldError('STORE_WRITE_FAILED', `SQS refused the message: ${failure.Code} ${failure.Message ?? ''}`.trim()),
      };
    });
  }

  private requestEntry(message: OutgoingMessage, id: string): SendMessageBatchRequestEntry {
    return {
      Id: id,
      MessageBody: message.body,
      MessageAttributes: attributesOf(message),
      ...(this.fifo
        ? { MessageGroupId: fifoId(message.key), MessageDeduplicationId: fifoId(message.eventID) }
        : {}),
    };
  }
}

function attributesOf(message: OutgoingMessage): Record<string, MessageAttributeValue> {
  return {
    detailType: { DataType: 'String', StringValue: message.detailType },
    sequence: { DataType: 'String', StringValue: message.sequence },
  };
}

/** SQS counts the body and every attribute's name, type and value. */
export function messageSize(message: OutgoingMessage): number {
  let size = Buffer.byteLength(message.body, 'utf8');
  for (const [name, value] of Object.entries(attributesOf(message))) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + Buffer.byteLength(value.StringValue ?? '');
  }
  return size;
}

/** Item keys and event ids are used as they are when SQS allows it, and hashed when it does not. */
export function fifoId(value: string): string {
  return FIFO_ID.test(value) ? value : createHash('sha256').update(value).digest('hex');
}
