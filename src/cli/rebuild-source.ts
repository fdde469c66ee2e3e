import { DirectoryExportObjects } from '../../adapters/export/directory.js';
import { DynamoDbSourceScanner } from '../../adapters/dynamodb/scanner.js';
import { StreamfoldError } from '../core/errors.js';
import { ExportSource } from '../rebuild/export-source.js';
import type { ExportObjects, RebuildSource, SourceScanner } from '../rebuild/ports.js';
import { sourceTable, type Connection } from './connection.js';
import { UsageError } from './exit-codes.js';

export interface SourceOptions {
  /** The source table (a scan reads it; an export is checked against it). */
  readonly table?: string | undefined;
  /** A DynamoDB export: `s3://bucket/prefix/AWSDynamoDB/<ExportId>` or a directory holding a copy of it. */
  readonly fromExport?: string | undefined;
  /** The table's key attributes, comma-separated, for an export whose table cannot be described. */
  readonly key?: string | undefined;
}

/** What `rebuild` reads: a scan of `--table`, or the export `--from-export` names. */
export async function rebuildSource(connection: Connection, options: SourceOptions): Promise<SourceScanner | ExportSource> {
  if (options.fromExport === undefined) {
    if (options.table === undefined) throw new UsageError('give --table <source> (to scan it) or --from-export <location>', '--table');
    await sourceTable(connection, options.table);
    return new DynamoDbSourceScanner(connection.client, options.table);
  }
  const objects = await exportObjects(options.fromExport, connection.config.AWS_REGION);
  const source = await ExportSource.open(objects, (table) => keyAttributesOf(connection, options, table));
  if (options.table !== undefined && options.table !== source.table) {
    throw new UsageError(`--table ${options.table}, but the export is of table ${source.table} (its tableArn)`, '--table');
  }
  return source;
}

/** The key of the exported table: `--key`, or DescribeTable of the table the export names. */
async function keyAttributesOf(connection: Connection, options: SourceOptions, table: string): Promise<string[]> {
  if (options.key !== undefined) {
    const names = options.key.split(',').map((name) => name.trim()).filter((name) => name !== '');
    if (names.length === 0 || names.length > 2) throw new UsageError('--key takes the partition key and, if there is one, the sort key: --key pk or --key pk,sk', '--key');
    return names;
  }
  try {
    const described = await sourceTable(connection, table, 'the exported table');
    if (described === undefined || described.keys.length === 0) throw new Error(`DescribeTable of ${table} is not allowed, or it has no key schema`);
    return described.keys.map((key) => key.name);
  } catch (error) {
    throw new StreamfoldError('CONFIGURATION', `the key of table ${table} (named by the export) is needed, and it cannot be described here; give it with --key <partition>[,<sort>]`, { cause: error, field: '--key' });
  }
}

/** A directory, or S3 through its client (an optional peer dependency, loaded only for an s3:// location). */
export async function exportObjects(location: string, region: string | undefined): Promise<ExportObjects> {
  if (!location.startsWith('s3://')) return new DirectoryExportObjects(location);
  let s3: typeof import('../../adapters/s3/export-objects.js');
  try {
    s3 = await import('../../adapters/s3/export-objects.js');
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new StreamfoldError('CONFIGURATION', 'reading an export from S3 needs the S3 client: install it (npm install @aws-sdk/client-s3)', { cause: error });
  }
  return new s3.S3ExportObjects(s3.createS3Client({ region }), location);
}

export type { RebuildSource };
