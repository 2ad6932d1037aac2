// Cleanup registry and abort handling. Every process and temp dir the benchmark creates registers
// an undo action here; they run in reverse order when the run ends, fails or is interrupted.
// On SIGINT/SIGTERM/SIGHUP the run is aborted: running tools are killed (exec() listens to
// `aborted`), the main flow stops at its next step, cleans up and exits; if it has not finished
// within 30 s, the cleanup runs from here and the process exits anyway.
type Action = { name: string; fn: () => Promise<void> | void };

const actions: Action[] = [];
let running: Promise<void> | undefined;
const controller = new AbortController();

/** Aborted when the benchmark is interrupted by a signal. */
export const aborted: AbortSignal = controller.signal;

export function throwIfAborted(): void {
  if (aborted.aborted) throw new Error(`interrupted by ${String(aborted.reason)}`);
}

/** Registers an undo action; returns a function that runs it now (once) and unregisters it. */
export function onCleanup(name: string, fn: () => Promise<void> | void): () => Promise<void> {
  const action: Action = { name, fn };
  actions.push(action);
  return async () => {
    const i = actions.indexOf(action);
    if (i < 0) return;
    actions.splice(i, 1);
    await action.fn();
  };
}

export function cleanupAll(): Promise<void> {
  running ??= (async () => {
    while (actions.length > 0) {
      const a = actions.pop()!;
      try {
        await a.fn();
      } catch (err) {
        process.stderr.write(`cleanup ${a.name} failed: ${(err as Error).message}\n`);
      }
    }
  })();
  return running;
}

export const SIGNAL_EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

export function installSignalHandlers(): void {
  for (const [sig, code] of Object.entries(SIGNAL_EXIT_CODES)) {
    process.on(sig as NodeJS.Signals, () => {
      if (aborted.aborted) return;
      process.stderr.write(`\n[bench] ${sig}: stopping, cleaning up...\n`);
      controller.abort(sig);
      setTimeout(() => void cleanupAll().finally(() => process.exit(code)), 30_000).unref();
    });
  }
}
