import { createHash, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { errorMessage, isStreamfoldError, StreamfoldError } from '../core/errors.js';
import { readManifest, type ExportFile, type ExportManifest } from './export-manifest.js';
import type { ExportObjects, RebuildSource, ShareCursor, ShareInfo } from './ports.js';

/**
 * A DynamoDB export (full, DynamoDB JSON) as a rebuild source: one share per data file, its position the
 * number of the file's items already folded. Before a file is folded it is checked against its line of
 * `manifest-files.json`: the MD5 of the gzipped object as stored (what `md5Checksum` holds; AWS's own example
 * pairs it with an `etag` of `md5(md5Checksum)-1`, S3's tag of an object uploaded as one part) and its number
 * of items. On S3 the file is read only in the version the manifest names (its `etag`).
 */
export class ExportSource implements RebuildSource {
  readonly id: string;
  readonly table: string;
  readonly description: string;

  private constructor(
    private readonly objects: ExportObjects,
    readonly manifest: ExportManifest,
    private readonly keys: () => Promise<string[]>,
  ) {
    this.id = `export:${manifest.exportId}`;
    this.table = manifest.table;
    this.description = `export ${objects.location}`;
  }

  /** Reads the export's manifests; `keyAttributes` says the table's key (its DescribeTable, or given by hand). */
  static async open(objects: ExportObjects, keyAttributes: (table: string) => Promise<string[]>): Promise<ExportSource> {
    const manifest = await readManifest(objects);
    return new ExportSource(objects, manifest, () => keyAttributes(manifest.table));
  }

  keyAttributes(): Promise<string[]> {
    return this.keys();
  }

  async approximateItemCount(): Promise<number> {
    return this.manifest.summary.itemCount;
  }

  async shares(): Promise<ShareInfo[]> {
    return this.manifest.files.map((file) => ({ name: file.path, items: file.itemCount }));
  }

  async open(share: number, position: string | undefined): Promise<ShareCursor> {
    const file = this.manifest.files[share];
    if (file === undefined) throw new StreamfoldError('CONFIGURATION', `${this.description} has no data file number ${share}`);
    const start = position === undefined ? 0 : Number(position);
    if (!Number.isSafeInteger(start) || start < 0 || start > file.itemCount) {
      throw new StreamfoldError('CONFIGURATION', `saved position ${position} is not an item of ${file.path} (${file.itemCount} items): run the rebuild with --restart`);
    }
    const keys = await this.keys();
    await this.verify(file);
    const lines = itemLines(await this.objects.read(file.path, file.etag));
    for (let skipped = 0; skipped < start; skipped += 1) await lines.next();
    let read = start;
    return {
      next: async (limit) => {
        const items: Record<string, unknown>[] = [];
        while (items.length < limit && read < file.itemCount) {
          const line = await lines.next();
          if (line.done === true) throw changed(file, `ended after ${read} items`);
          read += 1;
          items.push(keyedItem(itemOf(line.value, file, read), keys, file, read));
        }
        return { items, position: String(read), done: read >= file.itemCount };
      },
      close: async () => {
        await lines.return(undefined);
      },
    };
  }

  /** The whole object once, for its MD5 and its number of items, before any of it is folded. */
  private async verify(file: ExportFile): Promise<void> {
    const md5 = createHash('md5');
    let count = 0;
    try {
      for await (const _line of itemLines(await this.objects.read(file.path, file.etag), md5)) count += 1;
    } catch (error) {
      if (isStreamfoldError(error)) throw error;
      throw changed(file, `cannot be read as gzip (${errorMessage(error)}); nothing of it was folded`);
    }
    const checksum = md5.digest('base64');
    if (checksum !== file.md5Checksum) {
      throw changed(file, `has MD5 ${checksum}, but manifest-files.json says md5Checksum ${file.md5Checksum}; nothing of it was folded`);
    }
    if (count !== file.itemCount) throw changed(file, `holds ${count} items, but manifest-files.json says itemCount ${file.itemCount}; nothing of it was folded`);
  }
}

/**
 * The non-empty lines of a gzipped object, decompressed as they stream in (the bytes, as stored, go through
 * `md5` when given). A zero-byte object holds no lines. Closing the generator early stops the download.
 */
export async function* itemLines(bytes: AsyncIterable<Uint8Array>, md5?: Hash): AsyncGenerator<string> {
  const source = bytes[Symbol.asyncIterator]();
  let first = await source.next();
  while (first.done !== true && first.value.byteLength === 0) first = await source.next();
  if (first.done === true) return;
  async function* stored(): AsyncGenerator<Uint8Array> {
    try {
      for (let chunk = first; chunk.done !== true; chunk = await source.next()) {
        md5?.update(chunk.value);
        yield chunk.value;
      }
    } finally {
      await source.return?.();
    }
  }
  const gunzip = createGunzip();
  const feeding = pipeline(Readable.from(stored()), gunzip);
  feeding.catch(() => undefined);
  const decoder = new StringDecoder('utf8');
  let carry = '';
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      const parts = (carry + decoder.write(chunk)).split('\n');
      carry = parts.pop() ?? '';
      for (const part of parts) if (part.trim() !== '') yield part;
    }
    await feeding;
    carry += decoder.end();
    if (carry.trim() !== '') yield carry;
  } finally {
    gunzip.destroy();
  }
}

/** One line of DynamoDB JSON: `{"Item": {<attribute>: {<type>: <value>}}}`. */
function itemOf(line: string, file: ExportFile, number: number): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line) as unknown;
  } catch (error) {
    throw new StreamfoldError('MALFORMED_RECORD', `${file.path} item ${number} is not JSON: ${(error as Error).message}`, { cause: error, field: 'Item' });
  }
  const item = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as { Item?: unknown }).Item : undefined;
  if (typeof item !== 'object' || item === null || Array.isArray(item)) {
    throw new StreamfoldError('MALFORMED_RECORD', `${file.path} item ${number} has no Item object (a DynamoDB JSON export has {"Item": {...}} on each line)`, { field: 'Item' });
  }
  return item as Record<string, unknown>;
}

/**
 * Every item of an export carries the table's key: one that lacks it means the key was given wrong (`--key`),
 * and folding on would park every item as unreadable and promote an empty generation. So the rebuild stops at
 * the first such item, before its page is folded.
 */
function keyedItem(item: Record<string, unknown>, keys: readonly string[], file: ExportFile, number: number): Record<string, unknown> {
  const missing = keys.find((name) => !Object.hasOwn(item, name));
  if (missing === undefined) return item;
  throw new StreamfoldError(
    'CONFIGURATION',
    `${file.path} item ${number} has no attribute ${missing}, though the table's key is taken to be ${keys.join(',')}; ` +
      `its attributes are ${Object.keys(item).slice(0, 10).join(', ')}: give the table's key with --key <partition>[,<sort>]`,
    { field: `Item.${missing}` },
  );
}

const changed = (file: ExportFile, what: string): StreamfoldError =>
  new StreamfoldError('MALFORMED_RECORD', `export data file ${file.path} ${what}: the file is not the one the manifest lists (damaged or replaced)`, { field: 'md5Checksum' });
