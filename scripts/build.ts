// `npm run build` (and `prepack`): the published `dist`. tsc writes the ES modules and their declarations;
// esbuild writes a CommonJS copy of the library beside them (dist/cjs), for CDK apps and tools that `require`.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const CJS = join(DIST, 'cjs');
/** The CLI runs as ES modules from `bin/`: no CommonJS copy. */
const ESM_ONLY = `src${sep}cli${sep}`;
/** Oldest Node.js the package supports (package.json `engines`). */
const CJS_TARGET = 'node20';

function compileEsm(): void {
  rmSync(DIST, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit', cwd: ROOT });
}

function filesUnder(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(directory, entry.name)) : [join(directory, entry.name)],
  );
}

/**
 * Each compiled module again, from its TypeScript source, as CommonJS. A file that finds its neighbours
 * through `import.meta.url` (the CDK construct locating the Lambda entry) gets the URL of its ES module
 * twin, so a CommonJS CDK app still bundles the Lambda function from ES modules (tree-shaken, as small as
 * from an ESM app). The declarations are copied: under dist/cjs/package.json they describe CommonJS.
 */
async function writeCommonJs(): Promise<number> {
  const compiled = filesUnder(DIST).filter((file) => file.endsWith('.js') && !relative(DIST, file).startsWith(ESM_ONLY));
  for (const esmFile of compiled) {
    const path = relative(DIST, esmFile);
    const source = join(ROOT, path.replace(/\.js$/, '.ts'));
    const target = join(CJS, path);
    const code = readFileSync(source, 'utf8');
    const usesOwnUrl = code.includes('import.meta.url');
    const twin = relative(dirname(target), esmFile).split(sep).join('/');
    const result = await transform(code, {
      loader: 'ts',
      format: 'cjs',
      platform: 'node',
      target: CJS_TARGET,
      sourcemap: 'external',
      sourcefile: relative(dirname(target), source).split(sep).join('/'),
      ...(usesOwnUrl
        ? {
            define: { 'import.meta.url': '__streamfoldEsmUrl' },
            banner: `const __streamfoldEsmUrl = require('node:url').pathToFileURL(require('node:path').join(__dirname, ${JSON.stringify(twin)})).href;`,
          }
        : {}),
    });
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, `${result.code}//# sourceMappingURL=${join(path).split(sep).pop()}.map\n`);
    writeFileSync(`${target}.map`, result.map);
    copyFileSync(esmFile.replace(/\.js$/, '.d.ts'), target.replace(/\.js$/, '.d.ts'));
  }
  writeFileSync(join(CJS, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
  return compiled.length;
}

compileEsm();
const count = await writeCommonJs();
console.log(`dist: ES modules and declarations by tsc, ${count} CommonJS modules in dist/cjs`);
