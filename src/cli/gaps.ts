import { DynamoDbReadModelStore } from '../../adapters/dynamodb/store.js';
import { isEventProjection } from '../eventlog/define.js';
import { generationOf } from '../projection/define.js';
import { announce, connect, prepareTables, type ConnectionOptions } from './connection.js';
import type { Output } from './output.js';
import { projectionsModule } from './projections-module.js';

/**
 * Every event stream whose projection waits for a missing version: the stream, the version missing, the
 * versions held behind it and for how long.
 */
export async function listGaps(options: ConnectionOptions & { readonly projections: string }, output: Output): Promise<Record<string, unknown>[]> {
  const projections = (await projectionsModule(options.projections)).projections.filter(isEventProjection);
  const connection = connect(options);
  await announce(connection, output);
  await prepareTables(connection, ['checkpoints'], false);
  const store = new DynamoDbReadModelStore({ client: connection.client, consumer: connection.config.STREAMFOLD_CONSUMER, tables: connection.tables });
  const gaps: Record<string, unknown>[] = [];
  for await (const gap of store.openGaps(projections.map(generationOf))) {
    gaps.push({ ...gap, openForMs: gap.since === undefined ? null : Date.now() - gap.since });
  }
  if (projections.length === 0) output.notice(`streamfold: ${options.projections} has no event-log projection: there can be no gaps`);
  return gaps;
}
