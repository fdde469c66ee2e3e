import { createReadModelClient } from '../../adapters/dynamodb/reader.js';
import { announce, connect, prepareTables, type ConnectionOptions } from './connection.js';
import type { Output } from './output.js';
import { projectionOf } from './projections-module.js';

export interface DumpOptions extends ConnectionOptions {
  readonly projections: string;
}

/** Writes every row of a projection's current read model, one JSON object a line, numbers exact. */
export async function dump(name: string, options: DumpOptions, output: Output): Promise<number> {
  const projection = await projectionOf(options.projections, name);
  const connection = connect(options);
  await announce(connection, output);
  await prepareTables(connection, ['readModels'], false);
  let rows = 0;
  for await (const row of createReadModelClient(connection.client, connection.tables).rows(projection)) {
    output.json({ key: row.key, value: row.value });
    rows += 1;
  }
  if (rows === 0) output.notice(`streamfold: ${name} has no rows`);
  return rows;
}
