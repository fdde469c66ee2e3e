import { sleep as defaultSleep, type Sleep } from '../retry.js';

/**
 * A token bucket shared by a rebuild's segment workers, so that all of them together read at most `rate`
 * items a second, and the live table keeps its capacity. The bucket starts empty (a full one would let the
 * first second's worth through at once, a quarter too fast over a short rebuild), and a page that came back
 * shorter than asked gives its unused tokens back (a segment's last page, a page cut at 1 MB).
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

  /** Waits until `count` items may be read. Callers are served in turn. */
  take(count: number): Promise<void> {
    const turn = this.queue.then(async () => {
      this.refill();
      if (this.tokens < count) {
        await this.sleep(Math.ceil(((count - this.tokens) / this.rate) * 1000));
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
