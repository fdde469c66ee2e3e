import type { OpenGap } from '../../adapters/dynamodb/reads.js';
import { DynamoDbReadModelStore } from '../../adapters/dynamodb/store.js';
import type { AnyProjection } from '../catalog/kinds.js';
import { isEventProjection } from '../eventlog/define.js';
import { generationOf } from '../projection/define.js';
import { announce, connect, prepareTables, type Connection, type ConnectionOptions } from './connection.js';
import type { Output } from './output.js';
import { projectionsModule } from './projections-module.js';

/** An open gap as the CLI prints it: how long it has been open, where the store knows since when. */
export type ListedGap = OpenGap & { readonly openForMs: number | null };

/**
 * Every event stream whose projection waits for a missing version: the stream, the version missing, the
 * versions held behind it and for how long.
 */
export async function listGaps(options: ConnectionOptions & { readonly projections: string }, output: Output): Promise<ListedGap[]> {
  const { projections } = await projectionsModule(options.projections);
  const connection = connect(options);
  await announce(connection, output);
  await prepareTables(connection, ['checkpoints'], false);
  if (!projections.some(isEventProjection)) output.notice(`streamfold: ${options.projections} has no event-log projection: there can be no gaps`);
  return openGapsOf(connection, projections);
}

/** The open gaps of these projections' event streams (none to look for when none folds an event log). */
export async function openGapsOf(connection: Connection, projections: readonly AnyProjection[]): Promise<ListedGap[]> {
  const generations = projections.filter(isEventProjection).map(generationOf);
  if (generations.length === 0) return [];
  const store = new DynamoDbReadModelStore({ client: connection.client, consumer: connection.config.STREAMFOLD_CONSUMER, tables: connection.tables });
  const gaps: ListedGap[] = [];
  for await (const gap of store.openGaps(generations)) {
    gaps.push({ ...gap, openForMs: gap.since === undefined ? null : Date.now() - gap.since });
  }
  return gaps;
}
