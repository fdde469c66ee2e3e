import type { Output } from './output.js';

/**
 * Fits a line to the terminal: a line one column too long wraps, and then `\r` redraws only its last part,
 * leaving a trail of half lines. The cut keeps the start, where the figures are.
 */
export function fitToWidth(text: string, columns: number | undefined): string {
  if (columns === undefined || columns <= 1) return text;
  const characters = [...text];
  const room = columns - 1;
  return characters.length <= room ? text : `${characters.slice(0, room - 1).join('')}…`;
}

/**
 * Prints progress on stderr: on a terminal, one line redrawn in place (fitted to its width); otherwise a
 * plain line at most every `intervalMs`. Either way the final state is printed once, however often it is
 * reported.
 */
export function progressPrinter<Progress extends { readonly done: boolean }>(
  stream: Output['progress'],
  render: { readonly terminal: (progress: Progress) => string; readonly plain: (progress: Progress) => string },
  options: { readonly intervalMs?: number; readonly now?: () => number; readonly plainLines?: boolean } = {},
): (progress: Progress) => void {
  const now = options.now ?? Date.now;
  const intervalMs = options.intervalMs ?? 1000;
  let last = Number.NEGATIVE_INFINITY;
  let finished = false;
  return (progress) => {
    if (finished) return;
    finished = progress.done;
    if (stream.isTTY === true) {
      stream.write(`\r\u001b[2K${fitToWidth(render.terminal(progress), stream.columns)}${progress.done ? '\n' : ''}`);
      return;
    }
    if (options.plainLines === false) return;
    if (!progress.done && now() - last < intervalMs) return;
    last = now();
    stream.write(`${render.plain(progress)}\n`);
  };
}
