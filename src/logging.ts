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

export function createLogger(level: LogLevel = 'info', destination?: pino.DestinationStream): Logger {
  const options = { name: 'streamfold', level, base: undefined };
  return destination === undefined ? pino(options) : pino(options, destination);
}

export const silentLogger: Logger = createLogger('silent');
