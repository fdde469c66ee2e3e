import { StreamfoldError } from '../core/errors.js';
import type { EventLog, EventProjection } from '../eventlog/define.js';
import { EventLogLane } from '../eventlog/lane.js';
import { isStateProjection, type AnyProjection } from './kinds.js';
import type { Lane } from '../projection/lane.js';
import { StateLane } from '../projection/state-lane.js';
import type { Logger } from '../core/logging.js';
import type { ReadModelStore } from '../projection/ports.js';
import { ProjectionRuntime, type RuntimeOptions } from '../projection/runtime.js';

/** A consumer's lanes: one for the state projections, and one per event log for that log's projections. */
export function lanesOf(projections: readonly AnyProjection[]): Lane[] {
  const lanes: Lane[] = [];
  const state = projections.filter(isStateProjection);
  if (state.length > 0) lanes.push(new StateLane(state));
  const logs = new Map<EventLog, EventProjection[]>();
  for (const projection of projections) {
    if (isStateProjection(projection)) continue;
    logs.set(projection.log, [...(logs.get(projection.log) ?? []), projection]);
  }
  for (const [log, members] of logs) lanes.push(new EventLogLane(log, members));
  if (lanes.length === 0) throw new StreamfoldError('INVALID_PROJECTION', 'a consumer needs at least one projection');
  return lanes;
}

/** A runtime per lane, over one store: what a consumer, a redrive or a verify runs its batches through. */
export function runtimesOf(projections: readonly AnyProjection[], store: ReadModelStore, logger: Logger, options: RuntimeOptions = {}): ProjectionRuntime[] {
  return lanesOf(projections).map((lane) => new ProjectionRuntime(lane, store, logger, options));
}
