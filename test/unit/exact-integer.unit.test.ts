import { describe, expect, it } from 'vitest';
import { readAllRows } from '../../src/projection/read-model.js';
import { exactInteger } from '../../src/projection/schemas.js';
import { decodeItem } from '../../src/records/attribute-value.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import { customerTotals } from '../../projections/customer-totals.js';
import { testConsumer } from '../support/consumers.js';
import { orderRecord } from '../support/records.js';

/**
 * A round integer past 2^53 (10^20, 3×10^38) decodes to a JS number, since it converts back to the same
 * decimal; `exactInteger` must take it, and hand it over as the integer the decimal names (the double's own
 * binary value, 300000000000000012135895401846682943488 for 3E+38, is not it).
 */
describe('exactInteger', () => {
  it.each([
    ['100000000000000000000', 10n ** 20n],
    ['3E+38', 3n * 10n ** 38n],
    ['9007199254740993000', 9007199254740993000n],
  ])('takes %s as decoded, exactly', (digits, expected) => {
    const { amount } = decodeItem({ amount: { N: digits } }, 'NewImage') as { amount: unknown };
    expect(exactInteger.parse(amount)).toBe(expected);
  });

  it('still refuses a number that is not an integer', () => {
    const { amount } = decodeItem({ amount: { N: '1.5' } }, 'NewImage') as { amount: unknown };
    expect(exactInteger.safeParse(amount).success).toBe(false);
  });

  it('lets the example sums count an order of 10^20 cents', async () => {
    const store = new MemoryReadModelStore();
    const report = await testConsumer(store, [customerTotals]).process([
      orderRecord('100', { orderId: 'o-1', customerId: 'c-1', status: 'PLACED', amount: 10n ** 20n }),
    ]);
    expect(report.errors).toEqual([]);
    expect(await readAllRows(store, customerTotals)).toEqual([{ key: 'c-1', value: { orders: 1, amount: 1e20 } }]);
  });
});
