import { open } from 'node:fs/promises';
import { readShards } from '../local/stream-reader.js';
import { announce, connect, type ConnectionOptions } from './connection.js';
import { stopOnInterrupt } from './interrupt.js';
import type { Output } from './output.js';
import { streamOf } from './stream-of.js';

export interface CaptureOptions extends ConnectionOptions {
  readonly table: string;
  readonly from: 'trim-horizon' | 'latest';
  readonly follow: boolean;
  readonly out?: string;
}

export interface CaptureSummary {
  readonly table: string;
  readonly streamArn: string;
  readonly records: number;
  readonly shards: number;
  readonly out: string;
}

/**
 * Writes a table's stream records as JSON Lines, each exactly as Lambda would deliver it (with the stream's
 * `eventSourceARN`), shard by shard and a parent before its children, so `replay` takes the file as it is.
 * From the trim horizon it stops once every shard is read; with `--follow` (or from the latest record) it
 * goes on with new records until Ctrl-C.
 */
export async function capture(options: CaptureOptions, output: Output): Promise<CaptureSummary> {
  const connection = connect(options);
  await announce(connection, output);
  const { streamArn, source } = await streamOf(connection, options.table);
  const file = options.out === undefined ? undefined : await open(options.out, 'w');
  const follow = options.follow || options.from === 'latest';
  const interrupt = stopOnInterrupt();
  let records = 0;
  try {
    const shards = await readShards(
      {
        source,
        streamArn,
        from: options.from === 'latest' ? 'LATEST' : 'TRIM_HORIZON',
        follow,
        shouldStop: () => interrupt.signal.aborted,
        signal: interrupt.signal,
        onReading: () => {
          if (follow) output.notice(`streamfold: capturing ${options.table} (${streamArn}) from the ${options.from === 'latest' ? 'latest record' : 'trim horizon'}; Ctrl-C stops`);
        },
      },
      async (page) => {
        const lines = page.records.map((record) => JSON.stringify(record));
        if (file === undefined) for (const line of lines) output.line(line);
        else await file.write(`${lines.join('\n')}\n`);
        records += lines.length;
      },
    );
    return { table: options.table, streamArn, records, shards, out: options.out ?? 'stdout' };
  } finally {
    interrupt.dispose();
    await file?.close();
  }
}

export function formatCapture(summary: CaptureSummary): string {
  return `streamfold: captured ${summary.records} records from ${summary.shards} shards of ${summary.table}'s stream into ${summary.out}` +
    (summary.records === 0 ? ' (the stream holds no records: they are kept 24 hours, and only changes made while it is on)' : '');
}
