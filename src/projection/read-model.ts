import { generationOf } from './define.js';
import type { GenerationRegistry, ReadModelReader, ReadModelRow } from './ports.js';
import type { NamedProjection } from './runtime.js';

/** What reading a read model needs of a projection, of any kind. */
type ReadProjection = Pick<NamedProjection, 'name' | 'version' | 'kind'>;

/** Every current row of a projection's read model: sums merged over shards, bookkeeping left out. */
export async function readAllRows(
  reader: ReadModelReader,
  projection: ReadProjection,
  generation: string = generationOf(projection),
): Promise<ReadModelRow[]> {
  const rows: ReadModelRow[] = [];
  for await (const row of reader.rows(generation, rowKind(projection))) rows.push(row);
  return rows;
}

/** Views keep one row per key (item or stream); sums keep groups, merged over their shards. */
export function rowKind(projection: ReadProjection): 'view' | 'sum' {
  return projection.kind === 'view' || projection.kind === 'event-view' ? 'view' : 'sum';
}

/** The generation readers use: the one a rebuild last promoted, else the version the module declares. */
export async function currentGeneration(registry: GenerationRegistry, projection: ReadProjection): Promise<string> {
  const version = (await registry.current(projection.name)) ?? projection.version;
  return generationOf({ name: projection.name, version });
}
