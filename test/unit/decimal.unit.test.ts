import { describe, expect, it } from 'vitest';
import { Decimal } from '../../src/records/decimal.js';

describe('Decimal', () => {
  it('keeps all 38 digits of a DynamoDB number through addition', () => {
    const a = Decimal.parse('12345678901234567890123456789012345678');
    const b = Decimal.parse('1');
    expect(a.add(b).toString()).toBe('12345678901234567890123456789012345679');
    expect(a.significantDigits).toBe(38);
  });

  it('adds decimals exactly where floats would not', () => {
    expect(Decimal.from(0.1).add(Decimal.from(0.2)).toString()).toBe('0.3');
    expect(Decimal.parse('-1.005').add(Decimal.parse('1.004')).toString()).toBe('-0.001');
  });

  it('normalises equal values to equal fields, whatever the spelling', () => {
    for (const spelling of ['5', '5.0', '5E0', '0.5e1', '+5', '50e-1', '005.000']) {
      expect(Decimal.parse(spelling).equals(Decimal.parse('5')), spelling).toBe(true);
    }
    expect(Decimal.parse('-0').isZero).toBe(true);
    expect(Decimal.parse('1E+3').toString()).toBe('1000');
    expect(Decimal.parse('1.5E-3').toString()).toBe('0.0015');
  });

  it('gives back the most convenient exact JavaScript value', () => {
    expect(Decimal.parse('42').toJS()).toBe(42);
    expect(Decimal.parse('0.1').toJS()).toBe(0.1);
    expect(Decimal.parse('9007199254740993').toJS()).toBe(9007199254740993n);
    const precise = Decimal.parse('1.00000000000000000000000000000000001');
    expect(precise.toJS()).toBe(precise);
  });

  it('refuses what DynamoDB cannot store', () => {
    expect(() => Decimal.parse('123456789012345678901234567890123456789').assertStorable()).toThrow(/39 significant digits/);
    expect(() => Decimal.parse('1E+126').assertStorable()).toThrow(/outside DynamoDB's number range/);
    expect(() => Decimal.parse('1E-131').assertStorable()).toThrow(/outside/);
    expect(Decimal.parse('9.99E+125').assertStorable().adjustedExponent).toBe(125);
    expect(() => Decimal.from(Number.NaN)).toThrow(/finite/);
    for (const bad of ['', '.', 'abc', '1e', '0x10', '1,5', 'Infinity']) {
      expect(() => Decimal.parse(bad), bad).toThrow(/not a number/);
    }
  });

  it('compares numerically', () => {
    expect(Decimal.parse('10').compare(Decimal.parse('9.99'))).toBe(1);
    expect(Decimal.parse('-10').compare(Decimal.parse('9'))).toBe(-1);
    expect(Decimal.parse('1.0').compare(Decimal.parse('1'))).toBe(0);
  });
});
