import * as z from 'zod';
import { StreamfoldError } from '../core/errors.js';
import type { Logger } from '../core/logging.js';
import type { Sleep } from '../core/retry.js';
import { selectProjection, type AnyProjection } from '../catalog/kinds.js';
import { generationOf } from '../projection/define.js';
import type { ProjectionRuntime } from '../projection/runtime.js';
import { ExportSource } from './export-source.js';
import { checkExportTime, promoteWhenDone, rebuildStateId, startOrResume } from './lifecycle.js';
import type { GenerationRegistry, RebuildSource, RebuildStateStore } from './ports.js';
import { outcomeOf, readOf } from './progress.js';
import { RateLimiter } from './rate-limiter.js';
import { assertRebuildable } from './rebuilder.js';
import { workShare } from './share-work.js';

/** What to rebuild: the input of the rebuild runner's state machine, handed to each of its steps. */
export const RebuildJobSchema = z.object({
  projection: z.string().min(1),
  /** Scan this table... */
  table: z.string().min(1).optional(),
  /** ...in this many segments (shares). */
  segments: z.number().int().min(1).max(1_000_000).optional(),
  /** Or read this DynamoDB export: `s3://bucket/prefix/AWSDynamoDB/<ExportId>`. */
  export: z.string().min(1).optional(),
  /** The exported table's key, `partition[,sort]`, when it cannot be described. */
  key: z.string().optional(),
  restart: z.boolean().optional(),
  /** Rebuild from an export taken before the generation's live consumer started. */
  allowEarlyExport: z.boolean().optional(),
  pageSize: z.number().int().min(1).max(1000).optional(),
});
export type RebuildJob = z.infer<typeof RebuildJobSchema>;

/**
 * The three steps of the rebuild runner, each one Lambda invocation. Kept out of the declarations: the types
 * zod gives a discriminated union differ between its 4.x releases, and users' type checks read them.
 */
const RebuildWorkerEventSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('prepare'), job: RebuildJobSchema }),
  z.object({ action: z.literal('work'), job: RebuildJobSchema, share: z.number().int().min(0) }),
  z.object({ action: z.literal('promote'), job: RebuildJobSchema }),
]);

export interface PrepareResult {
  readonly job: RebuildJob;
  readonly stateId: string;
  /** The shares left to do: the Distributed Map's items. */
  readonly shares: readonly number[];
  readonly total: number;
  readonly resumed: boolean;
}

export interface WorkResult {
  readonly share: number;
  readonly done: boolean;
  /** Items this invocation read, and the share's total so far. */
  readonly read: number;
  readonly readInAll: number;
}

export interface PromoteResult {
  readonly generation: string;
  readonly stateId: string;
  readonly read: number;
  readonly applied: number;
  readonly parked: number;
  readonly skipped: number;
  /** Events held behind a missing version of their stream (see `RebuildOutcome`). */
  readonly held: number;
}

/** What a worker is built from: its projections' runtimes, the rebuild state, and where sources come from. */
export interface RebuildWorkerParts {
  readonly projections: readonly AnyProjection[];
  readonly runtimeOf: (projection: AnyProjection) => ProjectionRuntime;
  readonly states: RebuildStateStore;
  readonly registry: GenerationRegistry;
  readonly sourceOf: (job: RebuildJob) => Promise<RebuildSource>;
  readonly logger: Logger;
  /** Items a second this invocation may read (so that many invocations at once do not overrun the read-model table). */
  readonly rate: number | undefined;
  /** Work time an invocation starts pages within. */
  readonly workMs: number;
  /** Kept from Lambda's deadline: the last page, its retries and the save fit in it. */
  readonly marginMs: number;
  readonly now?: () => number;
  readonly sleep?: Sleep;
}

/**
 * One step of the rebuild runner: `prepare` starts (or resumes) the rebuild's saved state and lists the shares
 * left; `work` rebuilds one share for the invocation's time budget with `workShare` (the same function the
 * local rebuild runs) and says whether the share is done, so the map item loops until it is; `promote` makes
 * the generation current once every share is done.
 */
