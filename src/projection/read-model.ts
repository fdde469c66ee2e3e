import { generationOf, type Projection } from './define.js';
import type { ReadModelReader, ReadModelRow } from './ports.js';

/** Every current row of a projection's read model: sums merged over shards, bookkeeping left out. */
export async function readAllRows(reader: ReadModelReader, projection: Projection): Promise<ReadModelRow[]> {
  const rows: ReadModelRow[] = [];
  for await (const row of reader.rows(generationOf(projection), projection.kind)) rows.push(row);
  return rows;
}
