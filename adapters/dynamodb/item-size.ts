import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The size DynamoDB bills an item at, by its documented rules: attribute names plus values; a number takes
 * about one byte per two significant digits plus one; lists and maps add three bytes and one per element.
 * DynamoDB Local reports a flat figure for a whole transaction, so billed units are counted from this.
 */
export function itemSize(item: Record<string, AttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += utf8(name) + valueSize(value);
  return bytes;
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.byteLength;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS !== undefined) return value.SS.reduce((total, s) => total + utf8(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((total, n) => total + numberSize(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((total, b) => total + b.byteLength, 0);
  if (value.L !== undefined) return 3 + value.L.reduce((total, element) => total + 1 + valueSize(element), 0);
  if (value.M !== undefined) {
    return 3 + Object.entries(value.M).reduce((total, [name, element]) => total + 1 + utf8(name) + valueSize(element), 0);
  }
  return 0;
}

function numberSize(text: string): number {
  const digits = text.replace(/^[-+]?0*/, '').replace(/[eE].*$/, '').replace('.', '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

function utf8(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Write units as AWS bills them: one per started KB, twice that for every item of a transaction. */
export function writeUnits(bytes: number, transactional: boolean): number {
  return Math.max(1, Math.ceil(bytes / 1024)) * (transactional ? 2 : 1);
}
