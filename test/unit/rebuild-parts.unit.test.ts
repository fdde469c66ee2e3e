import { describe, expect, it } from 'vitest';
import { progressReporter } from '../../src/rebuild/progress.js';
import { RateLimiter } from '../../src/rebuild/rate-limiter.js';
import type { RebuildProgress } from '../../src/rebuild/rebuilder.js';

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
    // 500 items at 100 a second: the first 100 are in the bucket, the other 400 take 4 seconds.
    expect(clock.now()).toBeGreaterThanOrEqual(4_000);
    expect(clock.now()).toBeLessThan(4_100);
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
