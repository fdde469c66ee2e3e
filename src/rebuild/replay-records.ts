import { createHash } from 'node:crypto';
import type { DecodeResult } from '../records/change-event.js';
import { decodeRecord } from '../records/decode.js';
import { REPLAY_SEQUENCE } from '../records/sequence.js';

export { REPLAY_SEQUENCE };

/**
 * A scanned item as the insert a rebuild replays: the same record shape the live stream delivers, so the
 * same decoder and runtime fold it, at the lowest sequence and flagged as a replay.
 */
export function replayRecord(item: Record<string, unknown>, keyAttributes: readonly string[], table: string): Record<string, unknown> {
  const keys = Object.fromEntries(keyAttributes.map((name) => [name, item[name]]));
  return {
    eventID: `replay-${createHash('sha256').update(JSON.stringify(keys)).digest('hex').slice(0, 32)}`,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    tableName: table,
    dynamodb: { Keys: keys, NewImage: item, SequenceNumber: REPLAY_SEQUENCE, StreamViewType: 'NEW_IMAGE' },
  };
}

export function decodeReplay(item: Record<string, unknown>, keyAttributes: readonly string[], table: string, index: number): DecodeResult {
  const result = decodeRecord(replayRecord(item, keyAttributes, table), index);
  return result.ok ? { ...result, event: { ...result.event, replay: true } } : result;
}
