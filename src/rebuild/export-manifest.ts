import * as z from 'zod';
import { StreamfoldError } from '../core/errors.js';
import type { ExportObjects } from './ports.js';

/**
 * `manifest-summary.json` of a DynamoDB export to S3, the fields streamfold reads (AWS's "DynamoDB table
 * export output format" page; others are kept out).
 */
export const ExportSummarySchema = z.object({
  exportArn: z.string(),
  tableArn: z.string(),
  exportTime: z.iso.datetime({ offset: true }),
  itemCount: z.number().int().nonnegative(),
  outputFormat: z.string(),
  manifestFilesS3Key: z.string(),
  /** `FULL_EXPORT` or `INCREMENTAL_EXPORT`, on newer summaries only. */
  exportType: z.string().optional(),
});
export type ExportSummary = z.infer<typeof ExportSummarySchema>;

/** One line of `manifest-files.json`: a gzipped data file of DynamoDB JSON, one `{"Item": ...}` a line. */
export const ExportFileSchema = z.object({
  itemCount: z.number().int().nonnegative(),
  /** Base64 MD5 of the gzipped object as stored. */
  md5Checksum: z.string().regex(/^[A-Za-z0-9+/]{22}==$/),
  etag: z.string(),
  dataFileS3Key: z.string(),
});
export type ExportFile = z.infer<typeof ExportFileSchema> & {
  /** Where the file is within the export (`data/<name>.json.gz`). */
  readonly path: string;
};

export interface ExportManifest {
  readonly summary: ExportSummary;
  readonly exportId: string;
  /** The exported table's name, from its ARN. */
  readonly table: string;
  readonly files: readonly ExportFile[];
}

export const SUMMARY_PATH = 'manifest-summary.json';

/**
 * Reads and checks an export's manifests: a full export in DynamoDB JSON, whose files' item counts add up to
 * the summary's. Anything else is refused, naming the file, its line and the field.
 */
export async function readManifest(objects: ExportObjects): Promise<ExportManifest> {
  const summaryText = await readText(objects, SUMMARY_PATH);
  const summary = parse(ExportSummarySchema, parseJson(summaryText, SUMMARY_PATH), SUMMARY_PATH);
  if (summary.outputFormat !== 'DYNAMODB_JSON') {
    throw invalid(`${SUMMARY_PATH}: outputFormat is ${summary.outputFormat}; only DYNAMODB_JSON exports can be read (export again in DynamoDB JSON)`, 'outputFormat');
  }
  if (summary.exportType !== undefined && summary.exportType !== 'FULL_EXPORT') {
    throw invalid(`${SUMMARY_PATH}: exportType is ${summary.exportType}; only a full export holds every item`, 'exportType');
  }
  const filesPath = pathWithinExport(summary.manifestFilesS3Key, `${SUMMARY_PATH} manifestFilesS3Key`);
  const lines = (await readText(objects, filesPath)).split('\n');
  const files: ExportFile[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${filesPath} line ${index + 1}`;
    const file = parse(ExportFileSchema, parseJson(line, where), where);
    files.push({ ...file, path: pathWithinExport(file.dataFileS3Key, `${where} dataFileS3Key`) });
  });
  const listed = files.reduce((total, file) => total + file.itemCount, 0);
  if (listed !== summary.itemCount) {
    throw invalid(`${filesPath} lists ${listed} items in ${files.length} files, but ${SUMMARY_PATH} says itemCount ${summary.itemCount}`, 'itemCount');
  }
  return { summary, exportId: lastSegment(summary.exportArn, '/export/', 'exportArn'), table: lastSegment(summary.tableArn, ':table/', 'tableArn'), files };
}

/**
 * A key of the manifests (`<prefix>/AWSDynamoDB/<ExportId>/data/x.json.gz`, relative to the bucket) as a path
 * within the export's root (`data/x.json.gz`), which works the same for the S3 location and for a copy of it
 * in a directory. Nothing may climb out of the root.
 */
export function pathWithinExport(key: string, where: string): string {
  const path = /(?:^|\/)AWSDynamoDB\/[^/]+\/(.+)$/.exec(key)?.[1];
  if (path === undefined || path.split('/').some((part) => part === '..' || part === '')) {
    throw invalid(`${where} is ${JSON.stringify(key)}, not a key under AWSDynamoDB/<ExportId>/`, where.split(' ').pop());
  }
  return path;
}

async function readText(objects: ExportObjects, path: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of await objects.read(path)) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new StreamfoldError('MALFORMED_RECORD', `${where} is not JSON: ${(error as Error).message}`, { cause: error });
  }
}

function parse<Schema extends z.ZodType>(schema: Schema, value: unknown, where: string): z.infer<Schema> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') ?? '';
  throw invalid(`${where}: ${field === '' ? '' : `${field}: `}${issue?.message ?? 'invalid'}`, field);
}

function lastSegment(arn: string, marker: string, field: string): string {
  const at = arn.lastIndexOf(marker);
  if (at < 0 || at + marker.length >= arn.length) throw invalid(`${SUMMARY_PATH}: ${field} ${arn} has no ${marker.replaceAll('/', '').replace(':', '')} part`, field);
  return arn.slice(at + marker.length);
}

const invalid = (message: string, field: string | undefined): StreamfoldError => new StreamfoldError('MALFORMED_RECORD', message, { field });
