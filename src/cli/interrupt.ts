/**
 * Ctrl-C (or SIGTERM) asks a long-running command to stop: it finishes the batch in hand, then reports. A
 * second Ctrl-C ends the process at once, as a person pressing it twice means.
 */
export function stopOnInterrupt(onStop: () => void = () => undefined): { readonly signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = (): void => {
    if (controller.signal.aborted) {
      process.exit(130);
    }
    controller.abort();
    onStop();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose: () => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
    },
  };
}
