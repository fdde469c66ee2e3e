/** Exponential backoff with full jitter: retries of many writers spread out instead of colliding again. */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 25, capMs: 2_000 };

export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

export type Sleep = (milliseconds: number) => Promise<void>;

export const sleep: Sleep = (milliseconds) =>
  milliseconds <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, milliseconds));

/** Kept from Lambda's deadline by default: a round under throttling, fan-out and the answer fit in it. */
export const DEFAULT_DEADLINE_MARGIN_MS = 3_000;

/**
 * Lambda's deadline, less a margin: every retry of an invocation (the runtime's rounds, a store's retries
 * under throttling) draws on this one budget, and none starts that would not end before the margin. Without
 * a clock (outside Lambda) it allows everything.
 */
export class Deadline {
  static readonly NONE = new Deadline(undefined, 0);

  constructor(
    private readonly remainingMs: (() => number) | undefined,
    readonly marginMs: number,
  ) {}

  /** Whether work that waits `pauseMs` first may still start. */
  allows(pauseMs = 0): boolean {
    return this.remainingMs === undefined || this.remainingMs() - pauseMs > this.marginMs;
  }

  /** Milliseconds left before the margin, if there is a clock. */
  get leftMs(): number | undefined {
    return this.remainingMs === undefined ? undefined : Math.max(0, this.remainingMs() - this.marginMs);
  }

  /** Aborts a request still in flight when the margin is reached, so Lambda's timeout never kills the batch. */
  signal(): AbortSignal | undefined {
    const left = this.leftMs;
    return left === undefined ? undefined : AbortSignal.timeout(Math.max(1, left));
  }
}
