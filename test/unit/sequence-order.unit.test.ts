import { describe, expect, it } from 'vitest';
import { decodeRecords } from '../../src/records/decode.js';
import { orderByKey } from '../../src/records/order.js';
import { compareSequences, padSequence } from '../../src/records/sequence.js';
import { orderRecord } from '../support/records.js';

const order = (orderId: string, amount: number) => ({ orderId, customerId: 'c-1', status: 'PLACED', amount });

describe('sequence numbers', () => {
  it('compare numerically across lengths (21 to 40 digits)', () => {
    const short = '999999999999999999999'; // 21 digits
    const long = '1000000000000000000000000000000000000000'; // 40 digits
    expect(compareSequences(short, long)).toBe(-1);
    expect(short > long).toBe(true); // what a string comparison would wrongly say
    expect(compareSequences('000000000000000000010', '9')).toBe(1);
    expect(compareSequences('0042', '42')).toBe(0);
  });

  it('pad to a width where string order is numeric order', () => {
    const sequences = ['999999999999999999999', '1000000000000000000000000000000000000000', '45', '000000000000000000003'];
    const byPadded = [...sequences].sort((a, b) => (padSequence(a) < padSequence(b) ? -1 : 1));
    const byNumber = [...sequences].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    expect(byPadded).toEqual(byNumber);
    expect(padSequence('7')).toHaveLength(40);
  });
});

describe('orderByKey', () => {
  it('sorts each key by sequence number, numerically, and drops duplicates', () => {
    const records = [
      orderRecord('1000000000000000000000000000000000000002', order('o-1', 3), order('o-1', 2)),
      orderRecord('300000000000000000001', order('o-2', 1)),
      orderRecord('999999999999999999999', order('o-1', 2), order('o-1', 1)),
      orderRecord('100000000000000000001', order('o-1', 1)),
      orderRecord('999999999999999999999', order('o-1', 2), order('o-1', 1)),
    ];
    const batch = orderByKey(decodeRecords(records));
    expect(batch.duplicates).toBe(1);
    const runs = new Map(batch.runs.map((run) => [run.key.attributes.orderId, run.steps.map((s) => s.sequence)]));
    expect(runs.get('o-1')).toEqual([
      '100000000000000000001',
      '999999999999999999999',
      '1000000000000000000000000000000000000002',
    ]);
    expect(runs.get('o-2')).toEqual(['300000000000000000001']);
  });

  it('keeps an undecodable record in its key run, at its sequence, and sets aside what has no key', () => {
    const broken = orderRecord('200000000000000000001', order('o-1', 5), order('o-1', 1));
    (broken.dynamodb as Record<string, unknown>).NewImage = { amount: { Q: '1' } };
    const keyless = orderRecord('250000000000000000001', order('o-9', 1));
    delete (keyless.dynamodb as Record<string, unknown>).Keys;
    const batch = orderByKey(decodeRecords([orderRecord('300000000000000000001', order('o-1', 6), order('o-1', 5)), broken, keyless]));
    const run = batch.runs.find((r) => r.key.attributes.orderId === 'o-1');
    expect(run?.steps.map((step) => step.type)).toEqual(['undecodable', 'event']);
    expect(batch.unplaced.map((record) => record.sequence)).toEqual(['250000000000000000001']);
  });
});
