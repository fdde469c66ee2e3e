import { StreamfoldError } from '../core/errors.js';

/** DynamoDB keeps 38 significant digits; more is an error on the server, so it is one here too. */
export const DYNAMODB_MAX_SIGNIFICANT_DIGITS = 38;
/** Smallest and largest decimal exponent of a DynamoDB number's leading digit (1E-130 .. 9.99E+125). */
export const DYNAMODB_MIN_EXPONENT = -130;
export const DYNAMODB_MAX_EXPONENT = 125;

const NUMBER_PATTERN = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
/** Far beyond what DynamoDB stores, yet small enough that parsing hostile input stays cheap. */
const MAX_PARSED_DIGITS = 1_000;
const MAX_PARSED_EXPONENT = 10_000;

/**
 * An exact decimal, `coefficient × 10^exponent`, always normalised (no trailing zeros in the coefficient),
 * so equal values have equal fields. Sums are folded with it because JavaScript's floats would round the
 * 38-digit numbers DynamoDB stores.
 */
export class Decimal {
  static readonly ZERO = new Decimal(0n, 0);

  private constructor(
    readonly coefficient: bigint,
    readonly exponent: number,
  ) {}

  /** Parses DynamoDB's number syntax; throws `INVALID_NUMBER` on anything else. */
  static parse(text: string): Decimal {
    const match = NUMBER_PATTERN.exec(text);
    const integerDigits = match?.[2] ?? '';
    const fractionDigits = match?.[3] ?? '';
    if (match === null || integerDigits.length + fractionDigits.length === 0) {
      throw new StreamfoldError('INVALID_NUMBER', `"${truncate(text)}" is not a number`);
    }
    // Zeros are stripped as text: turning a long run of them into a BigInt and dividing it away digit by
    // digit would take quadratic time on hostile input.
    const digits = (integerDigits + fractionDigits).replace(/^0+/, '');
    const significant = digits.replace(/0+$/, '');
    if (significant.length > MAX_PARSED_DIGITS) {
      throw new StreamfoldError('INVALID_NUMBER', `"${truncate(text)}" has more than ${MAX_PARSED_DIGITS} significant digits`);
    }
    const exponent = Number(match[4] ?? '0') - fractionDigits.length + (digits.length - significant.length);
    if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > MAX_PARSED_EXPONENT) {
      throw new StreamfoldError('INVALID_NUMBER', `"${truncate(text)}" has an exponent out of range`);
    }
    if (significant === '') return Decimal.ZERO;
    return new Decimal((match[1] === '-' ? -1n : 1n) * BigInt(significant), exponent);
  }

  static of(coefficient: bigint, exponent: number): Decimal {
    if (coefficient === 0n) return Decimal.ZERO;
    let c = coefficient;
    let e = exponent;
    while (c % 10n === 0n) {
      c /= 10n;
      e += 1;
    }
    return new Decimal(c, e);
  }

  /** Accepts what a projection may return as a number: a JS number, a bigint, a Decimal or a numeric string. */
  static from(value: DecimalInput): Decimal {
    if (value instanceof Decimal) return value;
    if (typeof value === 'bigint') return Decimal.of(value, 0);
    if (typeof value === 'number') {
      if (Number.isSafeInteger(value)) return Decimal.of(BigInt(value), 0);
      if (!Number.isFinite(value)) {
        throw new StreamfoldError('INVALID_NUMBER', `${value} cannot be stored: DynamoDB numbers are finite`);
      }
      return Decimal.parse(String(value));
    }
    if (typeof value === 'string') return Decimal.parse(value);
    throw new StreamfoldError('INVALID_NUMBER', `${typeof value} is not a number`);
  }

  get isZero(): boolean {
    return this.coefficient === 0n;
  }

  get isInteger(): boolean {
    return this.exponent >= 0;
  }

  get significantDigits(): number {
    if (this.coefficient === 0n) return 1;
    return (this.coefficient < 0n ? -this.coefficient : this.coefficient).toString().length;
  }

  /** Decimal exponent of the leading digit: 1234 → 3, 0.05 → -2. */
  get adjustedExponent(): number {
    return this.exponent + this.significantDigits - 1;
  }

  add(other: Decimal): Decimal {
    const exponent = Math.min(this.exponent, other.exponent);
    return Decimal.of(
      this.coefficient * 10n ** BigInt(this.exponent - exponent) +
        other.coefficient * 10n ** BigInt(other.exponent - exponent),
      exponent,
    );
  }

  negate(): Decimal {
    return Decimal.of(-this.coefficient, this.exponent);
  }

  subtract(other: Decimal): Decimal {
    return this.add(other.negate());
  }

  equals(other: Decimal): boolean {
    return this.coefficient === other.coefficient && this.exponent === other.exponent;
  }

  compare(other: Decimal): -1 | 0 | 1 {
    const difference = this.subtract(other).coefficient;
    return difference === 0n ? 0 : difference < 0n ? -1 : 1;
  }

  /** Throws unless DynamoDB can store this value exactly. */
  assertStorable(): this {
    if (this.isZero) return this;
    if (this.significantDigits > DYNAMODB_MAX_SIGNIFICANT_DIGITS) {
      throw new StreamfoldError(
        'INVALID_NUMBER',
        `${this.describe()} has ${this.significantDigits} significant digits; DynamoDB keeps ${DYNAMODB_MAX_SIGNIFICANT_DIGITS}`,
      );
    }
    const adjusted = this.adjustedExponent;
    if (adjusted < DYNAMODB_MIN_EXPONENT || adjusted > DYNAMODB_MAX_EXPONENT) {
      throw new StreamfoldError('INVALID_NUMBER', `${this.describe()} is outside DynamoDB's number range`);
    }
    return this;
  }

  /** A short, exact spelling for messages, never expanded: `1.2345E+200`. */
  describe(): string {
    const digits = (this.coefficient < 0n ? -this.coefficient : this.coefficient).toString();
    const sign = this.coefficient < 0n ? '-' : '';
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const adjusted = this.adjustedExponent;
    return truncate(`${sign}${mantissa}E${adjusted >= 0 ? '+' : ''}${adjusted}`);
  }

  /** Plain notation, exact: `12.5`, `-0.003`, `100000000000000000000000000000000000000000`. */
  toString(): string {
    const negative = this.coefficient < 0n;
    const digits = (negative ? -this.coefficient : this.coefficient).toString();
    let text: string;
    if (this.exponent >= 0) {
      text = this.coefficient === 0n ? '0' : digits + '0'.repeat(this.exponent);
    } else {
      const point = digits.length + this.exponent;
      text = point > 0 ? `${digits.slice(0, point)}.${digits.slice(point)}` : `0.${'0'.repeat(-point)}${digits}`;
    }
    return negative ? `-${text}` : text;
  }

  toJSON(): string {
    return this.toString();
  }

  /**
   * The most convenient JavaScript value that loses nothing: a `number` when it converts back to the same
   * decimal, a `bigint` for larger integers, and the Decimal itself otherwise.
   */
  toJS(): ExactNumber {
    const asNumber = Number(this.toString());
    if (Number.isFinite(asNumber) && Decimal.parse(String(asNumber)).equals(this)) return asNumber;
    if (this.isInteger) return this.coefficient * 10n ** BigInt(this.exponent);
    return this;
  }
}

/** A number decoded from DynamoDB: see `Decimal.toJS`. */
export type ExactNumber = number | bigint | Decimal;
export type DecimalInput = ExactNumber | string;

export function isExactNumber(value: unknown): value is ExactNumber {
  return typeof value === 'number' || typeof value === 'bigint' || value instanceof Decimal;
}

function truncate(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
