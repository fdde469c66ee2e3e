import { isPlainRecord } from '../records/attribute-value.js';
import { toExactJson } from '../records/json.js';
import { silentLogger } from '../core/logging.js';
import { runtimesOf } from '../catalog/lanes.js';
import { takeBatch } from '../projection/intake.js';
import type { AnyProjection } from '../catalog/kinds.js';
import type { ReadModelReader, ReadModelRow } from '../projection/ports.js';
import { readAllRows } from '../projection/read-model.js';
import { ProjectionRuntime } from '../projection/runtime.js';
import { MemoryDeadLetterStore } from '../testing/memory-dead-letters.js';
import { MemoryReadModelStore } from '../testing/memory-store.js';
import type { SourceScanner } from './ports.js';
import { assertRebuildable } from './rebuilder.js';
import { decodeReplay } from './replay-records.js';

export interface Drift {
  /** The row's key, as JSON. */
  readonly key: string;
  readonly field: string;
  /** As JSON; `(no row)` or `(missing)` when absent. */
  readonly stored: string;
  readonly expected: string;
}

export interface VerifyResult {
  readonly generation: string;
  readonly storedRows: number;
  readonly expectedRows: number;
  readonly itemsScanned: number;
  readonly drift: readonly Drift[];
  /**
   * Items the recomputation could not fold either (they fail the schema, make the projection throw, or pass
   * a DynamoDB limit): live, they are parked. The expected rows leave them out, so they are said apart, with
   * the key as `parked list` prints it.
   */
  readonly notFolded: readonly { readonly key: string; readonly error: string }[];
}

/**
 * Recomputes a projection from a scan of its source table, in memory with the same runtime, and compares
 * it with the stored read model row by row and field by field. Fields the projection declares volatile (such
 * as the time of the last change) are left out, since a scan cannot reproduce them.
 */
export async function verifyProjection(options: {
  readonly projection: AnyProjection;
  readonly scanner: SourceScanner;
  readonly reader: ReadModelReader;
  readonly generation: string;
  readonly segments?: number;
}): Promise<VerifyResult> {
  const { projection, scanner } = options;
  assertRebuildable(projection);
  const memory = new MemoryReadModelStore();
  const deadLetters = new MemoryDeadLetterStore();
  const [runtime] = runtimesOf([projection], memory, silentLogger, { deadLetters }) as [ProjectionRuntime];
  const keyAttributes = await scanner.keyAttributes();
  const segments = options.segments ?? 4;
  let itemsScanned = 0;
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let startKey: string | undefined;
      do {
        const page = await scanner.scan(segment, segments, startKey, 1000);
        itemsScanned += page.items.length;
        const decoded = page.items.map((item, index) => decodeReplay(item, keyAttributes, scanner.table, index));
        await takeBatch(runtime, decoded);
        startKey = page.lastKey;
      } while (startKey !== undefined);
    }),
  );
  const expected = await readAllRows(memory, projection);
  const stored = await readAllRows(options.reader, projection, options.generation);
  const volatile = new Set(projection.kind === 'view' ? (projection.volatileFields ?? []) : []);
  return {
    generation: options.generation,
    storedRows: stored.length,
    expectedRows: expected.length,
    itemsScanned,
    drift: compareRows(stored, expected, volatile),
    notFolded: [...deadLetters.records.values()]
      .filter((record) => record.reason === 'failed')
      .map((record) => ({ key: record.key, error: record.error.message }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
  };
}

export function compareRows(
  stored: readonly ReadModelRow[],
  expected: readonly ReadModelRow[],
  volatile: ReadonlySet<string> = new Set(),
): Drift[] {
  const byKey = (rows: readonly ReadModelRow[]) => new Map(rows.map((row) => [toExactJson(row.key), row.value]));
  const left = byKey(stored);
  const right = byKey(expected);
  const drift: Drift[] = [];
  for (const key of [...new Set([...left.keys(), ...right.keys()])].sort()) {
    const storedRow = left.get(key);
    const expectedRow = right.get(key);
    const fields = new Set([...Object.keys(storedRow ?? {}), ...Object.keys(expectedRow ?? {})]);
    for (const field of [...fields].sort()) {
      if (volatile.has(field)) continue;
      const storedValue = fieldJson(storedRow, field);
      const expectedValue = fieldJson(expectedRow, field);
      if (storedValue !== expectedValue) drift.push({ key, field, stored: storedValue, expected: expectedValue });
    }
  }
  return drift;
}

/**
 * A field as the stored row would read back, as JSON: the expected rows are folded in memory, where a field
 * can be `undefined` (DynamoDB keeps no such field) and a set keeps the order the projection built it in
 * (DynamoDB keeps none). So an `undefined` field counts as missing, and a set's elements and a map's
 * attributes are compared sorted: DynamoDB keeps no order of a map's attributes either, and a map read back
 * from a row, from a stream image and from a scan may each list them differently.
 */
function fieldJson(row: Record<string, unknown> | undefined, field: string): string {
  if (row === undefined) return '(no row)';
  const value = row[field];
  return Object.hasOwn(row, field) && value !== undefined ? toExactJson(unordered(value)) : '(missing)';
}

function unordered(value: unknown): unknown {
  if (value instanceof Set) {
    return [...value].map((element) => [toExactJson(unordered(element)), element] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, element]) => element);
  }
  if (Array.isArray(value)) return value.map(unordered);
  if (isPlainRecord(value)) {
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, field]) => [name, unordered(field)]));
  }
  return value;
}
