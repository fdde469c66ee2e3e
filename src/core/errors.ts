/**
 * One base error for the library. A `code` string and the `isStreamfoldError` guard work even when two
 * copies of the package are installed side by side, where `instanceof` does not.
 */
export type StreamfoldErrorCode =
  | 'MALFORMED_RECORD'
  | 'SCHEMA_MISMATCH'
  | 'PROJECTION_FAILED'
  | 'INVALID_NUMBER'
  | 'INVALID_PROJECTION'
  | 'UNSUPPORTED_VALUE'
  | 'STORE_WRITE_FAILED'
  /** A poison record could not be written to the dead-letter table or queue (throttled past the retries, network). */
  | 'PARKING_FAILED'
  | 'CONFIGURATION';

/** Where a record sits in its stream: the fields every record-level error names. */
export interface RecordLocation {
  readonly eventID?: string | undefined;
  readonly key?: string | undefined;
  readonly sequence?: string | undefined;
}

export interface StreamfoldErrorOptions extends RecordLocation {
  readonly cause?: unknown;
  readonly projection?: string | undefined;
  /** Dotted path of the offending field, such as `dynamodb.NewImage.amount`. */
  readonly field?: string | undefined;
  /** Whether running the same input again could succeed (throttling, a network fault). */
  readonly retryable?: boolean;
}

const STREAMFOLD_ERROR = Symbol.for('streamfold.error');

export class StreamfoldError extends Error {
  readonly code: StreamfoldErrorCode;
  /** The message without the record's location, for re-raising the error at a wider scope. */
  readonly detail: string;
  readonly eventID: string | undefined;
  readonly key: string | undefined;
  readonly sequence: string | undefined;
  readonly projection: string | undefined;
  readonly field: string | undefined;
  readonly retryable: boolean;
  readonly [STREAMFOLD_ERROR] = true;

  constructor(code: StreamfoldErrorCode, message: string, options: StreamfoldErrorOptions = {}) {
    super(withLocation(message, options), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StreamfoldError';
    this.code = code;
    this.detail = message;
    this.eventID = options.eventID;
    this.key = options.key;
    this.sequence = options.sequence;
    this.projection = options.projection;
    this.field = options.field;
    this.retryable = options.retryable ?? false;
  }

  /** The same error, placed: the record's location added to what is already known. */
  locate(location: RecordLocation & { projection?: string | undefined }): StreamfoldError {
    return new StreamfoldError(this.code, this.detail, {
      cause: this.cause,
      eventID: location.eventID ?? this.eventID,
      key: location.key ?? this.key,
      sequence: location.sequence ?? this.sequence,
      projection: location.projection ?? this.projection,
      field: this.field,
      retryable: this.retryable,
    });
  }

  /** The structured fields, for logs and for parked records. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      eventID: this.eventID,
      key: this.key,
      sequence: this.sequence,
      projection: this.projection,
      field: this.field,
      retryable: this.retryable,
    };
  }
}

export function isStreamfoldError(error: unknown, code?: StreamfoldErrorCode): error is StreamfoldError {
  if (typeof error !== 'object' || error === null) return false;
  if ((error as { [STREAMFOLD_ERROR]?: unknown })[STREAMFOLD_ERROR] !== true) return false;
  return code === undefined || (error as StreamfoldError).code === code;
}

function withLocation(message: string, options: StreamfoldErrorOptions): string {
  const parts: string[] = [];
  if (options.projection !== undefined) parts.push(`projection ${options.projection}`);
  if (options.eventID !== undefined) parts.push(`eventID ${options.eventID}`);
  if (options.key !== undefined) parts.push(`key ${options.key}`);
  if (options.sequence !== undefined) parts.push(`sequence ${options.sequence}`);
  if (options.field !== undefined) parts.push(`field ${options.field}`);
  return parts.length === 0 ? message : `${message} (${parts.join(', ')})`;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
