import { EventEmitter } from 'node:events';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unreachableCause } from '../../adapters/dynamodb/preflight.js';
import { normaliseEndpoint } from '../../src/cli/connection.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { run } from '../../src/cli/main.js';
import { guarded, isOutputClosed, memoryOutput } from '../../src/cli/output.js';
import { canonicalKey } from '../../src/cli/parked.js';
import { isCovered } from '../../src/cli/parked-coverage.js';
import { lanesOf } from '../../src/catalog/lanes.js';
import { fitToWidth, progressPrinter } from '../../src/cli/progress.js';
import { packageVersion } from '../../src/core/version.js';
import { inventoryProjections } from '../fixtures/inventory/definitions.js';
import type { ParkedRecord } from '../../src/projection/ports.js';

const cli = async (...args: string[]) => {
  const output = memoryOutput();
  const code = await run(['node', 'streamfold', ...args], output);
  return { code, stdout: output.lines.join('\n'), stderr: output.notices.join('\n') };
};

describe('the command line, before any request is made', () => {
  it('prints its version, and exits 0', async () => {
    const { code, stdout } = await cli('--version');
    expect(code).toBe(EXIT.DONE);
    expect(stdout).toBe(packageVersion());
    expect(packageVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('exits 2 on a usage mistake: an unknown command, a log level pino does not have, a bad number, purge saying nothing', async () => {
    expect((await cli('replya')).code).toBe(EXIT.USAGE);
    const level = await cli('--log-level', 'loud', 'dump', 'x', '--projections', 'y');
    expect(level.code).toBe(EXIT.USAGE);
    expect(level.stderr).toMatch(/argument 'loud' is invalid\. Allowed choices are trace, debug, info, warn, error, fatal, silent/);
    expect((await cli('replay', '--projections', 'm.ts', '--input', 'r.jsonl', '--batch-size', '0')).code).toBe(EXIT.USAGE);
    const purge = await cli('parked', 'purge', '--projections', 'test/fixtures/inventory/strict.ts');
    expect(purge.code).toBe(EXIT.USAGE);
    expect(purge.stderr).toBe('streamfold: say which parked records to purge: --projection, --key, or --all');
    const endpoint = await cli('dump', 'stock-level', '--projections', 'test/fixtures/inventory/strict.ts', '--endpoint', 'ftp://x');
    expect(endpoint.code).toBe(EXIT.USAGE);
    expect(endpoint.stderr).toMatch(/--endpoint ftp:\/\/x is not a URL/);
  });

  it('exits 1 naming the file when a module exports no projection, or does not load', async () => {
    const nothing = await cli('dump', 'x', '--projections', 'test/fixtures/inventory/nothing.ts');
    expect(nothing.code).toBe(EXIT.ERROR);
    expect(nothing.stderr).toBe('streamfold: test/fixtures/inventory/nothing.ts: exports no projection (made with defineProjection)');
    const missing = await cli('dump', 'x', '--projections', 'test/fixtures/inventory/absent.ts');
    expect(missing.code).toBe(EXIT.ERROR);
    expect(missing.stderr).toMatch(/no projections module at .*test\/fixtures\/inventory\/absent\.ts/);
    const broken = await cli('dump', 'x', '--projections', 'test/fixtures/inventory/broken.ts');
    expect(broken.code).toBe(EXIT.ERROR);
    expect(broken.stderr).toMatch(/^streamfold: the projections module test\/fixtures\/inventory\/broken\.ts does not load: .*no-such-package/);
  });

  it('says so when the input holds no records, and asks nothing of DynamoDB', async () => {
    const empty = join(await mkdtemp(join(tmpdir(), 'streamfold-empty-')), 'empty.jsonl');
    await writeFile(empty, '\n\n');
    const { code, stdout, stderr } = await cli('replay', '--projections', 'test/fixtures/inventory/strict.ts', '--input', empty, '--endpoint', 'localhost:1');
    expect(code).toBe(EXIT.DONE);
    expect(stderr).toBe(`streamfold: ${empty} holds no stream records: nothing to replay`);
    expect(stdout).toMatch(/^replayed 0 records from /);
  });

  it('exits 1 with one line when nothing listens at the endpoint', async () => {
    const { code, stderr } = await cli('dump', 'stock-level', '--projections', 'test/fixtures/inventory/strict.ts', '--endpoint', 'localhost:1');
    expect(code).toBe(EXIT.ERROR);
    const lines = stderr.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe('streamfold: DynamoDB at http://localhost:1, region local, access key local');
    expect(lines[1]).toMatch(/^streamfold: cannot reach http:\/\/localhost:1 \(connect ECONNREFUSED .*\): is DynamoDB Local running, on that port\?$/);
  });
});

describe('pieces of the CLI', () => {
  it('takes an endpoint without a scheme', () => {
    expect(normaliseEndpoint('localhost:8000')).toBe('http://localhost:8000');
    expect(normaliseEndpoint('127.0.0.1:8000/')).toBe('http://127.0.0.1:8000');
    expect(normaliseEndpoint('dynamodb.eu-west-1.amazonaws.com')).toBe('https://dynamodb.eu-west-1.amazonaws.com');
    expect(normaliseEndpoint('http://localhost:8000')).toBe('http://localhost:8000');
  });

  it('tells an endpoint that is not there, or not DynamoDB, from DynamoDB refusing a request', () => {
    expect(unreachableCause(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('connect ECONNREFUSED 127.0.0.1:1');
    expect(unreachableCause(Object.assign(new Error('UnknownError'), { name: 'UnknownError', $metadata: { httpStatusCode: 404 } }))).toBe(
      'it answered HTTP 404, not as DynamoDB does',
    );
    const html = Object.assign(new SyntaxError('Unexpected token \'<\'\n  Deserialization error: ...'), { $response: { statusCode: 501 } });
    expect(unreachableCause(html)).toBe("it answered HTTP 501 with a body that is not DynamoDB's");
    expect(unreachableCause(Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } }))).toBeUndefined();
  });

  it('stops writing, without a crash, once the reader of stdout has gone (EPIPE)', () => {
    const stream = Object.assign(new EventEmitter(), { written: [] as string[], write(text: string) { this.written.push(text); } });
    const out = guarded(stream);
    out.write('first\n');
    stream.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    let thrown: unknown;
    try {
      out.write('second\n');
    } catch (error) {
      thrown = error;
    }
    expect(isOutputClosed(thrown)).toBe(true);
    expect(stream.written).toEqual(['first\n']);
  });

  it('fits progress to the terminal and prints the final state once', () => {
    expect(fitToWidth('x'.repeat(100), 40)).toHaveLength(39);
    expect(fitToWidth('x'.repeat(100), 40).endsWith('…')).toBe(true);
    expect(fitToWidth('short', 40)).toBe('short');
    const written: string[] = [];
    const terminal = progressPrinter<{ done: boolean; n: number }>(
      { isTTY: true, columns: 20, write: (text) => written.push(text) },
      { terminal: (state) => `rebuild ${'.'.repeat(40)} ${state.n}`, plain: (state) => `n=${state.n}` },
    );
    terminal({ done: false, n: 1 });
    terminal({ done: true, n: 2 });
    terminal({ done: true, n: 2 });
    expect(written).toHaveLength(2);
    for (const text of written) expect([...text.replace('\r\u001b[2K', '').replace('\n', '')].length).toBeLessThanOrEqual(19);
    expect(written[1]?.endsWith('\n')).toBe(true);

    const lines: string[] = [];
    let now = 0;
    const plain = progressPrinter<{ done: boolean; n: number }>(
      { write: (text) => lines.push(text) },
      { terminal: () => 'never', plain: (state) => `n=${state.n}` },
      { now: () => now },
    );
    plain({ done: false, n: 1 });
    now = 10;
    plain({ done: false, n: 2 });
    plain({ done: true, n: 3 });
    plain({ done: true, n: 3 });
    expect(lines).toEqual(['n=1\n', 'n=3\n']);
  });

  it('reads an item key the way people write it', () => {
    const canonical = '{"sku":{"S":"A-1"},"warehouse":{"S":"W1"}}';
    expect(canonicalKey(canonical)).toBe(canonical);
    expect(canonicalKey('{"warehouse":"W1","sku":"A-1"}')).toBe(canonical);
    expect(canonicalKey('{"warehouse":{"S":"W1"},"sku":{"S":"A-1"}}')).toBe(canonical);
    expect(canonicalKey('{"n":{"N":"5.0"}}')).toBe('{"n":{"N":"5"}}');
  });

  it('refuses a --key that names no item, which would otherwise select nothing and say nothing', () => {
    for (const given of ['978-0001', '"978-0001"', '5', '[]', '{bad']) expect(() => canonicalKey(given), given).toThrow(/is not an item key: give it as `parked list` prints it/);
    // A record parked without a readable key, and an event stream, are listed and selected by their names.
    expect(canonicalKey('(unreadable 0f3a)')).toBe('(unreadable 0f3a)');
    expect(canonicalKey('stream#"L3"')).toBe('stream#"L3"');
  });

  it('tells a parked record the checkpoint has moved past, by the lanes\' rule', () => {
    const [unitsPerCategory] = lanesOf([inventoryProjections(false).unitsPerCategory]);
    const parked = (sequence: string) => ({ sequence }) as ParkedRecord;
    // Blocked at 20: what is below it was overtaken; 20 and what waits behind it are not covered.
    const blocked = { sequence: '40', blockedAt: '20' };
    expect([10, 20, 30, 40].map((sequence) => isCovered(parked(String(sequence)), unitsPerCategory, blocked))).toEqual([true, false, false, false]);
    // Not blocked (skipped, or redriven): what the checkpoint has reached is covered; what is ahead of it is not.
    const skipping = { sequence: '40' };
    expect([30, 40, 50].map((sequence) => isCovered(parked(String(sequence)), unitsPerCategory, skipping))).toEqual([true, true, false]);
    expect(isCovered(parked('10'), unitsPerCategory, undefined)).toBe(false);
    expect(isCovered(parked('10'), undefined, skipping)).toBeUndefined();
  });
});
