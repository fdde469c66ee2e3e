import { StreamfoldError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import { sleep as defaultSleep, type Sleep } from '../core/retry.js';
import type { AnyProjection } from '../catalog/kinds.js';
import { generationOf } from '../projection/define.js';
import type { ProjectionRuntime } from '../projection/runtime.js';
import { promoteWhenDone, rebuildStateId, startOrResume } from './lifecycle.js';
import type { GenerationRegistry, RebuildSource, RebuildStateStore, SegmentState, SourceScanner } from './ports.js';
import { outcomeOf, progressOf, type RebuildOutcome } from './progress.js';
import { RateLimiter } from './rate-limiter.js';
import { isScanner, scanSource } from './scan-source.js';
import { workShare } from './share-work.js';

export interface RebuildOptions {
  /** Scan segments; for an export, how many data files are read at once. */
  readonly segments: number;
  /** Items a second, all shares together; unlimited when absent. */
  readonly rate?: number | undefined;
  readonly pageSize?: number;
  /** Start over even if an unfinished rebuild of this generation was found. */
  readonly restart?: boolean;
  readonly onProgress?: (progress: RebuildProgress) => void;
}

export interface RebuildProgress {
  readonly projection: string;
  readonly generation: string;
  /** Each share: a scan segment, or an export data file. */
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

/**
 * What the items came to over every run of this rebuild, as its shares saved them (as the rebuild runner's
 * summary counts): a run that resumed after a kill still says what the runs before it parked.
 */
export interface RebuildSummary extends RebuildProgress, RebuildOutcome {}

/**
 * Rebuilds a projection's generation from its source table, read in shares: the segments of a parallel scan,
 * or the data files of a DynamoDB export. Every item becomes an insert at the lowest sequence, folded by the
 * same runtime as live records: an item the live consumer has already written for this generation is skipped,
 * any later change of it applies on top, so a rebuild may run while the table and its consumer stay live, and
 * the result is the fold of the final table. Each share's position is saved after each page; a stopped rebuild
 * resumes from there. This is the local driver of `workShare`; the Lambda worker is the other.
 */
export class Rebuilder {
  constructor(
    private readonly projection: AnyProjection,
    private readonly runtime: ProjectionRuntime,
    private readonly input: SourceScanner | RebuildSource,
    private readonly states: RebuildStateStore,
    private readonly registry: GenerationRegistry,
    private readonly logger: Logger,
    private readonly clock: { now: () => number; sleep: Sleep } = { now: Date.now, sleep: defaultSleep },
  ) {
    assertRebuildable(projection);
  }

  get stateId(): string {
    return rebuildStateId(this.projection, isScanner(this.input) ? this.input.table : this.input.id);
  }

  async run(options: RebuildOptions): Promise<RebuildSummary> {
    const generation = generationOf(this.projection);
    const scan = isScanner(this.input);
    const source = scan ? scanSource(this.input as SourceScanner, options.segments) : (this.input as RebuildSource);
    const pageSize = Math.max(1, Math.min(options.pageSize ?? 100, options.rate ?? Number.POSITIVE_INFINITY));
    const shares = await source.shares();
    const started = await startOrResume({ states: this.states, stateId: this.stateId, source, shares, restart: options.restart === true, now: this.clock.now });
    const { resumed } = started;
    const segments = [...started.state.segments];
    const [keyAttributes, approximateTotal] = await Promise.all([source.keyAttributes(), source.approximateItemCount()]);
    const limiter = options.rate === undefined ? undefined : new RateLimiter(options.rate, this.clock.now, this.clock.sleep);
    const startedAt = this.clock.now();
    const totals = { read: 0, applied: 0, parked: 0, skipped: 0 };
    const progress = (): RebuildProgress =>
      progressOf({ projection: this.projection.name, generation, segments, readThisRun: totals.read, elapsedMs: this.clock.now() - startedAt, approximateTotal, resumed });

    // When one share fails the others stop at their next page, and the run ends only once all have: a rebuild
    // that reported its failure writes nothing more, so its saved positions are where it stopped.
    let stopping = false;
    const waiting = segments.flatMap((segment, index) => (segment.done ? [] : [index]));
    const worker = async (): Promise<void> => {
      for (let share = waiting.shift(); share !== undefined && !stopping; share = waiting.shift()) {
        await workShare({
          projection: this.projection,
          runtime: this.runtime,
          source,
          keyAttributes,
          states: this.states,
          stateId: this.stateId,
          share,
          from: segments[share]!,
          pageSize,
          limiter,
          mayContinue: () => !stopping,
          sleep: this.clock.sleep,
          onPage: (index, state, counts) => {
            segments[index] = state;
            totals.read += counts.read;
            totals.applied += counts.applied;
            totals.parked += counts.parked;
            totals.skipped += counts.skipped;
            options.onProgress?.(progress());
          },
        });
      }
    };
    const parallel = scan ? waiting.length : Math.min(options.segments, waiting.length);
    const ended = await Promise.allSettled(
      Array.from({ length: parallel }, () =>
        worker().catch((error: unknown) => {
          stopping = true;
          throw error;
        }),
      ),
    );
    const failure = ended.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;

    // The new generation is complete: readers switch to it.
    const finished = await promoteWhenDone({ projection: this.projection, states: this.states, registry: this.registry, stateId: this.stateId, now: this.clock.now });
    const summary = { ...progress(), ...outcomeOf(finished.segments) };
    options.onProgress?.(summary);
    this.logger.info({ projection: this.projection.name, generation, applied: summary.applied, parked: summary.parked, skipped: summary.skipped, held: summary.held }, 'rebuild finished');
    return summary;
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
