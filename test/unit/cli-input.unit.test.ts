import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toLambdaRecord } from '../../src/cli/normalise-record.js';
import { parseStreamInput } from '../../src/cli/stream-input.js';
import { decodeRecord } from '../../src/records/decode.js';
import { streamRecord } from '../support/records.js';

/** A record as the AWS SDK v3 gives it: `Date` time, `Uint8Array` binaries, capitalised identity. */
function sdkRecord() {
  return {
    eventID: 'sdk-1',
    eventName: 'REMOVE',
    eventVersion: '1.1',
    eventSource: 'aws:dynamodb',
    awsRegion: 'eu-west-1',
    userIdentity: { PrincipalId: 'dynamodb.amazonaws.com', Type: 'Service' },
    dynamodb: {
      ApproximateCreationDateTime: new Date('2026-11-25T10:20:30.000Z'),
      Keys: { sku: { S: 'A-1' }, bin: { B: new Uint8Array([0, 1, 255]) } },
      OldImage: {
        sku: { S: 'A-1' },
        bin: { B: new Uint8Array([0, 1, 255]) },
        empty: { B: new Uint8Array([]) },
        photos: { BS: [new Uint8Array([4, 5]), new Uint8Array([6])] },
        nested: { M: { inner: { L: [{ B: new Uint8Array([7]) }, { N: '1.50' }] } } },
        ['__proto__']: { S: 'data, not a prototype' },
      },
      SequenceNumber: '4000000000000000000001',
      SizeBytes: 80,
      StreamViewType: 'OLD_IMAGE',
    },
  };
}

