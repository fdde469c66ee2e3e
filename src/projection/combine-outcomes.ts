import type { CommitOutcome } from './ports.js';

/**
 * One key's outcome from those of the parts it was written in. Refused first (its records are blamed, and
 * the key is planned again), then a conflict (planned again from a fresh read), then a passing failure.
 * Parts that did land are then seen as landed by the next read, and not written again.
 */
export function combineOutcomes(outcomes: readonly CommitOutcome[]): CommitOutcome {
  const refused = outcomes.filter((outcome) => outcome.status === 'refused');
  const [first] = refused;
  if (first !== undefined) {
    const totals = refused.flatMap((outcome) => outcome.totals ?? []);
    return { ...first, generations: [...new Set(refused.flatMap((outcome) => outcome.generations))], ...(totals.length === 0 ? {} : { totals }) };
  }
  if (outcomes.some((outcome) => outcome.status === 'conflict')) return { status: 'conflict' };
  return outcomes.find((outcome) => outcome.status === 'retry') ?? { status: 'committed' };
}
