#!/usr/bin/env node
// Runs the TypeScript sources (through tsx) in a checkout, and the compiled CLI in the package, which ships
// no sources: a checkout's `dist` may be older than its sources.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
if (existsSync(source)) {
  const { register } = await import('tsx/esm/api');
  register();
  const { run } = await import(source.href);
  process.exitCode = await run(process.argv);
} else {
  const { run } = await import(new URL('../dist/src/cli/main.js', import.meta.url).href);
  process.exitCode = await run(process.argv);
}
