import { gunzipSync, gzipSync } from 'node:zlib';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { resolveClient, type LazyClient } from '../lazy-client.js';
import { chunk } from '../../src/core/concurrency.js';
import { errorMessage, StreamfoldError } from '../../src/core/errors.js';
import { chunkBySize } from '../../src/fanout/deliver.js';
import type { DeadLetterStore, ParkedRecord } from '../../src/projection/ports.js';
import { fromWireJson, toWireJson } from '../../src/records/wire-json.js';
import { lastOfEach, parkedByCoordinates } from '../parked-coordinates.js';
import { SQS_MAX_BATCH_BYTES, SQS_MAX_BATCH_ENTRIES, SQS_MAX_MESSAGE_BYTES } from './publisher.js';

/** How long listed messages stay hidden while a listing reads the queue; they are made visible again after. */
const LISTING_VISIBILITY_SECONDS = 30;
const EMPTY_RECEIVES_TO_STOP = 3;

export interface SqsDeadLetterOptions {
  readonly client: LazyClient<SQSClient>;
  readonly queueUrl: string;
  /** The queue's `MaximumMessageSize`, when it is set lower than SQS's limit. */
  readonly maxMessageBytes?: number;
}

/** The SQS package, loaded on first use, and the client. */
async function sqsOf(client: LazyClient<SQSClient>) {
  return { sdk: await import('@aws-sdk/client-sqs'), client: await resolveClient(client) };
}

/** A message body: the parked record as wire JSON (binaries kept), or that gzipped when it is too large as text. */
type Body = { readonly record: ParkedRecord; readonly text: string };

/**
 * Parked records in an SQS queue, one message each, the record and its error in the body. A queue cannot be
 * looked up by key, so listing reads the whole queue (hiding messages for a moment, then showing them again)
 * and filters; a redrive deletes by the receipt handles of its own listing.
 *
 * A message cannot be split and found again by key, so a record over the message limit even gzipped is
 * parked by its coordinates, its error saying so; so is a record whose message SQS refuses as the sender's
 * fault (a queue with a lower size limit). What still fails is a `PARKING_FAILED` error naming the queue.
 */
export class SqsDeadLetterStore implements DeadLetterStore {
  private readonly receipts = new Map<string, string>();
  private readonly limit: number;

  constructor(private readonly options: SqsDeadLetterOptions) {
    this.limit = options.maxMessageBytes ?? SQS_MAX_MESSAGE_BYTES;
  }

  async park(records: readonly ParkedRecord[]): Promise<void> {
    const bodies = lastOfEach(records, (record) => record.id).map((record) => this.bodyOf(record));
    const refused = await this.send(bodies);
    if (refused.length === 0) return;
    const retried = await this.send(refused.map(({ body, why }) => this.bodyOf(parkedByCoordinates(body.record, `SQS refused it: ${why}`))));
    const [first] = retried;
    if (first !== undefined) {
      throw this.failed(`SQS refused ${retried.length} parked records: ${first.why}`, undefined, false, first.body.record);
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
        const record = recordOf(message.Body);
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

  /** The record as wire JSON; gzipped if that is too large; by its coordinates if that is still too large. */
  private bodyOf(record: ParkedRecord): Body {
    const text = toWireJson(record);
    // Coordinates alone are small; if SQS refuses even them, parking fails, naming the queue.
    if (Buffer.byteLength(text) <= this.limit || record.record === undefined) return { record, text };
    const gzipped = JSON.stringify({ [GZIP_FIELD]: gzipSync(text).toString('base64') });
    if (Buffer.byteLength(gzipped) <= this.limit) return { record, text: gzipped };
    const why = `over SQS's ${this.limit}-byte message limit even gzipped (${Buffer.byteLength(text)} bytes as text)`;
    return this.bodyOf(parkedByCoordinates(record, why));
  }

  /** Sends the bodies; answers those SQS refused as the sender's fault, with why. */
  private async send(bodies: readonly Body[]): Promise<{ body: Body; why: string }[]> {
    const refused: { body: Body; why: string }[] = [];
    const { sdk, client } = await sqsOf(this.options.client);
    for (const part of chunkBySize(bodies, SQS_MAX_BATCH_ENTRIES, SQS_MAX_BATCH_BYTES, (body) => Buffer.byteLength(body.text))) {
      let response;
      try {
        response = await client.send(
          new sdk.SendMessageBatchCommand({
            QueueUrl: this.options.queueUrl,
            Entries: part.map((body, index) => ({ Id: String(index), MessageBody: body.text })),
          }),
        );
      } catch (error) {
        throw this.failed(errorMessage(error), error, true, part[0]?.record);
      }
      for (const failure of response.Failed ?? []) {
        const body = part[Number(failure.Id)];
        const why = `${failure.Code ?? ''} ${failure.Message ?? ''}`.trim();
        if (body === undefined || failure.SenderFault !== true) throw this.failed(`SQS did not take a parked record: ${why}`, undefined, true, body?.record);
        refused.push({ body, why });
      }
    }
    return refused;
  }

  private failed(message: string, cause: unknown, retryable: boolean, record: ParkedRecord | undefined): StreamfoldError {
    return new StreamfoldError('PARKING_FAILED', `parking in the queue ${this.options.queueUrl} failed: ${message}`, {
      cause,
      retryable,
      projection: record?.projection,
      key: record?.key,
      sequence: record?.sequence,
      eventID: record?.eventID,
    });
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

/** The field of a gzipped body; a parked record has no such field, so the two cannot be confused. */
const GZIP_FIELD = 'gzippedParkedRecord';

function recordOf(body: string): ParkedRecord {
  const parsed = fromWireJson(body) as ParkedRecord | { [GZIP_FIELD]: string };
  if (GZIP_FIELD in parsed) return fromWireJson(gunzipSync(Buffer.from(parsed[GZIP_FIELD], 'base64')).toString('utf8')) as ParkedRecord;
  return parsed;
}
