import type { OutgoingMessage } from '../../src/fanout/ports.js';

/** Messages for publisher tests: `count` items with `perKey` changes each, bodies of `bodyBytes`. */
export function messages(count: number, options: { perKey?: number; bodyBytes?: number } = {}): OutgoingMessage[] {
  const perKey = options.perKey ?? 1;
  return Array.from({ length: count }, (_, index) => ({
    eventID: `evt-${index}`,
    key: `{"orderId":{"S":"o-${Math.floor(index / perKey)}"}}`,
    sequence: String(100000000000000000000n + BigInt(index)),
    body: JSON.stringify({ n: String(index), pad: 'x'.repeat(Math.max(0, (options.bodyBytes ?? 20) - 20)) }),
    detailType: 'Orders.MODIFY',
    source: 'streamfold',
    time: 1_764_000_000_000,
  }));
}

export const noSleep = async (): Promise<void> => {};
