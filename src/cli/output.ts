import { toExactJson } from '../records/json.js';

/** Thrown by a write once the reader has gone (`streamfold dump | head -1`): the command stops, and exits 0. */
export class OutputClosed extends Error {
  constructor() {
    super('the output was closed by its reader');
    this.name = 'OutputClosed';
  }
}

export function isOutputClosed(error: unknown): error is OutputClosed {
  return error instanceof OutputClosed;
}

/** Where a command writes: results on stdout (lines a program can read), messages for people on stderr. */
export interface Output {
  /** One line of results. Throws `OutputClosed` once the reader has gone. */
  line(text: string): void;
  /** One JSON object a line, numbers with every digit. */
  json(value: unknown): void;
  /** A message for the person at the terminal, on stderr. */
  notice(text: string): void;
  /** The stream progress is drawn on (stderr). */
  readonly progress: { readonly isTTY?: boolean; readonly columns?: number; write(text: string): unknown };
}

interface Writable {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
  on(event: 'error', listener: (error: NodeJS.ErrnoException) => void): unknown;
}

/**
 * Writing to a pipe whose reader has exited fails with `EPIPE`, reported as an `error` event after the
 * write; unhandled, it crashes the process with a stack trace. Here it closes the stream instead, and the
 * next write stops the command.
 */
export function guarded(stream: Writable): { write(text: string): void; closed(): boolean } {
  let failure: NodeJS.ErrnoException | undefined;
  stream.on('error', (error) => {
    failure = error;
  });
  return {
    write(text) {
      if (failure !== undefined) {
        if (failure.code === 'EPIPE') throw new OutputClosed();
        throw failure;
      }
      stream.write(text);
    },
    closed: () => failure?.code === 'EPIPE',
  };
}

let standard: Output | undefined;

/** The process's own stdout and stderr, guarded once per process. */
export function processOutput(): Output {
  if (standard !== undefined) return standard;
  const out = guarded(process.stdout);
  const err = guarded(process.stderr);
  const progress = {
    get isTTY() {
      return process.stderr.isTTY;
    },
    get columns() {
      return process.stderr.columns;
    },
    write: (text: string) => {
      if (!err.closed()) err.write(text);
    },
  };
  standard = {
    line: (text) => out.write(`${text}\n`),
    json: (value) => out.write(`${toExactJson(value)}\n`),
    notice: (text) => {
      if (!err.closed()) err.write(`${text}\n`);
    },
    progress,
  };
  return standard;
}

/** An output kept in memory, for tests. */
export function memoryOutput(): Output & { readonly lines: string[]; readonly notices: string[] } {
  const lines: string[] = [];
  const notices: string[] = [];
  return {
    lines,
    notices,
    line: (text) => lines.push(text),
    json: (value) => lines.push(toExactJson(value)),
    notice: (text) => notices.push(text),
    progress: { write: () => undefined },
  };
}
