/**
 * DynamoDB stream sequence numbers are strings of 21 to 40 digits whose lengths differ between shards and
 * over time, so they are compared as integers, never as JS numbers or as plain strings.
 */
export const SEQUENCE_MAX_DIGITS = 40;

/** Lower than any real sequence number: what a rebuild gives the inserts it makes of scanned items. */
export const REPLAY_SEQUENCE = '0';

const SEQUENCE_PATTERN = /^\d{1,40}$/;

export function isSequence(value: unknown): value is string {
  return typeof value === 'string' && SEQUENCE_PATTERN.test(value);
}

/** Compares digit strings as integers, in place: it runs for every pair a sort of a batch compares. */
export function compareSequences(a: string, b: string): -1 | 0 | 1 {
  const from = firstSignificant(a);
  const other = firstSignificant(b);
  const length = a.length - from;
  if (length !== b.length - other) return length < b.length - other ? -1 : 1;
  for (let offset = 0; offset < length; offset += 1) {
    const left = a.charCodeAt(from + offset);
    const right = b.charCodeAt(other + offset);
    if (left !== right) return left < right ? -1 : 1;
  }
  return 0;
}

/** Index of the first digit that is not a leading zero (the last digit for zero itself). */
function firstSignificant(digits: string): number {
  let index = 0;
  while (index < digits.length - 1 && digits.charCodeAt(index) === 48) index += 1;
  return index;
}

/** The lowest of the sequences given, numerically; `undefined` when none is given. */
export function lowestSequence(sequences: Iterable<string | undefined>): string | undefined {
  let low: string | undefined;
  for (const sequence of sequences) {
    if (sequence !== undefined && (low === undefined || compareSequences(sequence, low) < 0)) low = sequence;
  }
  return low;
}

/** Left-padded to a fixed width, so that DynamoDB's string order is numeric order in stored checkpoints. */
export function padSequence(sequence: string): string {
  return sequence.slice(firstSignificant(sequence)).padStart(SEQUENCE_MAX_DIGITS, '0');
}
