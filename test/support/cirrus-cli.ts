// The `cirrus` CLI as a user runs it (the package bin, on the project's Node), over a data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './local-host.ts';

export interface CliRun {
  child: ChildProcess;
  /** When the process has ended: its exit code or signal and everything it printed. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

export function spawnCirrus(dataDir: string, args: string[], options: { stdin?: string } = {}): CliRun {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'cirrus.mjs'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, CIRRUS_DATA_DIR: dataDir, CIRRUS_BACKEND: 'embedded' },
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.stdin !== undefined) child.stdin!.end(options.stdin);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}
