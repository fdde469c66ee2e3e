import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * This package's version, from its package.json: the nearest one up from this file that names streamfold
 * (src/ in a checkout, dist/src/ or dist/cjs/src/ in the package, where dist/cjs has a package.json of its own).
 */
export function packageVersion(): string {
  for (let directory = dirname(fileURLToPath(import.meta.url)); ; directory = dirname(directory)) {
    const file = join(directory, 'package.json');
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === 'streamfold' && typeof manifest.version === 'string') return manifest.version;
    }
    if (dirname(directory) === directory) return 'unknown';
  }
}
