import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { StreamfoldError } from '../../src/core/errors.js';
import { defineProjection, type Projection } from '../../src/projection/define.js';
import type { KeyWrite, Refusal } from '../../src/projection/ports.js';
import { readAllRows } from '../../src/projection/read-model.js';
import { MemoryDeadLetterStore } from '../../src/testing/memory-dead-letters.js';
import { MemoryReadModelStore } from '../../src/testing/memory-store.js';
import { testConsumer } from '../support/consumers.js';
import { streamRecord, wire } from '../support/records.js';

const Note = z.object({ id: z.string(), text: z.string(), group: z.string() });
const notes = (onPoison: 'wait' | 'skip') =>
  defineProjection({
    name: 'notes',
    version: 1,
    kind: 'view',
    schema: Note,
    onPoison,
    evolve: (state: { texts: string[] } | undefined, event) => ({ texts: [...(state?.texts ?? []), event.newImage?.text ?? ''] }),
  }) as Projection;
const perGroup = defineProjection({ name: 'per-group', version: 1, kind: 'sum', schema: Note, contribute: (n) => ({ [n.group]: { notes: 1 } }) }) as Projection;

/** A stand-in for DynamoDB's 400 KB limit: a notes row may hold at most 10 characters of text. */
const tenCharacters = (write: KeyWrite): Refusal[] =>
  write.views
    .filter((view) => ((view.state?.texts as string[] | undefined) ?? []).join('').length > 10)
    .map((view) => ({ generation: view.generation, error: new StreamfoldError('STORE_WRITE_FAILED', 'the row is over the limit') }));

const note = (sequence: string, text: string, group: string) =>
  streamRecord({ eventName: 'MODIFY', keys: { id: { S: 'n-1' } }, sequence, newImage: wire({ id: 'n-1', text, group }), viewType: 'NEW_IMAGE', table: 'Notes' });

describe('writes refused for good', () => {
  it.each([
    ['wait', ['aaaa', 'bbbb'], [['303', 'failed'], ['304', 'waiting']]],
    ['skip', ['aaaa', 'bbbb', 'cc'], [['303', 'failed']]],
  ] as const)('park the record that made the row too big, not an earlier one (%s)', async (onPoison, texts, parked) => {
    const store = new MemoryReadModelStore({ refusals: tenCharacters });
    const deadLetters = new MemoryDeadLetterStore();
    const report = await testConsumer(store, [notes(onPoison), perGroup], deadLetters).process([
      note('301', 'aaaa', 'a'),
      note('302', 'bbbb', 'a'),
      note('303', 'cccc', 'b'),
      note('304', 'cc', 'c'),
    ]);
    expect(report.batchItemFailures).toEqual([]);
    expect([...deadLetters.records.values()].map((record) => [record.sequence, record.reason])).toEqual(parked);
    expect([...deadLetters.records.values()][0]?.error.message).toMatch(/the row is over the limit \(projection notes, eventID evt-303/);
    expect((await readAllRows(store, notes(onPoison)))[0]?.value.texts).toEqual(texts);
    expect(await readAllRows(store, perGroup)).toEqual([{ key: 'c', value: { notes: 1 } }]);
  });

  it('park the record whose total would pass 38 significant digits, for that sum only', async () => {
    const Amount = z.object({ id: z.string(), text: z.string(), group: z.string(), amount: z.union([z.bigint(), z.number()]) });
    const amounts = defineProjection({ name: 'amounts', version: 1, kind: 'sum', schema: Amount, contribute: (a) => ({ all: { amount: a.amount } }) }) as Projection;
    const store = new MemoryReadModelStore();
    const deadLetters = new MemoryDeadLetterStore();
    const consumer = testConsumer(store, [amounts, perGroup], deadLetters);
    const record = (id: string, sequence: string, amount: bigint) =>
      streamRecord({ eventName: 'INSERT', keys: { id: { S: id } }, sequence, newImage: wire({ id, text: '', group: 'g', amount }), viewType: 'NEW_IMAGE', table: 'Notes' });
    await consumer.process([record('n-1', '401', 10n ** 38n)]);
    const report = await consumer.process([record('n-2', '402', 1n)]);
    expect(report.batchItemFailures).toEqual([]);
    expect([...deadLetters.records.values()].map((parked) => [parked.projection, parked.sequence])).toEqual([['amounts', '402']]);
    expect(await readAllRows(store, perGroup)).toEqual([{ key: 'g', value: { notes: 2 } }]);
  });
});
