import type { RebuildProgress } from './rebuilder.js';

const BAR_WIDTH = 24;

/** One line for a terminal, redrawn in place: a bar, items, speed, time left, and each segment's state. */
export function progressBar(progress: RebuildProgress): string {
  const total = progress.approximateTotal;
  const ratio = progress.done ? 1 : total === undefined || total === 0 ? undefined : Math.min(1, progress.readInAll / total);
  const filled = ratio === undefined ? 0 : Math.round(ratio * BAR_WIDTH);
  const bar = ratio === undefined ? '·'.repeat(BAR_WIDTH) : `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
  const percent = ratio === undefined ? '  ?%' : `${String(Math.round(ratio * 100)).padStart(3)}%`;
  return `${progress.projection} [${bar}] ${percent} ${summary(progress)} | ${segments(progress)}`;
}

/** One line a report, for logs and pipes. */
export function progressLine(progress: RebuildProgress): string {
  return `rebuild ${progress.generation}: ${summary(progress)}; segments ${segments(progress)}${progress.done ? '; done' : ''}`;
}

function summary(progress: RebuildProgress): string {
  const total = progress.approximateTotal === undefined ? '' : ` of ~${progress.approximateTotal}`;
  const eta = progress.done ? '' : progress.etaMs === undefined ? ', time left unknown' : `, ~${formatDuration(progress.etaMs)} left`;
  const resumed = progress.resumed ? ` (${progress.readThisRun} this run)` : '';
  return `${progress.readInAll}${total} items${resumed}, ${Math.round(progress.itemsPerSecond)}/s${eta}`;
}

function segments(progress: RebuildProgress): string {
  return progress.segments.map((segment, index) => `${index}:${segment.done ? 'done' : segment.read}`).join(' ');
}

export function formatDuration(milliseconds: number): string {
  const seconds = Math.ceil(milliseconds / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  return minutes < 60 ? `${minutes} min ${seconds % 60} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * Reports progress on a stream: a bar redrawn in place on a terminal, plain lines (at most one per
 * `intervalMs`, and the last) otherwise.
 */
export function progressReporter(
  stream: { isTTY?: boolean; write(text: string): unknown },
  intervalMs = 1000,
  now: () => number = Date.now,
): (progress: RebuildProgress) => void {
  let last = Number.NEGATIVE_INFINITY;
  return (progress) => {
    if (stream.isTTY === true) {
      stream.write(`\r\u001b[2K${progressBar(progress)}${progress.done ? '\n' : ''}`);
      return;
    }
    if (!progress.done && now() - last < intervalMs) return;
    last = now();
    stream.write(`${progressLine(progress)}\n`);
  };
}
