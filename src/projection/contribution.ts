import { StreamfoldError, errorMessage } from '../core/errors.js';
import { isPlainRecord } from '../records/attribute-value.js';
import { Decimal } from '../records/decimal.js';
import type { Contribution } from './define.js';
import type { ContributionAmounts } from './ports.js';

/** Sum rows keep their fields as top-level attributes beside the row's own bookkeeping. */
const RESERVED_FIELDS = new Set(['pk', 'sk']);
const RESERVED_PREFIX = '_';

/** Checks what `contribute` returned and makes it exact. Zero amounts are dropped: they add nothing. */
export function toContributionAmounts(contribution: Contribution): ContributionAmounts {
  if (!isPlainRecord(contribution)) {
    throw new StreamfoldError('INVALID_PROJECTION', 'contribute() must return an object of groups');
  }
  const groups = new Map<string, Map<string, Decimal>>();
  for (const [group, fields] of Object.entries(contribution)) {
    if (group.length === 0) {
      throw new StreamfoldError('INVALID_PROJECTION', 'a group key cannot be empty', { field: 'contribute()' });
    }
    if (!isPlainRecord(fields)) {
      throw new StreamfoldError('INVALID_PROJECTION', 'each group must map field names to numbers', {
        field: `contribute().${group}`,
      });
    }
    const amounts = new Map<string, Decimal>();
    for (const [field, amount] of Object.entries(fields)) {
      const path = `contribute().${group}.${field}`;
      if (field.length === 0 || RESERVED_FIELDS.has(field) || field.startsWith(RESERVED_PREFIX)) {
        throw new StreamfoldError(
          'INVALID_PROJECTION',
          `"${field}" is reserved: sum fields cannot be empty, "pk", "sk" or start with "_"`,
          { field: path },
        );
      }
      let value: Decimal;
      try {
        value = Decimal.from(amount).assertStorable();
      } catch (error) {
        throw new StreamfoldError('INVALID_PROJECTION', errorMessage(error), { field: path, cause: error });
      }
      if (!value.isZero) amounts.set(field, value);
    }
    if (amounts.size > 0) groups.set(group, amounts);
  }
  return groups;
}

/** `next - previous`, per group and field, leaving out what did not change. */
export function contributionDelta(
  previous: ContributionAmounts | undefined,
  next: ContributionAmounts,
): Map<string, Map<string, Decimal>> {
  const delta = new Map<string, Map<string, Decimal>>();
  const add = (group: string, field: string, amount: Decimal): void => {
    let fields = delta.get(group);
    if (fields === undefined) {
      fields = new Map();
      delta.set(group, fields);
    }
    const total = (fields.get(field) ?? Decimal.ZERO).add(amount);
    if (total.isZero) fields.delete(field);
    else fields.set(field, total);
    if (fields.size === 0) delta.delete(group);
  };
  for (const [group, fields] of next) for (const [field, amount] of fields) add(group, field, amount);
  if (previous !== undefined) {
    for (const [group, fields] of previous) for (const [field, amount] of fields) add(group, field, amount.negate());
  }
  return delta;
}
