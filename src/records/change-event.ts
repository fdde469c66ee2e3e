import type { StreamfoldError } from '../core/errors.js';
import type { Item } from './attribute-value.js';
import type { ItemKey } from './item-key.js';
import type { StreamViewType } from './stream-record.js';

export type ChangeKind = 'insert' | 'modify' | 'remove';

export interface ChangeSource {
  readonly table: string | undefined;
  readonly streamArn: string | undefined;
  readonly region: string | undefined;
}

/** A decoded stream record. Images are plain objects; each projection types them with its own schema. */
export interface ChangeEvent {
  readonly eventID: string;
  readonly kind: ChangeKind;
  readonly key: ItemKey;
  readonly sequence: string;
  /** Epoch milliseconds; DynamoDB Streams rounds it down to the second. */
  readonly approximateTime: number | undefined;
  readonly newImage: Item | undefined;
  readonly oldImage: Item | undefined;
  readonly viewType: StreamViewType | undefined;
  /** A delete made by DynamoDB's time-to-live sweeper rather than by an application. */
  readonly ttlExpiry: boolean;
  /** Synthesised by a rebuild from a table scan rather than read from the stream. */
  readonly replay: boolean;
  readonly source: ChangeSource;
}

/** A record that could not be decoded. It still names as much of its position as could be read. */
export interface UndecodableRecord {
  readonly index: number;
  /** What Lambda's `batchItemFailures` names the record by (a stream or a Kinesis sequence number). */
  readonly identifier: string | undefined;
  readonly eventID: string | undefined;
  readonly key: ItemKey | undefined;
  readonly sequence: string | undefined;
  readonly error: StreamfoldError;
  readonly record: unknown;
}

export type DecodeResult =
  | {
      readonly ok: true;
      readonly index: number;
      readonly identifier: string;
      readonly event: ChangeEvent;
      readonly record: unknown;
    }
  | ({ readonly ok: false } & UndecodableRecord);
