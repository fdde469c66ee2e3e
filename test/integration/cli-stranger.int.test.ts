import { NumberValue } from '@aws-sdk/lib-dynamodb';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { SourceTable } from '../../adapters/dynamodb/source-table.js';
import { CLI, eventually, finished, startStreamfold, streamfold, type CliResult } from '../support/cli.js';
import { localClient, localEndpoint, uniqueName } from '../support/local-dynamodb.js';

/**
 * The CLI as a newcomer drives it from the README, on a table of their own design: a `Library` keyed by
 * shelf and ISBN, whose items have optional attributes, sets, maps with many attributes, binaries and
 * decimals (`test/fixtures/library/`). Each command is a process.
 */
const client = localClient();
const endpoint = localEndpoint().replace(/^http:\/\//, '');
const MODULE = 'test/fixtures/library/library.ts';

/** A read-model, checkpoint and parked-record table of a test's own, named on the command line. */
const freshTables = (): string[] => [
  '--endpoint', endpoint,
  '--read-model-table', uniqueName('rm'),
  '--checkpoint-table', uniqueName('cp'),
  '--parked-table', uniqueName('pk'),
];

/** A map of details with more attributes than DynamoDB keeps in any order: its own, `$`-prefixed and unicode names. */
const DETAILS: Record<string, unknown> = Object.fromEntries(
  ['publisher', 'year', '$$bytes', 'édition', 'z', 'a', 'Ω', '0', 'pages', 'lang'].map((name, index) => [name, `${name}-${index}`]),
);
Object.assign(DETAILS, { $bytes: new Uint8Array([0]), 'ключ🔑': new Set([new Uint8Array([]), new Uint8Array([255])]) });

let directory: string;
let library: SourceTable;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'streamfold-stranger-'));
  library = new SourceTable(client, { name: uniqueName('Library'), partitionKey: 'shelf', sortKey: 'isbn', streamViewType: 'NEW_AND_OLD_IMAGES' });
  await library.create();
  await library.put({
    shelf: 'science',
    isbn: '978-0001',
    title: 'Ünïcødé 📚',
    copies: 12345678901234567890123456789012345678n,
    price: NumberValue.from('0.1234567890123456789012345678901234567'),
    tags: new Set(['', 'physics', '$bytes', 'ü']),
    details: DETAILS,
    cover: new Uint8Array([0, 255, 128, 0]),
  });
  // No tags, details or cover: the view's row has none of them.
  await library.put({ shelf: 'fiction', isbn: '978-0002', title: '', copies: 3, price: NumberValue.from('12.50') });
});

