import { describe, expect, it } from 'vitest';
import { progressReporter } from '../../src/rebuild/progress.js';
import { customerTotals } from '../../projections/customer-totals.js';
import { silentLogger } from '../../src/core/logging.js';
import { compose } from '../../src/container.js';
import { RateLimiter } from '../../src/rebuild/rate-limiter.js';
import { Rebuilder, type RebuildProgress } from '../../src/rebuild/rebuilder.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import { MemoryGenerationRegistry, MemoryRebuildStateStore, MemorySourceScanner } from '../support/memory-rebuild.js';

/** DynamoDB's `Limit`: a page that reached it says there may be more, so a segment ends on a short or empty page. */
class LimitScanner extends MemorySourceScanner {
  override async scan(segment: number, totalSegments: number, startKey: string | undefined, limit: number) {
    const page = await super.scan(segment, totalSegments, startKey, limit);
    const end = (startKey === undefined ? 0 : Number(startKey)) + page.items.length;
    return page.items.length === limit ? { items: page.items, lastKey: String(end) } : page;
  }
}

function fakeClock() {
  let now = 0;
  return {
    now: () => now,
    sleep: async (milliseconds: number) => {
      now += milliseconds;
    },
  };
}

const progress = (overrides: Partial<RebuildProgress> = {}): RebuildProgress => ({
  projection: 'customer-totals',
  generation: 'customer-totals#v2',
  segments: [
    { lastKey: 'k', done: false, read: 300 },
    { lastKey: undefined, done: true, read: 250 },
  ],
  readThisRun: 550,
  readInAll: 550,
  itemsPerSecond: 110,
  elapsedMs: 5_000,
  approximateTotal: 1100,
  etaMs: 5_000,
  resumed: false,
  done: false,
  ...overrides,
});

describe('the rebuild rate limiter', () => {
  it('lets all workers together read at most the rate', async () => {
    const clock = fakeClock();
    const limiter = new RateLimiter(100, clock.now, clock.sleep);
    await Promise.all(Array.from({ length: 10 }, () => limiter.take(50)));
    // Ten pages of 50 at 100 a second: each starts once the pages before it are paid for, the tenth at 4.5 s,
    // when the 450 items before it are due.
    expect(clock.now()).toBeGreaterThanOrEqual(4_500);
    expect(clock.now()).toBeLessThan(4_600);
  });

  // Scanned as DynamoDB scans (a full page says there may be more, so a segment ends on a short or an empty
  // page), with the time spent reading and folding left out: what is measured is the limiter's pacing.
  it.each([
    { segments: 1, rate: 100, pageSize: 100, items: 1_000 },
    { segments: 4, rate: 100, pageSize: 100, items: 2_000 },
    { segments: 4, rate: 200, pageSize: 100, items: 8_000 },
    { segments: 3, rate: 50, pageSize: 100, items: 1_733 },
    { segments: 8, rate: 1_000, pageSize: 100, items: 12_345 },
  ])('holds a rebuild of $items items over $segments segments within 5 % of --rate $rate', async ({ segments, rate, pageSize, items }) => {
    const clock = fakeClock();
    const source = Array.from({ length: items }, (_, index) => ({
      orderId: { S: `o-${index}` },
      customerId: { S: `c-${index % 7}` },
      status: { S: 'PLACED' },
      amount: { N: '1' },
    }));
    const { runtime } = compose([customerTotals], { store: new MemoryReadModelStore(), deadLetters: null, logger: silentLogger });
    const rebuilder = new Rebuilder(customerTotals, runtime, new LimitScanner(source, ['orderId']), new MemoryRebuildStateStore(), new MemoryGenerationRegistry(), silentLogger, clock);
    const summary = await rebuilder.run({ segments, rate, pageSize });
    expect(summary.readThisRun).toBe(items);
    const achieved = (items * 1000) / clock.now();
    expect(achieved).toBeLessThanOrEqual(rate * 1.05);
    expect(achieved).toBeGreaterThanOrEqual(rate * 0.95);
  });
});

describe('rebuild progress', () => {
  it('draws a bar redrawn in place on a terminal', () => {
    const written: string[] = [];
    const report = progressReporter({ isTTY: true, write: (text: string) => written.push(text) });
    report(progress());
    expect(written[0]).toBe('\r\u001b[2Kcustomer-totals [████████████░░░░░░░░░░░░]  50% 550 of ~1100 items, 110/s, ~5 s left | 0:300 1:done');
  });

  it('prints plain lines, at most one a second, when the output is not a terminal', () => {
    const written: string[] = [];
    let now = 0;
    const report = progressReporter({ write: (text: string) => written.push(text) }, 1000, () => now);
    report(progress());
    now = 500;
    report(progress({ readInAll: 600 }));
    now = 1_200;
    report(progress({ readInAll: 700, resumed: true, readThisRun: 400 }));
    report(progress({ readInAll: 1100, done: true, segments: [{ lastKey: undefined, done: true, read: 850 }, { lastKey: undefined, done: true, read: 250 }] }));
    expect(written).toEqual([
      'rebuild customer-totals#v2: 550 of ~1100 items, 110/s, ~5 s left; segments 0:300 1:done\n',
      'rebuild customer-totals#v2: 700 of ~1100 items (400 this run), 110/s, ~5 s left; segments 0:300 1:done\n',
      'rebuild customer-totals#v2: 1100 of ~1100 items, 110/s; segments 0:done 1:done; done\n',
    ]);
  });
});
