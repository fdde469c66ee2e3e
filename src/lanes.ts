import type { ConsumerLane } from './consumer.js';
import { StreamfoldError } from './errors.js';
import type { EventLog, EventProjection } from './eventlog/define.js';
import { planStream } from './eventlog/plan.js';
import { isStateProjection, type AnyProjection } from './projection/kinds.js';
import type { Planner, ProjectionRuntime } from './projection/runtime.js';

/**
 * The consumer's lanes: one for the state projections, one per event log for that log's projections, each
 * with a runtime of its own (an event log plans per stream, in version order).
 */
export function lanesOf(
  projections: readonly AnyProjection[],
  runtimeOf: (members: readonly AnyProjection[], planner: Planner | undefined) => ProjectionRuntime,
): ConsumerLane[] {
  const lanes: ConsumerLane[] = [];
  const state = projections.filter(isStateProjection);
  if (state.length > 0) lanes.push({ runtime: runtimeOf(state, undefined) });
  const logs = new Map<EventLog, EventProjection[]>();
  for (const projection of projections) {
    if (isStateProjection(projection)) continue;
    logs.set(projection.log, [...(logs.get(projection.log) ?? []), projection]);
  }
  for (const [log, members] of logs) {
    lanes.push({ log, runtime: runtimeOf(members, (run, loaded, _parser, options) => planStream(run, loaded, members, log, options)) });
  }
  if (lanes.length === 0) throw new StreamfoldError('INVALID_PROJECTION', 'a consumer needs at least one projection');
  return lanes;
}
