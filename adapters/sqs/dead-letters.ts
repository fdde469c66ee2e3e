import type { SQSClient } from '@aws-sdk/client-sqs';
import { resolveClient, type LazyClient } from '../lazy-client.js';
import { chunk } from '../../src/concurrency.js';
import { StreamfoldError } from '../../src/errors.js';
import type { DeadLetterStore, ParkedRecord } from '../../src/projection/ports.js';
import { SQS_MAX_BATCH_ENTRIES, SQS_MAX_MESSAGE_BYTES } from './publisher.js';

/** How long listed messages stay hidden while a listing reads the queue; they are made visible again after. */
const LISTING_VISIBILITY_SECONDS = 30;
const EMPTY_RECEIVES_TO_STOP = 3;

export interface SqsDeadLetterOptions {
  readonly client: LazyClient<SQSClient>;
  readonly queueUrl: string;
}

/** The SQS package, loaded on first use, and the client. */
async function sqsOf(client: LazyClient<SQSClient>) {
  return { sdk: await import('@aws-sdk/client-sqs'), client: await resolveClient(client) };
}

/**
 * Parked records in an SQS queue, one message each, the record and its error in the body. A queue cannot be
 * looked up by key, so listing reads the whole queue (hiding messages for a moment, then showing them again)
 * and filters; a redrive deletes by the receipt handles of its own listing.
 */
export class SqsDeadLetterStore implements DeadLetterStore {
  private readonly receipts = new Map<string, string>();

  constructor(private readonly options: SqsDeadLetterOptions) {}

  async park(records: readonly ParkedRecord[]): Promise<void> {
    for (const part of chunk(records, SQS_MAX_BATCH_ENTRIES)) {
      const entries = part.map((record, index) => {
        const body = JSON.stringify(record);
        if (Buffer.byteLength(body) > SQS_MAX_MESSAGE_BYTES) {
          throw new StreamfoldError('UNSUPPORTED_VALUE', `the parked record is over SQS's ${SQS_MAX_MESSAGE_BYTES}-byte limit`, {
            eventID: record.eventID,
            key: record.key,
            sequence: record.sequence,
            projection: record.projection,
          });
        }
        return { Id: String(index), MessageBody: body };
      });
      const { sdk, client } = await sqsOf(this.options.client);
      const response = await client.send(new sdk.SendMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: entries }));
      if ((response.Failed ?? []).length > 0) {
        const failure = response.Failed?.[0];
        throw new StreamfoldError('STORE_WRITE_FAILED', `SQS refused a parked record: ${failure?.Code ?? ''} ${failure?.Message ?? ''}`.trim(), {
          retryable: failure?.SenderFault !== true,
        });
      }
    }
  }

  async *list(filter: { generation?: string; key?: string } = {}): AsyncIterable<ParkedRecord> {
    const seen = new Map<string, ParkedRecord>();
    const handles: string[] = [];
    let empty = 0;
    const { sdk, client } = await sqsOf(this.options.client);
    while (empty < EMPTY_RECEIVES_TO_STOP) {
      const { Messages = [] } = await client.send(
        new sdk.ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          MaxNumberOfMessages: SQS_MAX_BATCH_ENTRIES,
          VisibilityTimeout: LISTING_VISIBILITY_SECONDS,
          WaitTimeSeconds: 0,
        }),
      );
      empty = Messages.length === 0 ? empty + 1 : 0;
      for (const message of Messages) {
        if (message.ReceiptHandle === undefined || message.Body === undefined) continue;
        handles.push(message.ReceiptHandle);
        const record = JSON.parse(message.Body) as ParkedRecord;
        this.receipts.set(record.id, message.ReceiptHandle);
        seen.set(record.id, record);
      }
    }
    await this.makeVisible(handles);
    const matching = [...seen.values()].filter(
      (record) =>
        (filter.generation === undefined || record.generation === filter.generation) &&
        (filter.key === undefined || record.key === filter.key),
    );
    yield* matching.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async remove(records: readonly ParkedRecord[]): Promise<void> {
    const handles = records.map((record) => this.receipts.get(record.id)).filter((handle) => handle !== undefined);
    const { sdk, client } = await sqsOf(this.options.client);
    for (const part of chunk(handles, SQS_MAX_BATCH_ENTRIES)) {
      await client.send(
        new sdk.DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: part.map((handle, index) => ({ Id: String(index), ReceiptHandle: handle })),
        }),
      );
    }
    for (const record of records) this.receipts.delete(record.id);
  }

  private async makeVisible(handles: readonly string[]): Promise<void> {
    const { sdk, client } = await sqsOf(this.options.client);
    for (const part of chunk(handles, SQS_MAX_BATCH_ENTRIES)) {
      await client.send(
        new sdk.ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: part.map((handle, index) => ({ Id: String(index), ReceiptHandle: handle, VisibilityTimeout: 0 })),
        }),
      );
    }
  }
}
