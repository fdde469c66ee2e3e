import { errorMessage, isStreamfoldError, StreamfoldError } from '../errors.js';
import type { FanOut } from '../fanout/define.js';
import type { AnyProjection } from '../projection/kinds.js';
import { loadModule, selectProjection } from './load-projections.js';

/**
 * The projections module a command was given. A module that fails to load (a syntax error, a missing
 * import) is named with its error, so the message says which file to fix.
 */
export async function projectionsModule(path: string): Promise<{ projections: AnyProjection[]; fanOut: FanOut[] }> {
  try {
    return await loadModule(path);
  } catch (error) {
    if (isStreamfoldError(error)) throw error;
    throw new StreamfoldError('CONFIGURATION', `the projections module ${path} does not load: ${errorMessage(error)}`, {
      field: '--projections',
      cause: error,
    });
  }
}

/** The module's projection of that name (the newest version of it). */
export async function projectionOf(path: string, name: string): Promise<AnyProjection> {
  return selectProjection((await projectionsModule(path)).projections, name);
}
