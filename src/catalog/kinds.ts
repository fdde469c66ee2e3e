import { StreamfoldError } from '../core/errors.js';
import type { EventProjection } from '../eventlog/define.js';
import type { Projection } from '../projection/define.js';

/** Every kind of projection a consumer may run: of a state table, or of an event log. */
export type AnyProjection = Projection | EventProjection;

export function isStateProjection(projection: AnyProjection): projection is Projection {
  return projection.kind === 'view' || projection.kind === 'sum';
}

/** The projection of that name; of several versions, the newest. `holder` says whose projections they are. */
export function selectProjection(projections: readonly AnyProjection[], name: string, holder = 'the module'): AnyProjection {
  const projection = projections
    .filter((candidate) => candidate.name === name)
    .sort((a, b) => b.version - a.version)[0];
  if (projection === undefined) {
    throw new StreamfoldError(
      'CONFIGURATION',
      `no projection named "${name}"; ${holder} has ${[...new Set(projections.map((p) => p.name))].join(', ')}`,
      { field: 'projection' },
    );
  }
  return projection;
}
