import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** A DynamoDB export as AWS lays it out under `<prefix>/AWSDynamoDB/<ExportId>/`. */
export interface WrittenExport {
  readonly exportId: string;
  /** The directory that holds the export (`.../AWSDynamoDB/<ExportId>`). */
  readonly root: string;
  readonly prefix: string;
  /** Every object, by its key in the bucket. */
  readonly objects: ReadonlyMap<string, Buffer>;
  readonly itemCount: number;
  readonly exportTime: string;
  readonly files: readonly { readonly key: string; readonly items: number; readonly etag: string }[];
}

const md5 = (bytes: Buffer): Buffer => createHash('md5').update(bytes).digest();

/** An item as DynamoDB JSON: the SDK's attribute map with binaries in base64, as an export writes them. */
export function dynamoJson(value: AttributeValue): unknown {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((bytes) => Buffer.from(bytes).toString('base64')) };
  if (value.M !== undefined) return { M: Object.fromEntries(Object.entries(value.M).map(([name, inner]) => [name, dynamoJson(inner)])) };
  if (value.L !== undefined) return { L: value.L.map(dynamoJson) };
  return value;
}

/** The items of a table as DynamoDB JSON, from a real scan. */
export async function scanAll(client: DynamoDBClient, table: string): Promise<Record<string, AttributeValue>[]> {
  const items: Record<string, AttributeValue>[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return items;
}

/**
 * Writes a full export of a table in DynamoDB JSON the way AWS does: the items (from a real scan) spread over
 * gzipped data files by a hash of their key, as partitions are, plus empty files (an empty partition's); a
 * `manifest-files.json` line per file with its item count, the base64 MD5 of the gzipped object and an ETag
 * of one uploaded part (`md5(md5)-1`, as AWS's example pairs them); `manifest-summary.json`; an empty
 * `_started`. The `.checksum` files of the manifests are left out: AWS does not document what they hold,
 * and the reader does not use them.
 */
export async function writeExport(
  client: DynamoDBClient,
  table: { readonly name: string; readonly keys: readonly string[] },
  directory: string,
  options: { readonly files?: number; readonly emptyFiles?: number; readonly exportTime?: Date; readonly prefix?: string } = {},
): Promise<WrittenExport> {
  const items = await scanAll(client, table.name);
  const files = options.files ?? 4;
  const lines: string[][] = Array.from({ length: files + (options.emptyFiles ?? 1) }, () => []);
  for (const item of items) {
    const key = JSON.stringify(table.keys.map((name) => dynamoJson(item[name]!)));
    const partition = createHash('sha256').update(key).digest().readUInt32BE(0) % files;
    lines[partition]!.push(JSON.stringify({ Item: Object.fromEntries(Object.entries(item).map(([name, value]) => [name, dynamoJson(value)])) }));
  }
  const exportTime = options.exportTime ?? new Date();
  const exportId = `${String(exportTime.getTime()).padStart(14, '0')}-${createHash('sha256').update(table.name).digest('hex').slice(0, 8)}`;
  const prefix = options.prefix ?? 'exports';
  const base = `${prefix}/AWSDynamoDB/${exportId}`;
  const objects = new Map<string, Buffer>();
  const written: { key: string; items: number; etag: string }[] = [];
  const manifestLines = lines.map((fileLines, index) => {
    const body = gzipSync(fileLines.length === 0 ? '' : `${fileLines.join('\n')}\n`);
    const key = `${base}/data/${createHash('sha256').update(`${exportId}/${index}`).digest('hex').slice(0, 26)}.json.gz`;
    objects.set(key, body);
    const etag = `${md5(md5(body)).toString('hex')}-1`;
    written.push({ key, items: fileLines.length, etag });
    return JSON.stringify({ itemCount: fileLines.length, md5Checksum: md5(body).toString('base64'), etag, dataFileS3Key: key });
  });
  objects.set(`${base}/manifest-files.json`, Buffer.from(`${manifestLines.join('\n')}\n`));
  const tableArn = `arn:aws:dynamodb:us-east-1:123456789012:table/${table.name}`;
  objects.set(
    `${base}/manifest-summary.json`,
    Buffer.from(
      JSON.stringify({
        version: '2020-06-30',
        exportArn: `${tableArn}/export/${exportId}`,
        startTime: exportTime.toISOString(),
        endTime: new Date(exportTime.getTime() + 300_000).toISOString(),
        tableArn,
        tableId: '12345a12-abcd-123a-ab12-1234abc12345',
        exportTime: exportTime.toISOString(),
        s3Bucket: 'exports-bucket',
        s3Prefix: prefix,
        s3SseAlgorithm: 'AES256',
        s3SseKmsKeyId: null,
        manifestFilesS3Key: `${base}/manifest-files.json`,
        billedSizeBytes: 0,
        itemCount: items.length,
        outputFormat: 'DYNAMODB_JSON',
      }),
    ),
  );
  objects.set(`${base}/_started`, Buffer.alloc(0));
  for (const [key, body] of objects) {
    const path = join(directory, key);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, body);
  }
  return { exportId, root: join(directory, base), prefix, objects, itemCount: items.length, exportTime: exportTime.toISOString(), files: written };
}
