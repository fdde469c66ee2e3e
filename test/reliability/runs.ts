/** Scenarios per property: more on demand, `STREAMFOLD_RELIABILITY_RUNS=20000 npm test -- test/reliability`. */
export const RUNS = Number(process.env.STREAMFOLD_RELIABILITY_RUNS ?? 1000);

/** Replays one failing scenario: the seed and path fast-check printed. */
export const REPLAY =
  process.env.STREAMFOLD_RELIABILITY_SEED === undefined
    ? {}
    : { seed: Number(process.env.STREAMFOLD_RELIABILITY_SEED), path: process.env.STREAMFOLD_RELIABILITY_PATH };
