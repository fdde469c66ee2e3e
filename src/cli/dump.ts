import { DynamoDbReadModelStore } from '../../adapters/dynamodb/store.js';
import { toExactJson } from '../json.js';
import { DynamoDbGenerationRegistry } from '../../adapters/dynamodb/rebuild-state.js';
import { currentGeneration, rowKind } from '../projection/read-model.js';
import { connect, type ConnectionOptions } from './connection.js';
import { loadProjections, selectProjection } from './load-projections.js';

export interface DumpOptions extends ConnectionOptions {
  readonly projections: string;
}

/** Writes every row of a projection's current read model, one JSON object a line, numbers exact. */
export async function dump(name: string, options: DumpOptions, write: (line: string) => void): Promise<number> {
  const projection = selectProjection(await loadProjections(options.projections), name);
  const { client, config, tables } = connect(options);
  const store = new DynamoDbReadModelStore({ client, consumer: config.STREAMFOLD_CONSUMER, tables });
  const generation = await currentGeneration(new DynamoDbGenerationRegistry(client, tables.readModels), projection);
  let rows = 0;
  for await (const row of store.rows(generation, rowKind(projection))) {
    write(toExactJson({ key: row.key, value: row.value }));
    rows += 1;
  }
  return rows;
}
