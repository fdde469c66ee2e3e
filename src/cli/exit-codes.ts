import { StreamfoldError } from '../core/errors.js';

/**
 * The exit codes of every command, as the README's table documents them. CI tells "it ran, but look"
 * (`ATTENTION`) apart from "it could not run" (`ERROR`) and "the command line is wrong" (`USAGE`).
 */
export const EXIT = {
  /** Finished, and everything was applied (nothing parked or failed, no drift, no open gap). */
  DONE: 0,
  /** Could not finish: DynamoDB unreachable, a table missing, a module that does not load, bad input. */
  ERROR: 1,
  /** The command line is wrong: an unknown command or option, a missing or invalid value, `purge` without `--yes`, a projection the module lacks. */
  USAGE: 2,
  /** Finished, but records are parked or failed, `verify` found drift, or event-stream gaps are open. */
  ATTENTION: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A mistake on the command line that the parser cannot see (a value out of range, a missing `--yes`). */
export class UsageError extends StreamfoldError {
  /** The option at fault, kept out of the message (which names it already). */
  readonly option: string | undefined;

  constructor(message: string, option?: string) {
    super('CONFIGURATION', message);
    this.name = 'UsageError';
    this.option = option;
  }
}

export function isUsageError(error: unknown): error is UsageError {
  return error instanceof UsageError;
}

/** `ATTENTION` when anything is left to look at, else `DONE`. */
export const attentionIf = (needsAttention: boolean): ExitCode => (needsAttention ? EXIT.ATTENTION : EXIT.DONE);
