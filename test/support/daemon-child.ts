// A long-running child process of a test (containerd, dockerd): its last output lines kept for
// error messages, both pipes drained for its whole life (a full pipe would block it), and a
// SIGKILL when the test worker exits, so a crashed test file leaks no daemon.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface WatchedChild {
  output(): string;
  exited: Promise<void>;
  running(): boolean;
}

export function watchDaemon(child: ChildProcess, ringLines = 300): WatchedChild {
  const ring: string[] = [];
  const remember = (line: string) => {
    ring.push(line);
    if (ring.length > ringLines) ring.shift();
  };
  createInterface({ input: child.stdout! }).on('line', remember);
  createInterface({ input: child.stderr! }).on('line', remember);
  child.on('error', (err) => remember(`spawn error: ${err.message}`));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  live.add(child);
  void exited.then(() => live.delete(child));
  return {
    output: () => ring.join('\n'),
    exited,
    running: () => child.exitCode === null && child.signalCode === null,
  };
}
