import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';

/** The CLI as a user runs it from a checkout: `node bin/streamfold.js`. */
export const CLI = join(import.meta.dirname, '../../bin/streamfold.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one command to its end; `input` is written to its standard input. */
export function streamfold(
  args: readonly string[],
  options: { readonly env?: Record<string, string>; readonly input?: string } = {},
): Promise<CliResult> {
  const child = startStreamfold(args, options.env);
  child.stdin.end(options.input ?? '');
  return finished(child);
}

/** Runs the streamfold CLI as a user would, and answers its exit code and output. */
export const runCli = (args: readonly string[]): Promise<CliResult> => streamfold(args);

/** Starts a command that runs until stopped (`run`, `capture --follow`). */
export function startStreamfold(args: readonly string[], env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } });
}

/** What a started command printed, once it has exited. */
export function finished(child: ChildProcessWithoutNullStreams): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? (signal === null ? 1 : 128), stdout, stderr }));
  });
}

/** The JSON lines of an output, parsed (numbers past 2^53 would lose digits: the tests keep theirs small). */
export const jsonLines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as unknown);

/** Waits for a condition, checking every `intervalMs`, failing with `what` past the deadline. */
export async function eventually<Value>(
  what: string,
  check: () => Promise<Value | undefined>,
  deadlineMs = 60_000,
  intervalMs = 250,
): Promise<Value> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