export async function runRebuildStep(
  parts: RebuildWorkerParts,
  event: unknown,
  remainingMs?: () => number,
): Promise<PrepareResult | WorkResult | PromoteResult> {
  const parsed = RebuildWorkerEventSchema.safeParse(event);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new StreamfoldError('CONFIGURATION', `not a rebuild runner step: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`.trim(), { field: issue?.path.join('.') });
  }
  const step = parsed.data;
  const projection = selectProjection(parts.projections, step.job.projection, 'the rebuild worker');
  assertRebuildable(projection);
  const now = parts.now ?? Date.now;
  let source = await parts.sourceOf(step.job);
  const stateId = rebuildStateId(projection, source.id);
  const logger = parts.logger.child({ projection: projection.name });
  switch (step.action) {
    case 'prepare': {
      // A scan whose job names no segments takes the runner's default, which a redeploy may have changed: an
      // unfinished rebuild goes on in the segments it was cut into, rather than starting over.
      if (step.job.export === undefined && step.job.segments === undefined && step.job.restart !== true) {
        const saved = await parts.states.load(stateId);
        if (saved !== undefined && saved.finishedAt === undefined) source = await parts.sourceOf({ ...step.job, segments: saved.totalSegments });
      }
      if (source instanceof ExportSource) {
        const warning = await checkExportTime({ projection, registry: parts.registry, exportTime: source.manifest.summary.exportTime, allowEarly: step.job.allowEarlyExport === true });
        if (warning !== undefined) logger.warn({ stateId }, warning);
      }
      const shares = await source.shares();
      const { state, resumed } = await startOrResume({ states: parts.states, stateId, source, shares, restart: step.job.restart === true, now });
      const left = state.segments.flatMap((segment, index) => (segment.done ? [] : [index]));
      logger.info({ stateId, shares: shares.length, left: left.length, resumed }, 'rebuild prepared');
      // A restart is done once: the steps after this one go on from the state it made. A scan's segments are
      // pinned in the job the later steps get: a saved position is a key within one segment of that many, and
      // a worker redeployed meanwhile with another default must not scan other segments with it.
      const pinned = step.job.export === undefined ? { segments: shares.length } : {};
      return { job: { ...step.job, restart: false, ...pinned }, stateId, shares: left, total: shares.length, resumed };
    }
    case 'work': {
      const from = await parts.states.loadShare(stateId, step.share);
      if (from === undefined) {
        throw new StreamfoldError('CONFIGURATION', `rebuild ${stateId} has no share ${step.share}: run its prepare step first`, { projection: projection.name });
      }
      const started = now();
      const deadline = (): boolean => now() - started < parts.workMs && (remainingMs === undefined || remainingMs() > parts.marginMs);
      const outcome = await workShare({
        projection,
        runtime: parts.runtimeOf(projection),
        source,
        keyAttributes: await source.keyAttributes(),
        states: parts.states,
        stateId,
        share: step.share,
        from,
        pageSize: step.job.pageSize ?? 100,
        limiter: parts.rate === undefined ? undefined : new RateLimiter(parts.rate, now, parts.sleep),
        mayContinue: deadline,
        sleep: parts.sleep,
      });
      logger.info({ stateId, share: step.share, read: outcome.read, done: outcome.state.done, position: outcome.state.lastKey }, 'rebuild share worked');
      return { share: step.share, done: outcome.state.done, read: outcome.read, readInAll: outcome.state.read };
    }
    case 'promote': {
      const finished = await promoteWhenDone({ projection, states: parts.states, registry: parts.registry, stateId, now });
      const read = readOf(finished.segments);
      const outcome = outcomeOf(finished.segments);
      logger.info({ stateId, read, held: outcome.held }, 'rebuild promoted');
      return { generation: generationOf(projection), stateId, read, ...outcome };
    }
  }
}

