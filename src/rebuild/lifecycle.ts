import { StreamfoldError } from '../core/errors.js';
import type { AnyProjection } from '../catalog/kinds.js';
import { generationOf } from '../projection/define.js';
import type { GenerationRegistry, RebuildSource, RebuildState, RebuildStateStore, ShareInfo } from './ports.js';

/** A rebuild's saved state is keyed by the generation it builds and the source it reads. */
export const rebuildStateId = (projection: AnyProjection, sourceId: string): string => `${generationOf(projection)}|${sourceId}`;

/**
 * The state a rebuild goes on from: the saved one if it is unfinished and cut into the same shares, else a new
 * one (every share at its start), saved before any work. Both drivers (the local rebuild and the Step Functions
 * runner) start here.
 */
export async function startOrResume(options: {
  readonly states: RebuildStateStore;
  readonly stateId: string;
  readonly source: RebuildSource;
  readonly shares: readonly ShareInfo[];
  readonly restart: boolean;
  readonly now: () => number;
}): Promise<{ state: RebuildState; resumed: boolean }> {
  const previous = options.restart ? undefined : await options.states.load(options.stateId);
  if (previous !== undefined && previous.finishedAt === undefined && previous.totalSegments === options.shares.length) {
    return { state: previous, resumed: true };
  }
  const state: RebuildState = {
    totalSegments: options.shares.length,
    segments: options.shares.map((share) => ({ lastKey: undefined, done: false, read: 0, name: share.name, items: share.items })),
    startedAt: new Date(options.now()).toISOString(),
    source: options.source.description,
  };
  await options.states.save(options.stateId, state);
  return { state, resumed: false };
}

/**
 * Makes the new generation the one readers use, once every share is done, and marks the rebuild finished.
 * A share that is not done refuses it: a generation is promoted only when complete. A newer generation
 * already current refuses it too: readers never go back to an older one.
 */
export async function promoteWhenDone(options: {
  readonly projection: AnyProjection;
  readonly states: RebuildStateStore;
  readonly registry: GenerationRegistry;
  readonly stateId: string;
  readonly now: () => number;
}): Promise<RebuildState> {
  const state = await options.states.load(options.stateId);
  if (state === undefined) {
    throw new StreamfoldError('CONFIGURATION', `no rebuild ${options.stateId} was started`, { projection: options.projection.name });
  }
  const open = state.segments.flatMap((segment, index) => (segment.done ? [] : [segment.name ?? String(index)]));
  if (open.length > 0) {
    throw new StreamfoldError(
      'CONFIGURATION',
      `rebuild ${options.stateId} is not done: ${open.length} of ${state.totalSegments} shares are unfinished (${open.slice(0, 5).join(', ')}${open.length > 5 ? ', ...' : ''}); the generation stays unpromoted`,
      { projection: options.projection.name },
    );
  }
  const { name, version } = options.projection;
  const current = await options.registry.promote(name, version);
  if (current !== version) {
    // A newer generation was promoted while this one was rebuilt: its readers stay on it. This rebuild's rows
    // are complete, and it stays unfinished, so running it again says the same.
    throw new StreamfoldError(
      'CONFIGURATION',
      `${generationOf({ name, version: current })} is current: the rebuild of ${generationOf(options.projection)} is complete, ` +
        `but readers are not handed back to an older generation; they keep ${generationOf({ name, version: current })}`,
      { projection: name },
    );
  }
  const finished = { ...state, finishedAt: state.finishedAt ?? new Date(options.now()).toISOString() };
  await options.states.save(options.stateId, finished);
  return finished;
}

/**
 * An export is consistent as of its `exportTime`; the new generation's live consumer applies what changes after
 * it started. A change between an export and a later start is in neither, so such an export is refused (unless
 * `allowEarly`: the operator knows nothing changed then). Answers a warning when no live consumer of the
 * version has recorded its start yet (it may not be deployed).
 */
export async function checkExportTime(options: {
  readonly projection: AnyProjection;
  readonly registry: GenerationRegistry;
  readonly exportTime: string;
  readonly allowEarly: boolean;
}): Promise<string | undefined> {
  const { projection } = options;
  const since = await options.registry.liveSince?.(projection.name, projection.version);
  const exported = Date.parse(options.exportTime);
  if (since === undefined) {
    return (
      `no live consumer of ${generationOf(projection)} has recorded its start: it must be running before the export's time ` +
      `(${options.exportTime}), or the changes between the two are lost; \`verify\` after the rebuild finds them`
    );
  }
  if (exported >= since || options.allowEarly) return undefined;
  throw new StreamfoldError(
    'CONFIGURATION',
    `the export was taken at ${options.exportTime}, before the live consumer of ${generationOf(projection)} started (${new Date(since).toISOString()}): ` +
      `a change made between the two would be in neither. Export again now, or, if nothing changed in between, give --allow-early-export`,
    { projection: projection.name, field: 'exportTime' },
  );
}
