import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve } from 'node:path';
import { StreamfoldError } from '../../src/core/errors.js';
import type { ExportObjects } from '../../src/rebuild/ports.js';

/**
 * A DynamoDB export copied to a directory (`aws s3 cp --recursive s3://bucket/prefix/AWSDynamoDB/<ExportId> dir`):
 * its objects are files under the directory, at their path within the export.
 */
export class DirectoryExportObjects implements ExportObjects {
  private readonly root: string;

  constructor(readonly location: string) {
    this.root = resolve(location);
  }

  async read(path: string): Promise<AsyncIterable<Uint8Array>> {
    const file = resolve(this.root, path);
    const inside = relative(this.root, file);
    if (inside.startsWith('..') || isAbsolute(inside)) {
      throw new StreamfoldError('MALFORMED_RECORD', `export path ${path} is outside the export directory ${this.location}`);
    }
    const found = await stat(file).catch(() => undefined);
    if (found === undefined || !found.isFile()) {
      const hint = path === 'manifest-summary.json' ? ': give the directory that holds the export (it ends in AWSDynamoDB/<ExportId>)' : '';
      throw new StreamfoldError('CONFIGURATION', `${this.location} has no ${path}${hint}`, { field: '--from-export' });
    }
    return createReadStream(file);
  }
}
