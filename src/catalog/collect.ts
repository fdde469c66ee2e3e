import { isEventProjection } from '../eventlog/define.js';
import { isFanOut, type FanOut } from '../fanout/define.js';
import { assertDistinctProjections, type Projection } from '../projection/define.js';
import type { AnyProjection } from './kinds.js';

/**
 * The projections and fan-outs a module exports: its default export (one, or a list) and its named
 * exports. The CLI and the Lambda entry the CDK construct generates both read a module this way.
 */
export function collectModule(exports: Record<string, unknown>): { projections: AnyProjection[]; fanOut: FanOut[] } {
  const projections = new Set<AnyProjection>();
  const fanOut = new Set<FanOut>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (isProjection(value) || isEventProjection(value)) projections.add(value);
    else if (isFanOut(value)) fanOut.add(value);
  };
  for (const value of Object.values(exports)) visit(value);
  assertDistinctProjections([...projections]);
  return { projections: [...projections], fanOut: [...fanOut] };
}

function isProjection(value: unknown): value is Projection {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Projection>;
  return (
    (candidate.kind === 'view' || candidate.kind === 'sum') &&
    typeof candidate.name === 'string' &&
    typeof candidate.version === 'number'
  );
}
