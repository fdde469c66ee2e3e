import { compose } from '../container.js';
import { StreamfoldError } from '../errors.js';
import type { Logger } from '../logging.js';
import { toExactJson } from '../json.js';
import { generationOf } from '../projection/define.js';
import type { RedriveResult } from '../projection/redrive.js';
import { connect, type ConnectionOptions } from './connection.js';
import { loadProjections, selectProjection } from './load-projections.js';

export interface ParkedOptions extends ConnectionOptions {
  readonly projections: string;
  readonly projection?: string;
  readonly records?: boolean;
}

async function parkingOf(options: ParkedOptions, logger: Logger) {
  const projections = await loadProjections(options.projections);
  const selected = options.projection === undefined ? undefined : selectProjection(projections, options.projection);
  const { client, config } = connect(options);
  const composition = compose(projections, { dynamoDbClient: client, config, logger });
  if (composition.deadLetters === null || composition.redriver === null) {
    throw new StreamfoldError('CONFIGURATION', 'parking is off (STREAMFOLD_PARKING=off): nothing is parked');
  }
  return { selected, deadLetters: composition.deadLetters, redriver: composition.redriver };
}

/** One JSON object a line per parked record: where it is stuck and why; the record itself on request. */
export async function listParked(options: ParkedOptions, logger: Logger, write: (line: string) => void): Promise<number> {
  const { selected, deadLetters } = await parkingOf(options, logger);
  let count = 0;
  for await (const record of deadLetters.list(selected === undefined ? {} : { generation: generationOf(selected) })) {
    const { record: payload, id: _id, ...summary } = record;
    write(toExactJson(options.records === true ? { ...summary, record: payload } : summary));
    count += 1;
  }
  return count;
}

export async function redriveParked(options: ParkedOptions, logger: Logger): Promise<RedriveResult> {
  const { redriver } = await parkingOf(options, logger);
  return redriver.redrive(options.projection === undefined ? {} : { projection: options.projection });
}

export function formatRedrive(result: RedriveResult): string {
  const lines = [
    `redrove ${result.applied.length + result.obsolete.length + result.stillParked.length} parked records`,
    `  applied       ${result.applied.length}`,
    `  obsolete      ${result.obsolete.length} (superseded by later records, or applied before)`,
    `  still parked  ${result.stillParked.length}`,
  ];
  for (const record of result.stillParked.filter((parked) => parked.reason === 'failed')) {
    lines.push(`  ${record.projection} ${record.key} at ${record.sequence}: ${record.error.message}`);
  }
  return lines.join('\n');
}
