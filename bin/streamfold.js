#!/usr/bin/env node
// Runs the compiled CLI when the package is built, and the TypeScript sources (through tsx) in a checkout.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
if (existsSync(compiled)) {
  const { run } = await import(compiled.href);
  process.exitCode = await run(process.argv);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  const { run } = await import(new URL('../src/cli/main.ts', import.meta.url).href);
  process.exitCode = await run(process.argv);
}
