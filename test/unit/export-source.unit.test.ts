import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { S3ExportObjects, parseS3Location } from '../../adapters/s3/export-objects.js';
import { ExportSource } from '../../src/rebuild/export-source.js';
import type { ExportObjects } from '../../src/rebuild/ports.js';

const BASE = 'exports/AWSDynamoDB/01700000000000-abcd1234';

/** An export in memory: data files of `{"Item": ...}` lines, its manifests as AWS writes them, editable before reading. */
function memoryExport(files: readonly (readonly Record<string, unknown>[] | Buffer)[], edit: { summary?: Record<string, unknown>; lines?: (lines: Record<string, unknown>[]) => void } = {}) {
  const objects = new Map<string, Buffer>();
  const lines = files.map((items, index) => {
    const body = Buffer.isBuffer(items) ? items : gzipSync(items.map((item) => JSON.stringify({ Item: item })).join('\n'));
    const key = `${BASE}/data/file${index}.json.gz`;
    objects.set(`data/file${index}.json.gz`, body);
    const md5 = createHash('md5').update(body).digest();
    return { itemCount: Buffer.isBuffer(items) ? 0 : items.length, md5Checksum: md5.toString('base64'), etag: `${createHash('md5').update(md5).digest('hex')}-1`, dataFileS3Key: key } as Record<string, unknown>;
  });
  const itemCount = lines.reduce((total, line) => total + Number(line.itemCount), 0);
  edit.lines?.(lines);
  objects.set('manifest-files.json', Buffer.from(lines.map((line) => JSON.stringify(line)).join('\n')));
  objects.set(
    'manifest-summary.json',
    Buffer.from(
      JSON.stringify({
        version: '2020-06-30',
        exportArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/Orders/export/01700000000000-abcd1234',
        tableArn: 'arn:aws:dynamodb:us-east-1:123456789012:table/Orders',
        exportTime: '2026-01-02T03:04:05.678Z',
        itemCount,
        outputFormat: 'DYNAMODB_JSON',
        manifestFilesS3Key: `${BASE}/manifest-files.json`,
        ...edit.summary,
      }),
    ),
  );
  const reads: { path: string; etag: string | undefined }[] = [];
  const exportObjects: ExportObjects = {
    location: `s3://bucket/${BASE}`,
    read: async (path, etag) => {
      reads.push({ path, etag });
      const body = objects.get(path);
      if (body === undefined) throw new Error(`no ${path}`);
      return Readable.from([body.subarray(0, 7), body.subarray(7)]);
    },
  };
  return { objects, exportObjects, reads };
}

const order = (id: number) => ({ orderId: { S: `o-${id}` }, amount: { N: String(id) }, blob: { B: Buffer.from([id, 0, 255]).toString('base64') } });
const keys = async () => ['orderId'];
const readAll = async (source: ExportSource, share: number, position?: string, limit = 2) => {
  const cursor = await source.open(share, position);
  const pages = [];
  for (;;) {
    const page = await cursor.next(limit);
    pages.push(page);
    if (page.done) break;
  }
  await cursor.close();
  return pages;
};

