import { beforeAll, describe, expect, it } from 'vitest';
import { tableConfig } from '../../src/core/config.js';
import type { TableNames } from '../../adapters/dynamodb/layout.js';
import { compose } from '../../src/container.js';
import { silentLogger } from '../../src/core/logging.js';
import type { ParkedRecord } from '../../src/projection/ports.js';
import examples from '../../projections/index.js';
import { differencesFromTruth } from '../support/expectations.js';
import { freshTables, localClient } from '../support/local-dynamodb.js';
import { orderRecord, streamRecord, wire } from '../support/records.js';

/**
 * A corpus of malformed and hostile records, each with the clear error it must get (or, for hostile but
 * valid input, proof that it is applied as plain data), delivered in one batch beside good records.
 */
interface Case {
  readonly name: string;
  readonly record: unknown;
  /** `applied`, or the error it is parked with: its code and the field (or a part of the message). */
  readonly expect: 'applied' | { readonly code: string; readonly field?: string; readonly message?: RegExp };
}

let sequence = 500000000000000000000n;
const next = () => (sequence += 10n).toString();
const keyOf = (orderId: string) => ({ orderId: { S: orderId } });
const image = (orderId: string, extra: Record<string, unknown> = {}) => ({
  orderId: { S: orderId },
  customerId: { S: 'c-bad' },
  status: { S: 'PLACED' },
  amount: { N: '1' },
  ...extra,
});
const insert = (orderId: string, newImage: Record<string, unknown>, extra: Partial<Parameters<typeof streamRecord>[0]> = {}) =>
  streamRecord({ eventName: 'INSERT', keys: keyOf(orderId), sequence: next(), newImage, ...extra });
function broken(orderId: string, mutate: (record: Record<string, any>) => void): Record<string, unknown> {
  const record = insert(orderId, image(orderId)) as Record<string, any>;
  mutate(record);
  return record;
}
let deep: unknown = { S: 'bottom' };
for (let level = 0; level < 40; level += 1) deep = { M: { inner: deep } };

