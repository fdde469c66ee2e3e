import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The library's own modules, as text: what imports what, and how long each is. */
const ROOT = join(import.meta.dirname, '../..');
const LIBRARY = ['src', 'adapters'];

function modules(): { path: string; text: string }[] {
  const found: { path: string; text: string }[] = [];
  const walk = (directory: string): void => {
    for (const entry of readdirSync(join(ROOT, directory), { withFileTypes: true })) {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) found.push({ path, text: readFileSync(join(ROOT, path), 'utf8') });
    }
  };
  for (const directory of LIBRARY) walk(directory);
  return found;
}

const IMPORT = /(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g;

function importsOf(module: { path: string; text: string }): string[] {
  return [...module.text.matchAll(IMPORT)].map((match) => match[1] as string);
}

/** Folder → folders it imports from (relative imports only). */
function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const module of modules()) {
    const from = dirname(module.path);
    for (const specifier of importsOf(module).filter((spec) => spec.startsWith('.'))) {
      const to = dirname(normalize(join(from, specifier)));
      if (to === from) continue;
      let edges = graph.get(from);
      if (edges === undefined) graph.set(from, (edges = new Set()));
      edges.add(to);
    }
  }
  return graph;
}

function cycles(graph: Map<string, Set<string>>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'visiting');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'visiting') found.push([...path.slice(path.indexOf(next)), next]);
      else if (state.get(next) === undefined) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (state.get(node) === undefined) visit(node);
  return found;
}

describe('the library\'s shape', () => {
  it('has no import cycle between folders', () => {
    expect(cycles(folderGraph())).toEqual([]);
  });

  it('keeps event logs on top of projections, never the reverse', () => {
    const reverse = modules().filter((module) => module.path.startsWith('src/projection/') && importsOf(module).some((spec) => spec.includes('eventlog/')));
    expect(reverse.map((module) => module.path)).toEqual([]);
  });

  it('keeps AWS clients out of the engine: only adapters, the composition root and the CLI reach them', () => {
    const engine = ['src/projection/', 'src/eventlog/', 'src/records/', 'src/consumer/', 'src/rebuild/', 'src/fanout/', 'src/core/', 'src/catalog/'];
    const offenders = modules()
      .filter((module) => engine.some((folder) => module.path.startsWith(folder)))
      .filter((module) => importsOf(module).some((spec) => spec.startsWith('@aws-sdk/') || spec.includes('adapters/')));
    expect(offenders.map((module) => module.path)).toEqual([]);
  });

  it('keeps every module small: none over 300 lines', () => {
    const long = modules()
      .map((module) => ({ path: module.path, lines: module.text.split('\n').length }))
      .filter((module) => module.lines > 300);
    expect(long).toEqual([]);
  });

  it('imports inversify at the composition root only', () => {
    const users = modules().filter((module) => importsOf(module).includes('inversify'));
    expect(users.map((module) => relative('src', module.path)).sort()).toEqual(['container.ts', 'tokens.ts']);
  });
});
