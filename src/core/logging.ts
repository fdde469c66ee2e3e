import { AsyncLocalStorage } from 'node:async_hooks';
import { pino } from 'pino';

/**
 * The logger the engine writes to: pino's shape, so a pino logger is passed as is. Child loggers carry
 * trusted fields only (projection, key, sequence, eventID); item images are never logged.
 */
export interface Logger {
  debug(fields: object, message?: string): void;
  info(fields: object, message?: string): void;
  warn(fields: object, message?: string): void;
  error(fields: object, message?: string): void;
  child(bindings: Record<string, unknown>): Logger;
}

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** The fields of the invocation in progress (request id, cold start), per async context, not per process. */
const invocationFields = new AsyncLocalStorage<Readonly<Record<string, unknown>>>();

/** Runs `work` with these fields on every line the loggers of `createLogger` write meanwhile. */
export function withLogFields<T>(fields: Readonly<Record<string, unknown>>, work: () => T): T {
  return invocationFields.run(fields, work);
}

/**
 * A pino logger whose lines Lambda's advanced logging controls understand: the level as text (`"INFO"`,
 * which `AWS_LAMBDA_LOG_LEVEL` filters on; pino's numbers read as invalid) and an RFC 3339 `timestamp`.
 * Lines also carry the fields of `withLogFields`.
 */
export function createLogger(level: LogLevel = 'info', destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: 'streamfold',
    level,
    base: undefined,
    formatters: { level: (label) => ({ level: label.toUpperCase() }) },
    timestamp: () => `,"timestamp":"${new Date().toISOString()}"`,
    mixin: () => invocationFields.getStore() ?? {},
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

export const silentLogger: Logger = createLogger('silent');
