import { StreamfoldError } from '../core/errors.js';
import { backoffDelay, DEFAULT_BACKOFF, sleep as defaultSleep, type Sleep } from '../core/retry.js';
import type { AnyProjection } from '../catalog/kinds.js';
import { takeBatch } from '../projection/intake.js';
import type { ProjectionRuntime } from '../projection/runtime.js';
import type { DecodeResult } from '../records/change-event.js';
import type { RebuildSource, RebuildStateStore, SegmentState } from './ports.js';
import type { RateLimiter } from './rate-limiter.js';
import { decodeReplay } from './replay-records.js';

/** What one page's items came to. */
export interface PageCounts {
  readonly read: number;
  readonly applied: number;
  readonly parked: number;
  readonly skipped: number;
}

/** One share of a rebuild (a scan segment, an export data file), to be worked on from where it stands. */
export interface ShareWork {
  readonly projection: AnyProjection;
  readonly runtime: ProjectionRuntime;
  readonly source: RebuildSource;
  readonly keyAttributes: readonly string[];
  readonly states: RebuildStateStore;
  readonly stateId: string;
  readonly share: number;
  /** Where the share stands (as saved). */
  readonly from: SegmentState;
  readonly pageSize: number;
  /** Shared by every share a process works on: all of them together keep to the rate. */
  readonly limiter?: RateLimiter | undefined;
  /**
   * Asked before every page after the first: false when the time budget is spent (a Lambda worker) or another
   * share failed (the local rebuild). At least one page is always read, so every call makes progress.
   */
  readonly mayContinue?: (() => boolean) | undefined;
  /** Called once each page is folded and its position saved. */
  readonly onPage?: ((share: number, state: SegmentState, counts: PageCounts) => void) | undefined;
  readonly sleep?: Sleep | undefined;
}

export interface ShareOutcome extends PageCounts {
  /** The share's state as saved last. */
  readonly state: SegmentState;
}

const PAGE_ATTEMPTS = 8;

/**
 * Rebuilds one share from its saved position, a page at a time: each page's items become inserts at the
 * lowest sequence, folded through the projection's lane as live records are, and the share's new position is
 * saved once the page is folded. So a worker killed at any point goes on from its last saved page, and the
 * page it was folding comes again as a no-op (its items' checkpoints already hold them). The local rebuild
 * runs it for every share at once; the Lambda worker runs it for one share until its time budget is spent.
 */
export async function workShare(work: ShareWork): Promise<ShareOutcome> {
  const totals = { read: 0, applied: 0, parked: 0, skipped: 0 };
  let state = work.from;
  if (state.done) return { ...totals, state };
  const cursor = await work.source.open(work.share, state.lastKey);
  try {
    for (let first = true; !state.done && (first || (work.mayContinue?.() ?? true)); first = false) {
      await work.limiter?.take(work.pageSize);
      const page = await cursor.next(work.pageSize);
      work.limiter?.giveBack(work.pageSize - page.items.length);
      const counts = { read: page.items.length, ...(await applyPage(work, page.items)) };
      state = {
        ...state,
        lastKey: page.position,
        done: page.done,
        read: state.read + counts.read,
        applied: (state.applied ?? 0) + counts.applied,
        parked: (state.parked ?? 0) + counts.parked,
        skipped: (state.skipped ?? 0) + counts.skipped,
        held: (state.held ?? 0) + counts.read - counts.applied - counts.parked - counts.skipped,
      };
      await work.states.saveShare(work.stateId, work.share, state);
      totals.read += counts.read;
      totals.applied += counts.applied;
      totals.parked += counts.parked;
      totals.skipped += counts.skipped;
      work.onPage?.(work.share, state, counts);
    }
  } finally {
    await cursor.close();
  }
  return { ...totals, state };
}

/** Folds one page through the projection's lane; keys whose writes keep failing are tried again, then the share stops (and can resume). */
async function applyPage(work: ShareWork, items: readonly Record<string, unknown>[]): Promise<Omit<PageCounts, 'read'>> {
  const sleep = work.sleep ?? defaultSleep;
  let decoded: readonly DecodeResult[] = items.map((item, index) => decodeReplay(item, work.keyAttributes, work.source.table, index));
  const totals = { applied: 0, parked: 0, skipped: 0 };
  for (let attempt = 0; decoded.length > 0; attempt += 1) {
    if (attempt >= PAGE_ATTEMPTS) {
      throw new StreamfoldError('STORE_WRITE_FAILED', 'a page of the rebuild kept failing; run the command again to resume', {
        projection: work.projection.name,
        retryable: true,
      });
    }
    if (attempt > 0) await sleep(backoffDelay(DEFAULT_BACKOFF, attempt));
    const result = await takeBatch(work.runtime, decoded);
    if (result.unplacedReported.length > 0) {
      throw new StreamfoldError('STORE_WRITE_FAILED', 'records of the rebuild could not be parked; run the command again to resume', {
        projection: work.projection.name,
        retryable: true,
        cause: result.unplacedReported[0]?.error,
      });
    }
    totals.parked += result.unattributedParked;
    for (const outcome of result.outcomes) {
      if (outcome.failure !== undefined) continue;
      // A record parked by an earlier fold of this page (a run killed before it saved the page) is parked still.
      const parkedBefore = outcome.parkedBefore ?? 0;
      totals.applied += outcome.applied;
      totals.parked += outcome.parked + parkedBefore;
      totals.skipped += outcome.stale - parkedBefore;
    }
    const failed = new Set(result.failedKeys);
    // Only the failed keys' items go again: the same decoded records, cut to those keys.
    decoded = decoded.filter((record) => {
      const key = record.ok ? record.event.key : record.key;
      return key !== undefined && failed.has(key.id);
    });
  }
  return totals;
}
