import type { ParkedRecord } from '../../src/projection/ports.js';

/**
 * A record as a rebuild hands it over: binaries as the SDK's bytes (`B`, `BS`, inside a map and a list),
 * and data that looks like the wire codec's own tags.
 */
export function binaryRecord() {
  return {
    eventID: 'replay-1',
    eventName: 'INSERT',
    dynamodb: {
      Keys: { id: { B: new Uint8Array([1, 2, 3]) } },
      NewImage: {
        id: { B: new Uint8Array([1, 2, 3]) },
        blob: { B: new Uint8Array([4, 5, 0, 255]) },
        set: { BS: [new Uint8Array([9]), new Uint8Array([])] },
        nested: { M: { inner: { B: new Uint8Array([7, 7]) }, list: { L: [{ B: new Uint8Array([8]) }] } } },
        tricky: { M: { $bytes: { S: 'AAAA' }, $$bigint: { S: '1' } } },
      },
      SequenceNumber: '0',
    },
  };
}

/** A parked record of a projection `orders`, for the dead-letter stores' own tests. */
export function parkedOf(record: unknown, sequence = '0', key = '{"id":{"B":"AQID"}}'): ParkedRecord {
  return {
    id: `orders#v1|${key}|${sequence.padStart(40, '0')}`,
    generation: 'orders#v1',
    projection: 'orders',
    key,
    sequence,
    eventID: 'replay-1',
    reason: 'failed',
    error: { code: 'SCHEMA_MISMATCH', message: 'bad', field: 'dynamodb.NewImage.blob' },
    record,
    parkedAt: '2026-01-01T00:00:00.000Z',
  };
}
