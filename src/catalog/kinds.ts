import type { EventProjection } from '../eventlog/define.js';
import type { Projection } from '../projection/define.js';

/** Every kind of projection a consumer may run: of a state table, or of an event log. */
export type AnyProjection = Projection | EventProjection;

export function isStateProjection(projection: AnyProjection): projection is Projection {
  return projection.kind === 'view' || projection.kind === 'sum';
}
