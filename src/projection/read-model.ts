import type { GenerationRegistry } from '../rebuild/ports.js';
import { generationOf, type Projection } from './define.js';
import type { ReadModelReader, ReadModelRow } from './ports.js';

/** Every current row of a projection's read model: sums merged over shards, bookkeeping left out. */
export async function readAllRows(
  reader: ReadModelReader,
  projection: Projection,
  generation: string = generationOf(projection),
): Promise<ReadModelRow[]> {
  const rows: ReadModelRow[] = [];
  for await (const row of reader.rows(generation, projection.kind)) rows.push(row);
  return rows;
}

/** The generation readers use: the one a rebuild last promoted, else the version the module declares. */
export async function currentGeneration(registry: GenerationRegistry, projection: Projection): Promise<string> {
  const version = (await registry.current(projection.name)) ?? projection.version;
  return generationOf({ name: projection.name, version });
}