describe('a DynamoDB export as a rebuild source', () => {
  it('reads its manifests: the table, the export, one share per data file with its item count, an empty file and a zero-byte object among them', async () => {
    const { exportObjects, reads } = memoryExport([[order(1), order(2), order(3)], [], Buffer.alloc(0), [order(4)]]);
    const source = await ExportSource.open(exportObjects, keys);
    expect(source).toMatchObject({ id: 'export:01700000000000-abcd1234', table: 'Orders', description: `export s3://bucket/${BASE}` });
    expect(await source.shares()).toEqual([
      { name: 'data/file0.json.gz', items: 3 },
      { name: 'data/file1.json.gz', items: 0 },
      { name: 'data/file2.json.gz', items: 0 },
      { name: 'data/file3.json.gz', items: 1 },
    ]);
    expect(await source.approximateItemCount()).toBe(4);
    const pages = await readAll(source, 0);
    expect(pages.map((page) => [page.items.map((item) => (item.orderId as { S: string }).S), page.position, page.done])).toEqual([
      [['o-1', 'o-2'], '2', false],
      [['o-3'], '3', true],
    ]);
    expect(pages[0]!.items[0]!.blob).toEqual({ B: 'AQD/' });
    expect((await readAll(source, 1)).map((page) => [page.items.length, page.done])).toEqual([[0, true]]);
    expect((await readAll(source, 2)).map((page) => [page.items.length, page.done])).toEqual([[0, true]]);
    // Data files are asked for in the version the manifest names.
    expect(reads.filter((read) => read.path.startsWith('data/')).every((read) => /^[0-9a-f]{32}-1$/.test(read.etag ?? ''))).toBe(true);
  });

  it('resumes a file at a saved item number', async () => {
    const { exportObjects } = memoryExport([[order(1), order(2), order(3), order(4), order(5)]]);
    const source = await ExportSource.open(exportObjects, keys);
    const pages = await readAll(source, 0, '3');
    expect(pages.flatMap((page) => page.items.map((item) => (item.orderId as { S: string }).S))).toEqual(['o-4', 'o-5']);
    await expect(source.open(0, '6')).rejects.toThrow(/saved position 6 is not an item of data\/file0\.json\.gz \(5 items\): run the rebuild with --restart/);
  });

  it('refuses a data file whose MD5 or item count is not the manifest\'s before folding any of it, naming the file', async () => {
    const damaged = memoryExport([[order(1), order(2)]]);
    damaged.objects.set('data/file0.json.gz', gzipSync(JSON.stringify({ Item: order(9) })));
    const source = await ExportSource.open(damaged.exportObjects, keys);
    await expect(source.open(0, undefined)).rejects.toThrow(/export data file data\/file0\.json\.gz has MD5 \S+, but manifest-files\.json says md5Checksum \S+; nothing of it was folded/);

    const truncated = memoryExport([[order(1), order(2)]]);
    truncated.objects.set('data/file0.json.gz', truncated.objects.get('data/file0.json.gz')!.subarray(0, 30));
    await expect((await ExportSource.open(truncated.exportObjects, keys)).open(0, undefined)).rejects.toThrow(
      /export data file data\/file0\.json\.gz cannot be read as gzip \(unexpected end of file\); nothing of it was folded/,
    );

    const miscounted = memoryExport([[order(1), order(2)]], { lines: (lines) => void (lines[0]!.itemCount = 3) });
    await expect(ExportSource.open(miscounted.exportObjects, keys)).rejects.toThrow(/manifest-files\.json lists 3 items in 1 files, but manifest-summary\.json says itemCount 2/);
    const both = memoryExport([[order(1), order(2)]], { lines: (lines) => void (lines[0]!.itemCount = 3), summary: { itemCount: 3 } });
    await expect((await ExportSource.open(both.exportObjects, keys)).open(0, undefined)).rejects.toThrow(/data\/file0\.json\.gz holds 2 items, but manifest-files\.json says itemCount 3/);
  });

  it('refuses what is not a full DynamoDB JSON export, naming the file, line and field', async () => {
    const refusal = (files: Parameters<typeof memoryExport>[0], edit: Parameters<typeof memoryExport>[1]) => ExportSource.open(memoryExport(files, edit).exportObjects, keys);
    await expect(refusal([[order(1)]], { summary: { outputFormat: 'ION' } })).rejects.toThrow(/outputFormat is ION; only DYNAMODB_JSON exports can be read/);
    await expect(refusal([[order(1)]], { summary: { exportType: 'INCREMENTAL_EXPORT' } })).rejects.toThrow(/exportType is INCREMENTAL_EXPORT; only a full export holds every item/);
    await expect(refusal([[order(1)]], { summary: { exportTime: 'yesterday' } })).rejects.toThrow(/manifest-summary\.json: exportTime: /);
    await expect(refusal([[order(1)]], { lines: (lines) => void (lines[0]!.dataFileS3Key = `${BASE}/../../secrets/x.json.gz`) })).rejects.toThrow(
      /manifest-files\.json line 1 dataFileS3Key is ".*", not a key under AWSDynamoDB\/<ExportId>\//,
    );
    await expect(refusal([[order(1)]], { lines: (lines) => void delete lines[0]!.md5Checksum })).rejects.toThrow(/manifest-files\.json line 1: md5Checksum: /);
  });

  it('names a line that is not an item by its file and number', async () => {
    const { objects, exportObjects } = memoryExport([[order(1)]]);
    const body = gzipSync('{"Item":{"orderId":{"S":"o-1"}}}\n{"NotAnItem":{}}\n');
    const md5 = createHash('md5').update(body).digest();
    objects.set('data/file0.json.gz', body);
    objects.set('manifest-files.json', Buffer.from(JSON.stringify({ itemCount: 2, md5Checksum: md5.toString('base64'), etag: 'x-1', dataFileS3Key: `${BASE}/data/file0.json.gz` })));
    objects.set('manifest-summary.json', Buffer.from(objects.get('manifest-summary.json')!.toString().replace('"itemCount":1', '"itemCount":2')));
    const source = await ExportSource.open(exportObjects, keys);
    await expect(readAll(source, 0, undefined, 5)).rejects.toThrow(/data\/file0\.json\.gz item 2 has no Item object/);
  });
});