describe('streamfold on a Library table of a newcomer', () => {
  it('verify finds no drift in a view with optional attributes left out, sets and many-attribute maps', async () => {
    const file = join(directory, 'library.jsonl');
    const tables = freshTables();
    expect((await streamfold(['capture', '--table', library.spec.name, '--endpoint', endpoint, '--out', file])).code).toBe(0);
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(2);
    const replayed = await streamfold(['replay', '--projections', MODULE, '--input', file, '--create-tables', ...tables]);
    expect(replayed.code, replayed.stdout).toBe(0);

    const verified: CliResult = await streamfold(['verify', 'book-view', '--projections', MODULE, '--table', library.spec.name, ...tables]);
    expect(verified.stdout).toContain('verify book-view#v1: 2 items scanned, 2 rows expected, 2 stored, no drift');
    expect(verified.code).toBe(0);
    const sums = await streamfold(['verify', 'shelf-totals', '--projections', MODULE, '--table', library.spec.name, ...tables]);
    expect(sums.stdout).toContain('no drift');
    expect(sums.code).toBe(0);
  });

  it('refuses a --key given as a bare value with exit 2, instead of finding nothing', async () => {
    const tables = freshTables();
    expect((await streamfold(['parked', 'redrive', '--projections', MODULE, '--create-tables', ...tables])).code).toBe(0);
    const listed = await streamfold(['parked', 'list', '--projections', MODULE, '--key', '978-0001', ...tables]);
    expect(listed.code).toBe(2);
    expect(listed.stderr).toContain('--key 978-0001 is not an item key: give it as `parked list` prints it, or as its attributes in JSON');
    const purged = await streamfold(['parked', 'purge', '--projections', MODULE, '--key', 'science', '--yes', ...tables]);
    expect(purged.code).toBe(2);
  });

  it('verify names the items it could not fold either, as a live consumer parks them, beside its figures', async () => {
    const tables = freshTables();
    const file = join(directory, 'poison.jsonl');
    await library.put({ shelf: 'science', isbn: '978-0003', title: 'Many', copies: 'many', price: NumberValue.from('1') });
    expect((await streamfold(['capture', '--table', library.spec.name, '--endpoint', endpoint, '--out', file])).code).toBe(0);
    expect((await streamfold(['replay', '--projections', MODULE, '--input', file, '--create-tables', ...tables])).code).toBe(3);

    const verified = await streamfold(['verify', 'shelf-totals', '--projections', MODULE, '--table', library.spec.name, ...tables]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toContain('verify shelf-totals#v1: 3 items scanned, 2 rows expected, 2 stored, no drift; 1 items not folded in the recomputation either (live, they are parked)');
    expect(verified.stderr).toContain(`streamfold: not folded: {"isbn":{"S":"978-0003"},"shelf":{"S":"science"}}: image does not match the projection's schema`);
    const json = await streamfold(['verify', 'shelf-totals', '--projections', MODULE, '--table', library.spec.name, '--json', ...tables]);
    expect(JSON.parse(json.stdout)).toMatchObject({ differences: 0, notFolded: [{ key: '{"isbn":{"S":"978-0003"},"shelf":{"S":"science"}}' }] });
  });

  it('replay says which event streams it leaves waiting for a missing version, exits 3, and 0 once the version comes', async () => {
    const tables = freshTables();
    const events = 'projections/event-sourced/index.ts';
    const gapped = join(directory, 'gapped.jsonl');
    await writeFile(gapped, [orderEvent(1, 'OrderPlaced'), orderEvent(3, 'OrderLineAdded')].map((record) => JSON.stringify(record)).join('\n'));
    const waiting = await streamfold(['replay', '--projections', events, '--input', gapped, '--create-tables', ...tables]);
    expect(waiting.code, waiting.stdout).toBe(3);
    expect(waiting.stdout).toContain('held      1 events of 1 event streams wait for a missing version, not applied (streamfold gaps)');
    expect(waiting.stdout).toMatch(/order-history#v1 .*order-7.*: version 2 is missing; 3 wait behind it/);
    const json = await streamfold(['replay', '--projections', events, '--input', gapped, '--json', ...tables]);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout)).toMatchObject({ gaps: 2, open: [{ missing: '2', held: ['3'] }, { missing: '2', held: ['3'] }] });

    const filled = join(directory, 'filled.jsonl');
    await writeFile(filled, JSON.stringify(orderEvent(2, 'OrderLineAdded')));
    const done = await streamfold(['replay', '--projections', events, '--input', filled, '--json', ...tables]);
    expect(done.code, done.stdout).toBe(0);
    // Version 2, and version 3 from where it waited.
    expect(JSON.parse(done.stdout)).toMatchObject({ applied: 2, gaps: 0, open: [] });
    const history = await streamfold(['dump', 'order-history', '--projections', events, ...tables]);
    expect(history.stdout).toContain('"history":["1:OrderPlaced","2:OrderLineAdded","3:OrderLineAdded"]');
  });

  it('says which option or variable gives a missing region or missing credentials, in one line', async () => {
    const home = await mkdtemp(join(tmpdir(), 'streamfold-home-'));
    // A machine with no AWS setup at all: no AWS_* variables, no ~/.aws, no config files elsewhere.
    const bare = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_')));
    const run = (env: Record<string, string>) =>
      finished(spawn(process.execPath, [CLI, 'dump', 'shelf-totals', '--projections', MODULE], { env: { ...bare, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', ...env } }));
    const noRegion = await run({});
    expect(noRegion.code).toBe(1);
    expect(noRegion.stderr.trim().split('\n').at(-1)).toMatch(/^streamfold: no AWS region: give --region, or set AWS_REGION .*; for DynamoDB Local, give --endpoint/);
    const noCredentials = await run({ AWS_REGION: 'eu-west-1' });
    expect(noCredentials.code).toBe(1);
    expect(noCredentials.stderr.trim().split('\n').at(-1)).toMatch(/^streamfold: no AWS credentials found \(.*\): set AWS_PROFILE .*AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });

  it('run stopped by Ctrl-C while a batch is being written finishes it, says what it applied and exits', async () => {
    const tables = freshTables();
    await Promise.all(
      Array.from({ length: 60 }, (_, index) =>
        library.put({ shelf: 'slow', isbn: `978-1${String(index).padStart(3, '0')}`, title: `T${index}`, copies: index, price: NumberValue.from('0.5') }),
      ),
    );
    // A small heap, so that a stop that spins instead of waiting ends in seconds rather than minutes.
    const running = startStreamfold(['run', '--table', library.spec.name, '--projections', 'test/fixtures/library/slow.ts', '--create-tables', '--batch-size', '20', ...tables], {
      NODE_OPTIONS: '--max-old-space-size=128',
    });
    const exited = finished(running);
    let stderr = '';
    running.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await eventually('run to follow the stream', async () => (stderr.includes('Ctrl-C stops') ? true : undefined));
    // Into the first batches, whose rows are being folded (40 ms a record) and written.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    running.kill('SIGINT');
    const result = await exited;
    expect(result.stderr).toContain('stopping after the batch in hand');
    expect(result.stdout, result.stderr).toMatch(new RegExp(`ran on ${library.spec.name}'s stream for [\\d.]+ s: \\d+ records in \\d+ batches`));
    expect([0, 3]).toContain(result.code);
  }, 120_000);
});

/** An `OrderEvents` record as Lambda delivers it: version `version` of the stream `order-7`. */
function orderEvent(version: number, type: 'OrderPlaced' | 'OrderLineAdded'): unknown {
  const payload =
    type === 'OrderPlaced'
      ? { customerId: { S: 'c-1' }, placedAt: { S: '2026-12-01T00:00:00.000Z' } }
      : { sku: { S: `sku-${version}` }, quantity: { N: '1' }, price: { N: String(100 * version) } };
  const keys = { streamId: { S: 'order-7' }, version: { N: String(version) } };
  return {
    eventID: `order-7-${version}`,
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    eventSourceARN: 'arn:aws:dynamodb:ddblocal:000000000000:table/OrderEvents/stream/2026-12-01T00:00:00.000',
    dynamodb: {
      Keys: keys,
      NewImage: { ...keys, type: { S: type }, payload: { M: payload } },
      SequenceNumber: String(1000 + version),
      StreamViewType: 'NEW_IMAGE',
    },
  };
}
