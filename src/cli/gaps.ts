import { DynamoDbReadModelStore } from '../../adapters/dynamodb/store.js';
import { toExactJson } from '../json.js';
import { isEventProjection } from '../eventlog/define.js';
import { generationOf } from '../projection/define.js';
import { connect, type ConnectionOptions } from './connection.js';
import { loadProjections } from './load-projections.js';

/**
 * Prints every event stream whose projection waits for a missing version: the stream, the version missing,
 * the versions held behind it and for how long. Answers how many there are.
 */
export async function listGaps(options: ConnectionOptions & { readonly projections: string }, write: (line: string) => void): Promise<number> {
  const projections = (await loadProjections(options.projections)).filter(isEventProjection);
  const { client, config, tables } = connect(options);
  const store = new DynamoDbReadModelStore({ client, consumer: config.STREAMFOLD_CONSUMER, tables });
  let count = 0;
  for await (const gap of store.openGaps(projections.map(generationOf))) {
    write(toExactJson({ ...gap, openForMs: gap.since === undefined ? null : Date.now() - gap.since }));
    count += 1;
  }
  return count;
}