describe('reading an export from S3', () => {
  it('asks for each object under the export root, a data file with If-Match on its quoted ETag, and says which object is missing or replaced', async () => {
    expect(parseS3Location('s3://bucket/a/b/AWSDynamoDB/x/')).toEqual({ bucket: 'bucket', prefix: 'a/b/AWSDynamoDB/x' });
    expect(() => parseS3Location('/tmp/export')).toThrow(/is not an S3 location/);
    const s3 = mockClient(S3Client);
    try {
      s3.on(GetObjectCommand, { Key: 'p/AWSDynamoDB/x/data/a.json.gz' }).resolves({ Body: Readable.from([Buffer.from('abc')]) as never });
      s3.on(GetObjectCommand, { Key: 'p/AWSDynamoDB/x/manifest-summary.json' }).rejects(
        new S3ServiceException({ name: 'NoSuchKey', $fault: 'client', $metadata: { httpStatusCode: 404 }, message: 'missing' }),
      );
      s3.on(GetObjectCommand, { Key: 'p/AWSDynamoDB/x/data/b.json.gz' }).rejects(
        new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', $metadata: { httpStatusCode: 412 }, message: 'precondition' }),
      );
      const objects = new S3ExportObjects(new S3Client({ region: 'us-east-1' }), 's3://bucket/p/AWSDynamoDB/x');
      const chunks: Buffer[] = [];
      for await (const chunk of await objects.read('data/a.json.gz', 'abc-1')) chunks.push(Buffer.from(chunk));
      expect(Buffer.concat(chunks).toString()).toBe('abc');
      expect(s3.commandCalls(GetObjectCommand)[0]!.args[0].input).toEqual({ Bucket: 'bucket', Key: 'p/AWSDynamoDB/x/data/a.json.gz', IfMatch: '"abc-1"' });
      await expect(objects.read('manifest-summary.json')).rejects.toThrow(/s3:\/\/bucket\/p\/AWSDynamoDB\/x\/manifest-summary\.json does not exist: give the export's root/);
      await expect(objects.read('data/b.json.gz', 'def-1')).rejects.toThrow(/is no longer the object the export wrote \(its ETag is not def-1\)/);
    } finally {
      s3.restore();
    }
  });
});
