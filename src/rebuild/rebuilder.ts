import { StreamfoldError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import { generationOf } from '../projection/define.js';
import { takeBatch } from '../projection/intake.js';
import type { AnyProjection } from '../catalog/kinds.js';
import type { ProjectionRuntime } from '../projection/runtime.js';
import type { DecodeResult } from '../records/change-event.js';
import { backoffDelay, DEFAULT_BACKOFF, sleep as defaultSleep, type Sleep } from '../core/retry.js';
import type { GenerationRegistry, RebuildState, RebuildStateStore, SegmentState, SourceScanner } from './ports.js';
import { RateLimiter } from './rate-limiter.js';
import { decodeReplay } from './replay-records.js';

export interface RebuildOptions {
  readonly segments: number;
  /** Items a second, all segments together; unlimited when absent. */
  readonly rate?: number | undefined;
  readonly pageSize?: number;
  /** Start over even if an unfinished rebuild of this generation was found. */
  readonly restart?: boolean;
  readonly onProgress?: (progress: RebuildProgress) => void;
}

export interface RebuildProgress {
  readonly projection: string;
  readonly generation: string;
  readonly segments: readonly SegmentState[];
  /** Items read by this run (a resumed run counts only what it read itself). */
  readonly readThisRun: number;
  readonly readInAll: number;
  readonly itemsPerSecond: number;
  readonly elapsedMs: number;
  readonly approximateTotal: number | undefined;
  readonly etaMs: number | undefined;
  readonly resumed: boolean;
  readonly done: boolean;
}

export interface RebuildSummary extends RebuildProgress {
  readonly applied: number;
  readonly parked: number;
  readonly skipped: number;
}

const PAGE_ATTEMPTS = 8;

/**
 * Rebuilds a projection's generation from a parallel scan of its source table. Every item becomes an insert
 * at the lowest sequence, folded by the same runtime as live records: an item the live consumer has already
 * written for this generation is skipped, any later change of it applies on top, so a rebuild may run while
 * the table and its consumer stay live, and the result is the fold of the final table. The scan position of
 * every segment is saved after each page; a stopped rebuild resumes from there.
 */
export class Rebuilder {
  constructor(
    private readonly projection: AnyProjection,
    private readonly runtime: ProjectionRuntime,
    private readonly scanner: SourceScanner,
    private readonly states: RebuildStateStore,
    private readonly registry: GenerationRegistry,
    private readonly logger: Logger,
    private readonly clock: { now: () => number; sleep: Sleep } = { now: Date.now, sleep: defaultSleep },
  ) {
    assertRebuildable(projection);
  }

  get stateId(): string {
    return `${generationOf(this.projection)}|${this.scanner.table}`;
  }

  async run(options: RebuildOptions): Promise<RebuildSummary> {
    const generation = generationOf(this.projection);
    const pageSize = Math.max(1, Math.min(options.pageSize ?? 100, options.rate ?? Number.POSITIVE_INFINITY));
    const previous = options.restart === true ? undefined : await this.states.load(this.stateId);
    const resumed = previous !== undefined && previous.finishedAt === undefined && previous.totalSegments === options.segments;
    let state: RebuildState = resumed
      ? previous
      : {
          totalSegments: options.segments,
          segments: Array.from({ length: options.segments }, () => ({ lastKey: undefined, done: false, read: 0 })),
          startedAt: new Date(this.clock.now()).toISOString(),
        };
    await this.states.save(this.stateId, state);
    const [keyAttributes, approximateTotal] = await Promise.all([
      this.scanner.keyAttributes(),
      this.scanner.approximateItemCount(),
    ]);
    const limiter = options.rate === undefined ? undefined : new RateLimiter(options.rate, this.clock.now, this.clock.sleep);
    const started = this.clock.now();
    let readThisRun = 0;
    let applied = 0;
    let parked = 0;
    let skipped = 0;
    // Saves are chained so that concurrent workers never write an older state over a newer one.
    let saving = Promise.resolve();
    const progress = (): RebuildProgress => {
      const elapsedMs = Math.max(1, this.clock.now() - started);
      const itemsPerSecond = (readThisRun * 1000) / elapsedMs;
      const readInAll = state.segments.reduce((total, segment) => total + segment.read, 0);
      const left = approximateTotal === undefined ? undefined : Math.max(0, approximateTotal - readInAll);
      return {
        projection: this.projection.name,
        generation,
        segments: state.segments,
        readThisRun,
        readInAll,
        itemsPerSecond,
        elapsedMs,
        approximateTotal,
        etaMs: left === undefined || itemsPerSecond === 0 ? undefined : (left / itemsPerSecond) * 1000,
        resumed,
        done: state.segments.every((segment) => segment.done),
      };
    };

    // When one segment fails the others stop at their next page, and the run ends only once all have: a
    // rebuild that reported its failure writes nothing more, so its saved positions are where it stopped.
    let stopping = false;
    const worker = async (segment: number): Promise<void> => {
      for (;;) {
        const current = state.segments[segment];
        if (current === undefined || current.done || stopping) return;
        await limiter?.take(pageSize);
        const page = await this.scanner.scan(segment, options.segments, current.lastKey, pageSize);
        limiter?.giveBack(pageSize - page.items.length);
        const outcome = await this.applyPage(page.items, keyAttributes);
        applied += outcome.applied;
        parked += outcome.parked;
        skipped += outcome.skipped;
        readThisRun += page.items.length;
        const segments = [...state.segments];
        segments[segment] = { lastKey: page.lastKey, done: page.lastKey === undefined, read: current.read + page.items.length };
        state = { ...state, segments };
        const snapshot = state;
        saving = saving.then(() => this.states.save(this.stateId, snapshot));
        await saving;
        options.onProgress?.(progress());
      }
    };
    const ended = await Promise.allSettled(
      Array.from({ length: options.segments }, (_, segment) =>
        worker(segment).catch((error: unknown) => {
          stopping = true;
          throw error;
        }),
      ),
    );
    const failure = ended.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;

    // The new generation is complete: readers switch to it.
    await this.registry.promote(this.projection.name, this.projection.version);
    state = { ...state, finishedAt: new Date(this.clock.now()).toISOString() };
    await this.states.save(this.stateId, state);
    const summary = { ...progress(), applied, parked, skipped };
    options.onProgress?.(summary);
    this.logger.info({ projection: this.projection.name, generation, applied, parked, skipped }, 'rebuild finished');
    return summary;
  }

  /** Folds one page through the projection's lane; keys whose writes keep failing are tried again, then the rebuild stops (and can resume). */
  private async applyPage(
    items: readonly Record<string, unknown>[],
    keyAttributes: readonly string[],
  ): Promise<{ applied: number; parked: number; skipped: number }> {
    let decoded: readonly DecodeResult[] = items.map((item, index) => decodeReplay(item, keyAttributes, this.scanner.table, index));
    const totals = { applied: 0, parked: 0, skipped: 0 };
    for (let attempt = 0; decoded.length > 0; attempt += 1) {
      if (attempt >= PAGE_ATTEMPTS) {
        throw new StreamfoldError('STORE_WRITE_FAILED', 'a page of the rebuild kept failing; run the command again to resume', {
          projection: this.projection.name,
          retryable: true,
        });
      }
      if (attempt > 0) await this.clock.sleep(backoffDelay(DEFAULT_BACKOFF, attempt));
      const result = await takeBatch(this.runtime, decoded);
      if (result.unplacedReported.length > 0) {
        throw new StreamfoldError('STORE_WRITE_FAILED', 'records of the rebuild could not be parked; run the command again to resume', {
          projection: this.projection.name,
          retryable: true,
          cause: result.unplacedReported[0]?.error,
        });
      }
      totals.parked += result.unattributedParked;
      for (const outcome of result.outcomes) {
        if (outcome.failure !== undefined) continue;
        totals.applied += outcome.applied;
        totals.parked += outcome.parked;
        totals.skipped += outcome.stale;
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
}

/**
 * A scan only has each item's latest image: a view of a state table that needs the history cannot be rebuilt
 * from it. An event log's items are its history, so its projections always can.
 */
export function assertRebuildable(projection: AnyProjection): void {
  if (projection.kind === 'view' && projection.dependsOn !== 'image') {
    throw new StreamfoldError(
      'CONFIGURATION',
      `${projection.name} cannot be rebuilt from a table scan: its rows depend on each item's history, and a scan ` +
        `only sees the latest image. Declare dependsOn: 'image' if a row follows from the latest image alone; ` +
        `otherwise rebuild it from an event log`,
      { projection: projection.name },
    );
  }
}
