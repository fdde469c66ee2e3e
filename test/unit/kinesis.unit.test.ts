import { describe, expect, it } from 'vitest';
import { decodeKinesisRecord, kinesisOrderingSequence, toMicroseconds } from '../../src/records/kinesis.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import { testConsumer } from '../support/consumers.js';
import { toKinesisRecords } from '../support/kinesis.js';
import { orderRecord } from '../support/records.js';

const order = (orderId: string, amount: number) => ({ orderId, customerId: 'c-1', status: 'PLACED', amount });

describe('Kinesis Data Streams for DynamoDB records', () => {
  it('decode into the same change events, ordered by creation time', () => {
    const [kinesis] = toKinesisRecords([orderRecord('100000000000000000001', order('o-1', 5))], { seed: 1, jitter: 0, duplicates: 0 });
    const result = decodeKinesisRecord(kinesis, 0);
    if (!result.ok) throw result.error;
    expect(result.identifier).toBe((kinesis as { kinesis: { sequenceNumber: string } }).kinesis.sequenceNumber);
    expect(result.event).toMatchObject({
      kind: 'insert',
      key: { attributes: { orderId: 'o-1' } },
      newImage: { orderId: 'o-1', amount: 5 },
      approximateTime: 1_764_000_000_000,
      source: { table: 'Orders' },
    });
    expect(result.event.sequence.startsWith('1764000000000000')).toBe(true);
  });

  it('read times in microseconds or milliseconds, and give a duplicate the same sequence', () => {
    expect(toMicroseconds(1_764_000_000_123_456)).toBe(1_764_000_000_123_456n);
    expect(toMicroseconds(1_764_000_000_123)).toBe(1_764_000_000_123_000n);
    expect(toMicroseconds(1_764_000_000)).toBe(1_764_000_000_000_000n);
    expect(kinesisOrderingSequence(10n, 'evt-a')).toBe(kinesisOrderingSequence(10n, 'evt-a'));
    expect(kinesisOrderingSequence(10n, 'evt-a')).not.toBe(kinesisOrderingSequence(10n, 'evt-b'));
    expect(BigInt(kinesisOrderingSequence(11n, 'evt-a'))).toBeGreaterThan(BigInt(kinesisOrderingSequence(10n, 'evt-z')));
    // Twelve digits of tie-break: among 100,000 eventIDs in one microsecond, none collide.
    const sequences = new Set(Array.from({ length: 100_000 }, (_, index) => kinesisOrderingSequence(1n, `ev-${index}`)));
    expect(sequences.size).toBe(100_000);
    expect(kinesisOrderingSequence(1_764_000_000_000_000n, 'x')).toHaveLength(28);
  });

  it('name a broken envelope by its Kinesis sequence number', () => {
    const result = decodeKinesisRecord({ kinesis: { sequenceNumber: '4965', data: '!!!' } }, 2);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.identifier).toBe('4965');
    expect(result.error.field).toBe('Records[2].kinesis.data');
  });

  it('report failures by Kinesis sequence number: the lowest of every record not applied', async () => {
    const stream = [
      orderRecord('100000000000000000001', order('o-1', 1)),
      orderRecord('100000000000000000002', order('o-2', 1)),
      orderRecord('100000000000000000003', { ...order('o-1', 2), status: 5 as unknown as string }, order('o-1', 1)),
      orderRecord('100000000000000000004', order('o-1', 3), order('o-1', 2)),
    ];
    // Delivered newest first: o-1's record after the bad one arrives with a lower Kinesis number.
    const kinesis = toKinesisRecords(stream, { seed: 1, jitter: 0, duplicates: 0 })
      .reverse()
      .map((record, position) => ({ ...record, kinesis: { ...(record.kinesis as object), sequenceNumber: String(4965000 + position) } }));
    const identifiers = kinesis.map((record) => (record as { kinesis: { sequenceNumber: string } }).kinesis.sequenceNumber);
    const report = await testConsumer(new MemoryReadModelStore()).process(kinesis);
    // o-1 stops at its bad record (third by time); its fourth change was not applied either, and it
    // arrived first, so its Kinesis number is the one Lambda must restart from.
    expect(report.batchItemFailures).toEqual([{ itemIdentifier: identifiers[0] }]);
    expect(report.stats).toMatchObject({ applied: 2, failed: 2 });
  });
});
