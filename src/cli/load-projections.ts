import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StreamfoldError } from '../core/errors.js';
import type { FanOut } from '../fanout/define.js';
import { collectModule } from '../catalog/collect.js';
import type { AnyProjection } from '../catalog/kinds.js';

const TYPESCRIPT = /\.[mc]?tsx?$/;

/**
 * Loads the projections a module exports: its default export (one projection or a list) and its named
 * exports that are projections. TypeScript modules are loaded through tsx, so `projections/index.ts` works
 * as it is.
 */
export async function loadProjections(modulePath: string): Promise<AnyProjection[]> {
  return (await loadModule(modulePath)).projections;
}

/** The projections and fan-outs a module exports. */
export async function loadModule(modulePath: string): Promise<{ projections: AnyProjection[]; fanOut: FanOut[] }> {
  const path = resolve(modulePath);
  if (!existsSync(path)) {
    throw new StreamfoldError('CONFIGURATION', `no projections module at ${path}`, { field: '--projections' });
  }
  if (TYPESCRIPT.test(path)) await loadTypeScript(modulePath);
  const exports = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const collected = collectModule(exports);
  if (collected.projections.length === 0) {
    throw new StreamfoldError('CONFIGURATION', `${modulePath} exports no projection (made with defineProjection)`, {
      field: '--projections',
    });
  }
  return collected;
}

/** tsx (an optional peer dependency) lets Node.js import TypeScript; without it, say what to do. */
async function loadTypeScript(modulePath: string): Promise<void> {
  let tsx: { register(): unknown };
  try {
    tsx = await import('tsx/esm/api');
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new StreamfoldError(
      'CONFIGURATION',
      `${modulePath} is TypeScript, and loading it needs tsx: install it (npm install --save-dev tsx), or point --projections at the compiled JavaScript`,
      { field: '--projections', cause: error },
    );
  }
  tsx.register();
}