describe('stream records in the shapes people have, made into the records Lambda delivers', () => {
  it('turns an SDK record written by JSON.stringify into the Lambda shape, byte for byte', () => {
    const written = JSON.parse(JSON.stringify(sdkRecord())) as unknown;
    const record = toLambdaRecord(written) as { dynamodb: Record<string, unknown>; userIdentity: unknown };
    expect(record.dynamodb.ApproximateCreationDateTime).toBe(1_795_602_030);
    expect(record.userIdentity).toEqual({ type: 'Service', principalId: 'dynamodb.amazonaws.com' });
    const old = record.dynamodb.OldImage as Record<string, unknown>;
    expect(old.bin).toEqual({ B: Buffer.from([0, 1, 255]).toString('base64') });
    expect(old.empty).toEqual({ B: '' });
    expect(old.photos).toEqual({ BS: ['BAU=', 'Bg=='] });
    expect(old.nested).toEqual({ M: { inner: { L: [{ B: 'Bw==' }, { N: '1.50' }] } } });
    expect(Object.hasOwn(old, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(old)).toBe(Object.prototype);

    const decoded = decodeRecord(record, 0);
    if (!decoded.ok) throw decoded.error;
    expect(decoded.event.ttlExpiry).toBe(true);
    expect(decoded.event.approximateTime).toBe(1_795_602_030_000);
    expect(Buffer.from(decoded.event.oldImage?.bin as Uint8Array)).toEqual(Buffer.from([0, 1, 255]));
    expect(Object.getOwnPropertyDescriptor(decoded.event.oldImage, '__proto__')?.value).toBe('data, not a prototype');
  });

  it('takes the AWS CLI shape: epoch seconds with a fraction (CLI v1) or an ISO date with an offset (CLI v2)', () => {
    const v1 = { ...streamRecord({ eventName: 'INSERT', keys: { sku: { S: 'a' } }, sequence: '11', newImage: { sku: { S: 'a' } } }) };
    (v1.dynamodb as Record<string, unknown>).ApproximateCreationDateTime = 1_700_000_000.0;
    const v2 = structuredClone(v1);
    (v2.dynamodb as Record<string, unknown>).ApproximateCreationDateTime = '2023-11-14T23:13:20+01:00';
    expect((toLambdaRecord(v1) as { dynamodb: { ApproximateCreationDateTime: unknown } }).dynamodb.ApproximateCreationDateTime).toBe(1_700_000_000);
    expect((toLambdaRecord(v2) as { dynamodb: { ApproximateCreationDateTime: unknown } }).dynamodb.ApproximateCreationDateTime).toBe(1_700_000_000);
  });

  it('leaves a Lambda record as it is, and what is no known shape for the decoder to refuse by name', () => {
    const lambda = streamRecord({ eventName: 'INSERT', keys: { sku: { S: 'a' } }, sequence: '12', newImage: { sku: { S: 'a' } } });
    expect(toLambdaRecord(lambda)).toEqual(lambda);
    const odd = structuredClone(lambda);
    (odd.dynamodb as Record<string, unknown>).ApproximateCreationDateTime = 'yesterday';
    (odd.dynamodb as { NewImage: Record<string, unknown> }).NewImage.pic = { B: { 0: 300 } };
    const kept = toLambdaRecord(odd) as { dynamodb: { ApproximateCreationDateTime: unknown; NewImage: Record<string, unknown> } };
    expect(kept.dynamodb.ApproximateCreationDateTime).toBe('yesterday');
    expect(kept.dynamodb.NewImage.pic).toEqual({ B: { 0: 300 } });
    expect(toLambdaRecord('not a record')).toBe('not a record');
  });
});

describe('reading a records file', () => {
  const one = (sequence: string, eventID = `e-${sequence}`) =>
    streamRecord({ eventName: 'INSERT', keys: { sku: { S: sequence } }, sequence, eventID, newImage: { sku: { S: sequence } } });

  it('reads a Lambda event, an array, and get-records output printed over many lines, placing each record on its line', () => {
    expect(parseStreamInput(JSON.stringify({ Records: [one('1'), one('2')] }), 'event.json').map((entry) => entry.origin)).toEqual([
      'event.json line 1 (Records[0])',
      'event.json line 1 (Records[1])',
    ]);
    expect(parseStreamInput(JSON.stringify([one('1')]), 'array.json').map((entry) => entry.origin)).toEqual(['array.json line 1']);
    const printed = JSON.stringify({ Records: [one('1'), one('2'), one('3')], NextShardIterator: 'it' }, null, 4);
    const read = parseStreamInput(printed, 'get-records.json');
    const lines = printed.split('\n');
    for (const [index, entry] of read.entries()) {
      const line = Number(/line (\d+)/.exec(entry.origin)?.[1]);
      expect(lines[line - 1]).toContain(`"eventID": "e-${index + 1}"`);
    }
  });

  it('reads JSON Lines of records and of events, each placed on its line', () => {
    const text = [JSON.stringify(one('1')), '', JSON.stringify({ Records: [one('2'), one('3')] }), JSON.stringify(one('4'))].join('\n');
    expect(parseStreamInput(text, 'r.jsonl').map((entry) => entry.origin)).toEqual([
      'r.jsonl line 1',
      'r.jsonl line 3 (Records[0])',
      'r.jsonl line 3 (Records[1])',
      'r.jsonl line 4',
    ]);
  });

  it('names the line that is not JSON, and reads an empty input as no records', () => {
    expect(() => parseStreamInput(`${JSON.stringify(one('1'))}\n{"eventID": oops}\n`, 'r.jsonl')).toThrow(/r\.jsonl line 2 is not JSON/);
    expect(parseStreamInput('  \n', 'empty.jsonl')).toEqual([]);
  });
});

describe('what `aws dynamodbstreams get-records` prints', () => {
  // Printed by awscli 1.45 against DynamoDB Local, as it is (four records kept): with its default
  // timestamps (epoch seconds as a float), and with `cli_timestamp_format = iso8601`, the default of CLI v2.
  it.each(['get-records-cli-v1.json', 'get-records-iso8601.json'])('%s decodes record by record, each placed on its line', (file) => {
    const text = readFileSync(join(import.meta.dirname, '../fixtures/aws-cli', file), 'utf8');
    const read = parseStreamInput(text, file);
    expect(read.map((entry) => (entry.record as { eventName: string }).eventName)).toEqual(['INSERT', 'INSERT', 'MODIFY', 'REMOVE']);
    const lines = text.split('\n');
    for (const entry of read) {
      const record = entry.record as { eventID: string; eventSourceARN?: unknown; dynamodb: { ApproximateCreationDateTime: unknown } };
      expect(record.dynamodb.ApproximateCreationDateTime).toBe(1_796_164_560);
      expect(record.eventSourceARN).toBeUndefined();
      expect(lines[Number(/line (\d+)/.exec(entry.origin)?.[1]) - 1]).toContain(record.eventID);
      const decoded = decodeRecord(entry.record, 0);
      expect(decoded.ok).toBe(true);
    }
  });
});
