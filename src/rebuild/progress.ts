import type { SegmentState } from './ports.js';
import type { RebuildProgress } from './rebuilder.js';

/** Items its shares have read in all, over every run. */
export const readOf = (segments: readonly SegmentState[]): number => segments.reduce((total, segment) => total + segment.read, 0);

/** Where a rebuild stands, from its shares' saved states: what the local rebuild and `--in-aws` both show. */
export function progressOf(options: {
  readonly projection: string;
  readonly generation: string;
  readonly segments: readonly SegmentState[];
  readonly readThisRun: number;
  readonly elapsedMs: number;
  readonly approximateTotal: number | undefined;
  readonly resumed: boolean;
}): RebuildProgress {
  const elapsedMs = Math.max(1, options.elapsedMs);
  const itemsPerSecond = (options.readThisRun * 1000) / elapsedMs;
  const readInAll = readOf(options.segments);
  const left = options.approximateTotal === undefined ? undefined : Math.max(0, options.approximateTotal - readInAll);
  return {
    projection: options.projection,
    generation: options.generation,
    segments: [...options.segments],
    readThisRun: options.readThisRun,
    readInAll,
    itemsPerSecond,
    elapsedMs,
    approximateTotal: options.approximateTotal,
    etaMs: left === undefined || itemsPerSecond === 0 ? undefined : (left / itemsPerSecond) * 1000,
    resumed: options.resumed,
    done: options.segments.every((segment) => segment.done),
  };
}

/** What a rebuild's items came to over every run, from its shares' saved counts. */
export interface RebuildOutcome {
  readonly applied: number;
  readonly parked: number;
  readonly skipped: number;
  /**
   * Items read that were neither applied, parked nor already applied: events of an event log that wait in
   * their stream's checkpoint behind a version the table does not hold (or not yet). `streamfold gaps` lists them.
   */
  readonly held: number;
}

export function outcomeOf(segments: readonly SegmentState[]): RebuildOutcome {
  const total = (field: 'applied' | 'parked' | 'skipped' | 'held'): number => segments.reduce((sum, segment) => sum + (segment[field] ?? 0), 0);
  // An event held by one page and applied by a later one (its gap filled), of any share, is counted off again.
  // A share saved before shares kept counts says nothing of what it read then.
  return { applied: total('applied'), parked: total('parked'), skipped: total('skipped'), held: Math.max(0, total('held')) };
}

const BAR_WIDTH = 24;

/** One line for a terminal, redrawn in place: a bar, items, speed, time left, and each segment's state. */
export function progressBar(progress: RebuildProgress): string {
  const total = progress.approximateTotal;
  const ratio = progress.done ? 1 : total === undefined || total === 0 ? undefined : Math.min(1, progress.readInAll / total);
  const filled = ratio === undefined ? 0 : Math.round(ratio * BAR_WIDTH);
  const bar = ratio === undefined ? '·'.repeat(BAR_WIDTH) : `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`;
  const percent = ratio === undefined ? '  ?%' : `${String(Math.round(ratio * 100)).padStart(3)}%`;
  return `${progress.projection} [${bar}] ${percent} ${summary(progress)} | ${segments(progress, false)}`;
}

/** One line a report, for logs and pipes. */
export function progressLine(progress: RebuildProgress): string {
  return `rebuild ${progress.generation}: ${summary(progress)}; ${segments(progress, true)}${progress.done ? '; done' : ''}`;
}

function summary(progress: RebuildProgress): string {
  const total = progress.approximateTotal === undefined ? '' : ` of ~${progress.approximateTotal}`;
  const eta = progress.done ? '' : progress.etaMs === undefined ? ', time left unknown' : `, ~${formatDuration(progress.etaMs)} left`;
  const resumed = progress.resumed ? ` (${progress.readThisRun} this run)` : '';
  return `${progress.readInAll}${total} items${resumed}, ${Math.round(progress.itemsPerSecond)}/s${eta}`;
}

/** Scan segments one by one; export files (often hundreds) as a count, with those being read. */
function segments(progress: RebuildProgress, labelled: boolean): string {
  if (!progress.segments.some((segment) => segment.name !== undefined)) {
    return `${labelled ? 'segments ' : ''}${progress.segments.map((segment, index) => `${index}:${segment.done ? 'done' : segment.read}`).join(' ')}`;
  }
  const done = progress.segments.filter((segment) => segment.done).length;
  const reading = progress.segments.filter((segment) => !segment.done && segment.read > 0);
  const files = reading.map((segment) => `${segment.name ?? '?'} ${segment.read}/${segment.items ?? '?'}`).join(', ');
  return `files ${done}/${progress.segments.length} done${files === '' ? '' : `, reading ${files}`}`;
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
