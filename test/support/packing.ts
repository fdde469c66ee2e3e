import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Packing the project and installing the tarball as a user would, with no network: npm installs from the
 * cache that the project's own `npm ci` filled, following a lockfile made from the project's lockfile (so
 * every package is the version this repository tests, and npm needs only tarballs it already has).
 */
const ROOT = join(import.meta.dirname, '../..');
const execute = promisify(execFile);

/** What the build reads: the package's own files and its build inputs, nothing else. */
const BUILD_INPUTS = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'bin', 'src', 'adapters', 'deploy', 'scripts'];

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; a non-zero exit is an answer, not an exception. */
export async function command(file: string, args: readonly string[], options: { cwd: string; env?: Record<string, string> }): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await execute(file, [...args], {
      cwd: options.cwd,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...options.env },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string; message: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? failed.message };
  }
}

async function mustRun(file: string, args: readonly string[], options: { cwd: string; env?: Record<string, string> }): Promise<string> {
  const result = await command(file, args, options);
  if (result.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/**
 * `npm pack` of a copy of the project (its build writes `dist`, which this checkout's other tests must not
 * see half-written), with the checkout's node_modules. Answers the tarball's path.
 */
export async function packProject(directory: string): Promise<string> {
  const source = join(directory, 'source');
  for (const input of BUILD_INPUTS) cpSync(join(ROOT, input), join(source, input), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
  const output = await mustRun('npm', ['pack', '--pack-destination', directory, '--json'], { cwd: source });
  const [packed] = JSON.parse(output.slice(output.indexOf('['))) as { filename: string }[];
  if (packed === undefined) throw new Error(`npm pack answered no tarball:\n${output}`);
  return join(directory, packed.filename);
}

interface LockEntry {
  name?: string;
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [field: string]: unknown;
}

const projectLock = (): Record<string, LockEntry> =>
  (JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }).packages;

/** Where Node.js finds `name` from the package at `from`: its own node_modules, then its parents'. */
function resolveIn(lock: Record<string, LockEntry>, from: string, name: string): string | undefined {
  for (let base = from; ; ) {
    const candidate = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
    if (lock[candidate] !== undefined) return candidate;
    if (base === '') return undefined;
    const parent = base.lastIndexOf('/node_modules/');
    base = parent < 0 ? '' : base.slice(0, parent);
  }
}

/** A package to install at the top of the user's project: `name`, as the project's lockfile holds it at `lockPath`. */
export interface Wanted {
  readonly name: string;
  readonly lockPath?: string;
}

/**
 * Writes a user's project: package.json and a lockfile with the tarball and the wanted packages (each as the
 * project's lockfile has it; an npm alias there, such as `zod-oldest-supported`, installs under its real
 * name) with everything they depend on. Then installs it offline.
 */
export async function installProject(
  directory: string,
  options: { tarball: string; type: 'module' | 'commonjs'; wanted: readonly Wanted[] },
): Promise<void> {
  mkdirSync(directory, { recursive: true });
  const lock = projectLock();
  const packages: Record<string, LockEntry> = {};
  const add = (from: string, to: string): void => {
    if (packages[to] !== undefined) return;
    const entry: LockEntry = { ...lock[from] };
    for (const flag of ['dev', 'devOptional', 'peer', 'name']) delete entry[flag];
    packages[to] = entry;
    const peers = Object.keys(entry.peerDependencies ?? {}).filter((peer) => entry.peerDependenciesMeta?.[peer]?.optional !== true);
    for (const dependency of [...Object.keys({ ...entry.dependencies, ...entry.optionalDependencies }), ...peers]) {
      const found = resolveIn(lock, from, dependency);
      // A nested dependency moves with its parent; a hoisted one stays at the top.
      if (found !== undefined) add(found, found.startsWith(`${from}/`) ? `${to}${found.slice(from.length)}` : found);
    }
  };
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  const dependencies: Record<string, string> = { streamfold: `file:${options.tarball}` };
  for (const name of Object.keys(manifest.dependencies)) add(`node_modules/${name}`, `node_modules/${name}`);
  for (const wanted of options.wanted) {
    const from = wanted.lockPath ?? `node_modules/${wanted.name}`;
    const version = lock[from]?.version;
    if (version === undefined) throw new Error(`the project's lockfile has no ${from}`);
    add(from, `node_modules/${wanted.name}`);
    dependencies[wanted.name] = version;
  }
  const packed = JSON.parse(
    await mustRun('tar', ['-xzOf', options.tarball, 'package/package.json'], { cwd: directory }),
  ) as LockEntry & { bin?: unknown; peerDependencies?: unknown; peerDependenciesMeta?: unknown; engines?: unknown };
  packages['node_modules/streamfold'] = {
    version: packed.version,
    resolved: `file:${options.tarball}`,
    integrity: `sha512-${createHash('sha512').update(readFileSync(options.tarball)).digest('base64')}`,
    dependencies: packed.dependencies,
    peerDependencies: packed.peerDependencies,
    peerDependenciesMeta: packed.peerDependenciesMeta,
    bin: packed.bin,
    engines: packed.engines,
  };
  const root = { name: `streamfold-${options.type}-user`, version: '1.0.0', private: true, type: options.type, dependencies };
  writeFileSync(join(directory, 'package.json'), `${JSON.stringify(root, null, 2)}\n`);
  const lockRoot = { name: root.name, version: root.version, dependencies };
  const lockfile = { name: root.name, version: root.version, lockfileVersion: 3, requires: true, packages: { '': lockRoot, ...packages } };
  writeFileSync(join(directory, 'package-lock.json'), `${JSON.stringify(lockfile, null, 2)}\n`);
  // --ignore-scripts: nothing here needs one (esbuild runs from its platform package), as in the project.
  await mustRun('npm', ['ci', '--offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: directory });
}

/** The project's TypeScript compiler, run in the user's project. */
export function typescript(directory: string, args: readonly string[]): Promise<CommandResult> {
  return command(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), ...args], { cwd: directory });
}
