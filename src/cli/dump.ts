import { createReadModelClient } from '../../adapters/dynamodb/reader.js';
import { toExactJson } from '../json.js';
import { connect, type ConnectionOptions } from './connection.js';
import { loadProjections, selectProjection } from './load-projections.js';

export interface DumpOptions extends ConnectionOptions {
  readonly projections: string;
}

/** Writes every row of a projection's current read model, one JSON object a line, numbers exact. */
export async function dump(name: string, options: DumpOptions, write: (line: string) => void): Promise<number> {
  const projection = selectProjection(await loadProjections(options.projections), name);
  const { client, tables } = connect(options);
  let rows = 0;
  for await (const row of createReadModelClient(client, tables).rows(projection)) {
    write(toExactJson({ key: row.key, value: row.value }));
    rows += 1;
  }
  return rows;
}
