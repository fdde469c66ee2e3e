/**
 * DynamoDB stream sequence numbers are strings of 21 to 40 digits whose lengths differ between shards and
 * over time, so they are compared as integers, never as JS numbers or as plain strings.
 */
export const SEQUENCE_MAX_DIGITS = 40;

const SEQUENCE_PATTERN = /^\d{1,40}$/;

export function isSequence(value: unknown): value is string {
  return typeof value === 'string' && SEQUENCE_PATTERN.test(value);
}

export function compareSequences(a: string, b: string): -1 | 0 | 1 {
  const left = stripLeadingZeros(a);
  const right = stripLeadingZeros(b);
  if (left.length !== right.length) return left.length < right.length ? -1 : 1;
  return left === right ? 0 : left < right ? -1 : 1;
}

/** Left-padded to a fixed width, so that DynamoDB's string order is numeric order in stored checkpoints. */
export function padSequence(sequence: string): string {
  return stripLeadingZeros(sequence).padStart(SEQUENCE_MAX_DIGITS, '0');
}

function stripLeadingZeros(sequence: string): string {
  const stripped = sequence.replace(/^0+/, '');
  return stripped === '' ? '0' : stripped;
}