const cases: Case[] = [
  { name: 'a string, not a record', record: 'INSERT o-1', expect: { code: 'MALFORMED_RECORD', message: /expected object/ } },
  { name: 'null', record: null, expect: { code: 'MALFORMED_RECORD' } },
  { name: 'no eventID', record: broken('bad-01', (r) => delete r.eventID), expect: { code: 'MALFORMED_RECORD', field: 'Records[2].eventID' } },
  { name: 'no eventName', record: broken('bad-02', (r) => delete r.eventName), expect: { code: 'MALFORMED_RECORD', field: 'Records[3].eventName' } },
  { name: 'an unknown eventName', record: broken('bad-03', (r) => (r.eventName = 'UPSERT')), expect: { code: 'MALFORMED_RECORD', field: 'Records[4].eventName' } },
  { name: 'no dynamodb', record: broken('bad-04', (r) => delete r.dynamodb), expect: { code: 'MALFORMED_RECORD', field: 'Records[5].dynamodb' } },
  { name: 'dynamodb a list', record: broken('bad-05', (r) => (r.dynamodb = [])), expect: { code: 'MALFORMED_RECORD', field: 'Records[6].dynamodb' } },
  { name: 'no SequenceNumber', record: broken('bad-06', (r) => delete r.dynamodb.SequenceNumber), expect: { code: 'MALFORMED_RECORD', field: 'Records[7].dynamodb.SequenceNumber' } },
  { name: 'a SequenceNumber with letters', record: broken('bad-07', (r) => (r.dynamodb.SequenceNumber = '12ab')), expect: { code: 'MALFORMED_RECORD', field: 'Records[8].dynamodb.SequenceNumber' } },
  { name: 'a 41-digit SequenceNumber', record: broken('bad-08', (r) => (r.dynamodb.SequenceNumber = '9'.repeat(41))), expect: { code: 'MALFORMED_RECORD', field: 'Records[9].dynamodb.SequenceNumber' } },
  { name: 'no Keys', record: broken('bad-09', (r) => delete r.dynamodb.Keys), expect: { code: 'MALFORMED_RECORD', field: 'Records[10].dynamodb.Keys' } },
  { name: 'empty Keys', record: broken('bad-10', (r) => (r.dynamodb.Keys = {})), expect: { code: 'MALFORMED_RECORD', message: /Keys must hold a partition key/ } },
  { name: 'three key attributes', record: broken('bad-11', (r) => (r.dynamodb.Keys = { a: { S: 'a' }, b: { S: 'b' }, c: { S: 'c' } })), expect: { code: 'MALFORMED_RECORD', message: /at most a sort key, found 3/ } },
  { name: 'a BOOL key', record: broken('bad-12', (r) => (r.dynamodb.Keys = { orderId: { BOOL: true } })), expect: { code: 'MALFORMED_RECORD', message: /type S, N or B/ } },
  { name: 'a key of two types', record: broken('bad-13', (r) => (r.dynamodb.Keys = { orderId: { S: 'x', N: '1' } })), expect: { code: 'MALFORMED_RECORD', message: /exactly one type, found S, N/ } },
  { name: 'an unknown attribute type', record: insert('bad-14', image('bad-14', { amount: { Q: '1' } })), expect: { code: 'MALFORMED_RECORD', field: 'Records[15].dynamodb.NewImage.amount', message: /unknown attribute type "Q"/ } },
  { name: 'an attribute with no type', record: insert('bad-15', image('bad-15', { note: {} })), expect: { code: 'MALFORMED_RECORD', field: 'Records[16].dynamodb.NewImage.note' } },
  { name: 'N as a JSON number', record: insert('bad-16', image('bad-16', { amount: { N: 5 } })), expect: { code: 'MALFORMED_RECORD', field: 'Records[17].dynamodb.NewImage.amount.N' } },
  { name: 'N that is not a number', record: insert('bad-17', image('bad-17', { amount: { N: '12abc' } })), expect: { code: 'MALFORMED_RECORD', field: 'Records[18].dynamodb.NewImage.amount.N', message: /not a number/ } },
  { name: 'N with 39 digits', record: insert('bad-18', image('bad-18', { amount: { N: '1'.repeat(39) } })), expect: { code: 'MALFORMED_RECORD', message: /39 significant digits; DynamoDB keeps 38/ } },
  { name: 'N out of range', record: insert('bad-19', image('bad-19', { amount: { N: '1E+126' } })), expect: { code: 'MALFORMED_RECORD', message: /outside DynamoDB's number range/ } },
  { name: 'B not base64', record: insert('bad-20', image('bad-20', { blob: { B: '%%%' } })), expect: { code: 'MALFORMED_RECORD', field: 'Records[21].dynamodb.NewImage.blob.B' } },
  { name: 'an empty SS', record: insert('bad-21', image('bad-21', { tags: { SS: [] } })), expect: { code: 'MALFORMED_RECORD', message: /a set cannot be empty/ } },
  { name: 'NS holding a word', record: insert('bad-22', image('bad-22', { sizes: { NS: ['1', 'two'] } })), expect: { code: 'MALFORMED_RECORD', field: 'Records[23].dynamodb.NewImage.sizes.NS[1]' } },
  { name: 'L not a list', record: insert('bad-23', image('bad-23', { lines: { L: 'x' } })), expect: { code: 'MALFORMED_RECORD', field: 'Records[24].dynamodb.NewImage.lines.L' } },
  { name: 'M not a map', record: insert('bad-24', image('bad-24', { meta: { M: [1] } })), expect: { code: 'MALFORMED_RECORD', field: 'Records[25].dynamodb.NewImage.meta.M' } },
  { name: 'BOOL as text', record: insert('bad-25', image('bad-25', { paid: { BOOL: 'true' } })), expect: { code: 'MALFORMED_RECORD', field: 'Records[26].dynamodb.NewImage.paid.BOOL' } },
  { name: 'NULL false', record: insert('bad-26', image('bad-26', { gone: { NULL: false } })), expect: { code: 'MALFORMED_RECORD', field: 'Records[27].dynamodb.NewImage.gone.NULL' } },
  { name: 'nesting 40 deep', record: insert('bad-27', image('bad-27', { deep })), expect: { code: 'MALFORMED_RECORD', message: /nested deeper than DynamoDB's 32 levels/ } },
  { name: 'an INSERT with an old image', record: broken('bad-28', (r) => (r.dynamodb.OldImage = image('bad-28'))), expect: { code: 'MALFORMED_RECORD', message: /an INSERT cannot carry an old image/ } },
  { name: 'a REMOVE with a new image', record: broken('bad-29', (r) => (r.eventName = 'REMOVE')), expect: { code: 'MALFORMED_RECORD', message: /a REMOVE cannot carry a new image/ } },
  { name: 'a MODIFY without its old image', record: broken('bad-30', (r) => (r.eventName = 'MODIFY')), expect: { code: 'MALFORMED_RECORD', field: 'Records[31].dynamodb.OldImage' } },
  { name: 'a KEYS_ONLY record for a sum', record: streamRecord({ eventName: 'INSERT', keys: keyOf('bad-31'), sequence: next(), viewType: 'KEYS_ONLY' }), expect: { code: 'SCHEMA_MISMATCH', message: /view type is KEYS_ONLY: use NEW_IMAGE or NEW_AND_OLD_IMAGES/ } },
  { name: 'an amount as text', record: insert('bad-32', image('bad-32', { amount: { S: 'lots' } })), expect: { code: 'SCHEMA_MISMATCH', field: 'dynamodb.NewImage.amount' } },
  { name: 'no customerId', record: insert('bad-33', { orderId: { S: 'bad-33' }, status: { S: 'PLACED' }, amount: { N: '1' } }), expect: { code: 'SCHEMA_MISMATCH', field: 'dynamodb.NewImage.customerId' } },
  { name: 'a binary key and orderId', record: insert('x', image('x', { orderId: { B: 'AAE=' } }), { keys: { orderId: { B: 'AAE=' } } }), expect: { code: 'SCHEMA_MISMATCH', field: 'dynamodb.NewImage.orderId' } },
  { name: 'a record of another table', record: insert('bad-35', { customerId: { S: 'c-9' }, name: { S: 'Ada' } }, { table: 'Customers' }), expect: { code: 'MALFORMED_RECORD', message: /from table Customers; this consumer reads Orders/ } },
  { name: 'an empty eventID', record: broken('bad-36', (r) => (r.eventID = '')), expect: { code: 'MALFORMED_RECORD', field: 'Records[37].eventID' } },
  { name: 'a negative creation time', record: broken('bad-37', (r) => (r.dynamodb.ApproximateCreationDateTime = -5)), expect: { code: 'MALFORMED_RECORD', field: 'Records[38].dynamodb.ApproximateCreationDateTime' } },
  // Hostile, but valid: applied as plain data.
  { name: '__proto__, constructor and prototype attributes', record: JSON.parse(JSON.stringify(insert('ok-proto', image('ok-proto', { constructor: { S: 'c' }, prototype: { M: {} } }))).replace('"orderId":{"S":"ok-proto"},', '"orderId":{"S":"ok-proto"},"__proto__":{"M":{"isAdmin":{"BOOL":true}}},')), expect: 'applied' },
  { name: 'a 38-digit amount', record: insert('ok-38', image('ok-38', { amount: { N: '12345678901234567890123456789012345678' } })), expect: 'applied' },
  { name: 'a 400 KB item', record: insert('ok-400k', image('ok-400k', { notes: { S: 'x'.repeat(399_000) } })), expect: 'applied' },
];

const good = Array.from({ length: 20 }, (_, index) => ({
  orderId: `good-${index}`,
  customerId: `c-${index % 3}`,
  status: index % 2 === 0 ? 'PLACED' : 'PAID',
  amount: 100 + index,
}));

let tables: TableNames;
let parked: ParkedRecord[];
let report: Awaited<ReturnType<ReturnType<typeof compose>['consumer']['process']>>;
let composition: ReturnType<typeof compose>;

beforeAll(async () => {
  const client = localClient();
  tables = await freshTables(client);
  composition = compose(examples, {
    dynamoDbClient: client,
    logger: silentLogger,
    config: { ...tableConfig(tables), STREAMFOLD_SOURCE_TABLE: 'Orders' },
  });
  // Good and bad side by side in one batch; each bad record at the index its expected field names.
  const records = cases.map((entry) => entry.record);
  report = await composition.consumer.process([...records, ...good.map((order) => orderRecord(next(), order))]);
  parked = [];
  for await (const record of composition.deadLetters!.list()) parked.push(record);
});

describe(`a corpus of ${cases.length} malformed and hostile records`, () => {
  it('has at least 30 bad records, and the batch goes through without failing', () => {
    expect(cases.filter((entry) => entry.expect !== 'applied').length).toBeGreaterThanOrEqual(30);
    expect(report.batchItemFailures).toEqual([]);
  });

  it.each(cases.map((entry) => [entry.name, entry] as const))('%s', (_name, entry) => {
    const identity = (entry.record as { eventID?: unknown } | null)?.eventID;
    const matching = parked.filter(
      (record) => record.record !== undefined && JSON.stringify(record.record) === JSON.stringify(entry.record),
    );
    if (entry.expect === 'applied') {
      expect(matching, `${entry.name} (eventID ${String(identity)})`).toEqual([]);
      return;
    }
    expect(matching.length, `${entry.name} is parked`).toBeGreaterThan(0);
    for (const record of matching) {
      expect(record.error.code).toBe(entry.expect.code);
      if (entry.expect.field !== undefined) expect(record.error.field).toBe(entry.expect.field);
      if (entry.expect.message !== undefined) expect(record.error.message).toMatch(entry.expect.message);
      // The error names the record wherever it can be read.
      if (typeof identity === 'string' && identity !== '') expect(record.error.message).toContain(`eventID ${identity}`);
    }
  });

  it('applies every good record beside them, and the hostile but valid ones as plain data', async () => {
    const reader = composition.dynamoDbStore;
    const goodItems = good.map((order) => ({ ...order, amount: String(order.amount) }));
    const hostile = [
      { orderId: 'ok-proto', customerId: 'c-bad', status: 'PLACED', amount: '1' },
      { orderId: 'ok-38', customerId: 'c-bad', status: 'PLACED', amount: '12345678901234567890123456789012345678' },
      { orderId: 'ok-400k', customerId: 'c-bad', status: 'PLACED', amount: '1' },
    ];
    expect(await differencesFromTruth(reader, [...goodItems, ...hostile])).toEqual([]);
    expect(({} as { isAdmin?: unknown }).isAdmin).toBeUndefined();
  });
});
