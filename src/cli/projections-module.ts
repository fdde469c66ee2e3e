import { errorMessage, isStreamfoldError, StreamfoldError } from '../core/errors.js';
import type { FanOut } from '../fanout/define.js';
import { selectProjection, type AnyProjection } from '../catalog/kinds.js';
import { UsageError } from './exit-codes.js';
import { loadModule } from './load-projections.js';

/**
 * The projections module a command was given. A module that fails to load (a syntax error, a missing
 * import) is named with its error, so the message says which file to fix.
 */
export async function projectionsModule(path: string): Promise<{ projections: AnyProjection[]; fanOut: FanOut[] }> {
  try {
    return await loadModule(path);
  } catch (error) {
    if (isStreamfoldError(error, 'CONFIGURATION')) throw error;
    // What the module holds is wrong (no projection at all, two sharing a read model): say which module.
    if (isStreamfoldError(error, 'INVALID_PROJECTION')) {
      // The engine refuses an empty list before the loader's own check, which names the module, can run.
      const detail = error.projection === undefined && /at least one projection/.test(error.detail) ? 'exports no projection (made with defineProjection)' : error.detail;
      throw new StreamfoldError('INVALID_PROJECTION', `${path}: ${detail}`, { projection: error.projection, cause: error });
    }
    throw new StreamfoldError('CONFIGURATION', `the projections module ${path} does not load: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}

/** The projection of that name (the newest version of it); a name the module lacks is a usage mistake. */
export function named(projections: readonly AnyProjection[], name: string): AnyProjection {
  try {
    return selectProjection(projections, name);
  } catch (error) {
    throw isStreamfoldError(error, 'CONFIGURATION') ? new UsageError(error.detail, 'projection') : error;
  }
}

/** The module's projection of that name. */
export async function projectionOf(path: string, name: string): Promise<AnyProjection> {
  return named((await projectionsModule(path)).projections, name);
}
