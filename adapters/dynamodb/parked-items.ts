import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { StreamfoldError } from '../../src/core/errors.js';
import type { ParkedRecord } from '../../src/projection/ports.js';
import { padSequence } from '../../src/records/sequence.js';
import { fromWireJson, toWireJson } from '../../src/records/wire-json.js';
import { ATTR, partitionKey, type SdkItem } from './layout.js';

/**
 * How a parked record is laid out in the parked table. One item per (consumer, generation, source item,
 * sequence) holds its coordinates and error, and the record itself as gzipped wire JSON (binaries kept as
 * bytes). A stream record carries up to two 400 KB images, which may stay over DynamoDB's 400 KB item limit
 * even gzipped: then the gzipped bytes go into part items beside it (same partition key, sort key
 * `<sequence>#part#<n>`), and the main item says how many parts there are and their digest.
 */
/** Gzipped records up to this size stay in the main item; the rest of the item (key, error) stays under the limit. */
const INLINE_RECORD_MAX_BYTES = 350_000;
/** Bytes of the gzipped record in each part item. */
const PART_BYTES = 350_000;
/** An error message longer than this is cut when stored, so the coordinates always fit one item. */
const MAX_ERROR_MESSAGE_CHARS = 16_384;
const PART_MARK = '#part#';

export interface EncodedParkedRecord {
  readonly record: ParkedRecord;
  readonly main: SdkItem;
  /** Part items, written before the main item so that a main item is never without its parts. */
  readonly parts: readonly SdkItem[];
}

export class ParkedItemLayout {
  constructor(private readonly consumer: string) {}

  partition(generation: string, key: string): string {
    return partitionKey(`${this.consumer}#${generation}`, key);
  }

  keyOf(record: ParkedRecord): SdkItem {
    return {
      [ATTR.pk]: { S: this.partition(record.generation, record.key) },
      [ATTR.sk]: { S: padSequence(record.sequence || '0') },
    };
  }

  /** The key as one string: records filed under one key are one record. */
  keyText(record: ParkedRecord): string {
    const key = this.keyOf(record);
    return `${key[ATTR.pk]?.S ?? ''}\u0000${key[ATTR.sk]?.S ?? ''}`;
  }

  encode(record: ParkedRecord): EncodedParkedRecord {
    const main = this.coordinates(record);
    if (record.record === undefined) return { record, main, parts: [] };
    const gzipped = gzipSync(toWireJson(record.record));
    if (gzipped.byteLength <= INLINE_RECORD_MAX_BYTES) return { record, main: { ...main, record: { B: gzipped } }, parts: [] };
    const parts: SdkItem[] = [];
    for (let offset = 0, index = 1; offset < gzipped.byteLength; offset += PART_BYTES, index += 1) {
      parts.push({
        [ATTR.pk]: main[ATTR.pk] as SdkItem[string],
        [ATTR.sk]: { S: partSortKey(main, index) },
        data: { B: gzipped.subarray(offset, offset + PART_BYTES) },
      });
    }
    return {
      record,
      main: { ...main, parts: { N: String(parts.length) }, digest: { S: digestOf(gzipped) } },
      parts,
    };
  }

  /** Everything but the record: what is left when the record cannot be stored in any form. */
  coordinates(record: ParkedRecord): SdkItem {
    const message =
      record.error.message.length <= MAX_ERROR_MESSAGE_CHARS
        ? record.error.message
        : `${record.error.message.slice(0, MAX_ERROR_MESSAGE_CHARS)}… (cut at ${MAX_ERROR_MESSAGE_CHARS} characters)`;
    const item: SdkItem = {
      ...this.keyOf(record),
      consumer: { S: this.consumer },
      id: { S: record.id },
      generation: { S: record.generation },
      projection: { S: record.projection },
      key: { S: record.key },
      sequence: { S: record.sequence },
      reason: { S: record.reason },
      error: { S: JSON.stringify({ ...record.error, message }) },
      parkedAt: { S: record.parkedAt },
    };
    if (record.eventID !== undefined) item.eventID = { S: record.eventID };
    return item;
  }

  /** Whether an item is a parked record's main item (part items have no id). */
  isMain(item: SdkItem): boolean {
    return item.id?.S !== undefined;
  }

  /** How many part items a main item has (0 when the record is inline or absent). */
  partCount(item: SdkItem): number {
    return Number(item.parts?.N ?? '0');
  }

  /** The sort keys of a main item's parts begin with this. */
  partPrefix(main: SdkItem): string {
    return `${main[ATTR.sk]?.S ?? ''}${PART_MARK}`;
  }

  /**
   * Whether a record may have been parked in parts, from the size of its wire JSON alone: gzip never adds
   * more than about 0.03% and a few bytes to its input, so a record this small was kept inline.
   */
  mayHaveParts(record: ParkedRecord): boolean {
    if (record.record === undefined) return false;
    const bytes = Buffer.byteLength(toWireJson(record.record));
    return bytes + Math.ceil(bytes / 1000) + 64 > INLINE_RECORD_MAX_BYTES;
  }

  /** A main item back as a parked record; `parts` are its part items, in any order. */
  decode(item: SdkItem, parts: readonly SdkItem[] = []): ParkedRecord {
    return {
      id: item.id?.S ?? '',
      generation: item.generation?.S ?? '',
      projection: item.projection?.S ?? '',
      key: item.key?.S ?? '',
      sequence: item.sequence?.S ?? '',
      eventID: item.eventID?.S,
      reason: item.reason?.S === 'waiting' ? 'waiting' : 'failed',
      error: JSON.parse(item.error?.S ?? '{}') as ParkedRecord['error'],
      record: this.recordOf(item, parts),
      parkedAt: item.parkedAt?.S ?? '',
    };
  }

  private recordOf(item: SdkItem, parts: readonly SdkItem[]): unknown {
    const inline = item.record?.B;
    if (inline !== undefined) return fromWireJson(gunzipSync(inline).toString('utf8'));
    const count = this.partCount(item);
    if (count === 0) return undefined;
    const byKey = new Map(parts.map((part) => [part[ATTR.sk]?.S, part.data?.B]));
    const chunks = Array.from({ length: count }, (_, index) => byKey.get(partSortKey(item, index + 1)));
    const gzipped = chunks.every((chunk): chunk is Uint8Array => chunk !== undefined) ? Buffer.concat(chunks) : undefined;
    if (gzipped === undefined || digestOf(gzipped) !== item.digest?.S) {
      throw new StreamfoldError('PARKING_FAILED', `the parts of parked record ${item.id?.S ?? '?'} are missing or do not match`, {
        key: item.key?.S,
        sequence: item.sequence?.S,
      });
    }
    return fromWireJson(gunzipSync(gzipped).toString('utf8'));
  }
}

function partSortKey(main: SdkItem, index: number): string {
  return `${main[ATTR.sk]?.S ?? ''}${PART_MARK}${String(index).padStart(3, '0')}`;
}

function digestOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64');
}
