import { StreamfoldError } from '../core/errors.js';
import type { ChangeEvent, DecodeResult, UndecodableRecord } from '../records/change-event.js';
import type { ItemKey } from '../records/item-key.js';
import type { LaneBatch, Misuse } from '../projection/lane.js';
import { orderByKey } from '../records/order.js';
import type { EventLog } from './define.js';

const STREAM_PREFIX = 'stream#';

/** The key of a whole stream, distinct from any item key (which is JSON of typed attributes). */
export function streamKey(log: EventLog, streamId: string): ItemKey {
  return { id: `${STREAM_PREFIX}${JSON.stringify(streamId)}`, attributes: { [log.streamId]: streamId } };
}

/** The stream id a `streamKey` id names. */
export function streamIdOf(keyId: string): string {
  return JSON.parse(keyId.slice(STREAM_PREFIX.length)) as string;
}

/**
 * Cuts decoded event-table records into per-stream runs ordered by version. Each event is its own item, so
 * DynamoDB orders nothing between events of one stream: the version is the order. A duplicate version
 * is dropped. A record that is not an insert is misuse, since an event log is append-only.
 */
export function orderByStream(results: readonly DecodeResult[], log: EventLog): LaneBatch {
  const misuse: Misuse[] = [];
  const placed: DecodeResult[] = [];
  for (const result of results) {
    if (!result.ok) {
      // Its stream and version may still be readable from the item's key.
      const streamId = result.key?.attributes[log.streamId];
      const version = result.key?.attributes[log.version];
      placed.push(
        typeof streamId === 'string' && isVersion(version)
          ? { ...result, key: streamKey(log, streamId), sequence: String(version) }
          : { ...result, key: undefined },
      );
      continue;
    }
    const { event } = result;
    if (event.kind !== 'insert') {
      misuse.push({ event, record: result.record, identifier: result.identifier });
      continue;
    }
    const located = locateEvent(event, log, result.index);
    if (located instanceof StreamfoldError) {
      const failure: UndecodableRecord = {
        index: result.index,
        identifier: result.identifier,
        eventID: event.eventID,
        key: undefined,
        sequence: event.sequence,
        error: located,
        record: result.record,
      };
      placed.push({ ok: false, ...failure });
      continue;
    }
    placed.push({ ...result, event: { ...event, key: located.key, sequence: located.version } });
  }
  return { ...orderByKey(placed), misuse };
}

/** The stream and version of an inserted event item, or the error naming the attribute that is wrong. */
export function locateEvent(event: ChangeEvent, log: EventLog, index: number): { key: ItemKey; version: string } | StreamfoldError {
  const image = event.newImage ?? {};
  const streamId = image[log.streamId];
  const version = image[log.version];
  const place = { eventID: event.eventID, key: event.key.id, sequence: event.sequence };
  if (typeof streamId !== 'string' || streamId.length === 0) {
    return new StreamfoldError('SCHEMA_MISMATCH', `an event needs its stream id in ${log.streamId}, a string`, {
      ...place,
      field: `Records[${index}].dynamodb.NewImage.${log.streamId}`,
    });
  }
  if (!isVersion(version)) {
    return new StreamfoldError('SCHEMA_MISMATCH', `an event needs its version in ${log.version}, a whole number from 1`, {
      ...place,
      field: `Records[${index}].dynamodb.NewImage.${log.version}`,
    });
  }
  return { key: streamKey(log, streamId), version: String(version) };
}

function isVersion(value: unknown): value is number | bigint {
  return (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) || (typeof value === 'bigint' && value >= 1n);
}
