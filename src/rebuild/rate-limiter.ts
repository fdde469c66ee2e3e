import { sleep as defaultSleep, type Sleep } from '../core/retry.js';

/**
 * A token bucket shared by a rebuild's segment workers, so that all of them together read at most `rate`
 * items a second, and the live table keeps its capacity. A page may start once every page before it has
 * been paid for, and is then charged in full; what it did not read (a segment's last page, a page cut at
 * 1 MB) is given back. So the items read by any time are at most `rate` a second plus one page, and a
 * rebuild of a few pages a segment keeps to the rate within a few percent: a bucket that started full let the
 * first second's worth through at once (11 % too fast over 1,000 items at 100/s), and charging pages before
 * they started left the end of each segment waiting for tokens it gave back (9 % too slow over 2,000).
 */
export class RateLimiter {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly rate: number,
    private readonly now: () => number = Date.now,
    private readonly sleep: Sleep = defaultSleep,
  ) {
    this.tokens = 0;
    this.last = now();
  }

  /** Waits until what was taken before is paid for, then takes `count`. Callers are served in turn. */
  take(count: number): Promise<void> {
    const turn = this.queue.then(async () => {
      this.refill();
      if (this.tokens < 0) {
        await this.sleep(Math.ceil((-this.tokens / this.rate) * 1000));
        this.refill();
      }
      this.tokens -= count;
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** Returns tokens taken for items that were not read. */
  giveBack(count: number): void {
    if (count > 0) this.tokens = Math.min(this.rate, this.tokens + count);
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
  }
}
