// Real registry clients (skopeo, podman, docker…) for tests: presence checks and an async runner.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Absolute path of `binary` on PATH, or undefined. */
export function findOnPath(binary: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** The reason to show when a client is missing: use it as the skipped suite's or test's name. */
export function missingClientMessage(binary: string, debianPackage: string): string {
  return `${binary} not found on PATH: install the Debian package "${debianPackage}" (apt-get install ${debianPackage})`;
}

/**
 * True when `binary` is on PATH. When it is missing: under CI (process.env.CI set) throws, so a
 * missing client fails the build instead of silently skipping; elsewhere prints why and returns
 * false, for `describe.skipIf(!available)`.
 */
export function requireClient(binary: string, debianPackage: string): boolean {
  if (findOnPath(binary)) return true;
  const message = missingClientMessage(binary, debianPackage);
  if (process.env.CI) throw new Error(`${message} (required under CI)`);
  console.warn(`skipping tests that need ${binary}: ${message}`);
  return false;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as raw bytes, for commands that print binary content (`ctr content get`). */
  stdoutBytes: Buffer;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kill the command (SIGKILL) after this many ms; default 120 000. */
  timeoutMs?: number;
  /** Written to stdin, which is then closed. */
  input?: string | Buffer;
  /** Return non-zero exits instead of throwing. */
  allowFailure?: boolean;
}

/** Runs a command asynchronously; throws with the full output on a non-zero exit or a timeout. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const display = [cmd, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.stdin.end(opts.input);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${display}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(stdout);
      const result = {
        code: code ?? -1,
        stdout: stdoutBytes.toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        stdoutBytes,
      };
      if (!timedOut && (code === 0 || opts.allowFailure)) return resolve(result);
      const why = timedOut ? `timed out after ${timeoutMs} ms` : `exited with ${code ?? signal}`;
      reject(new Error(`${display}\n${why}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`));
    });
  });
}

/**
 * `requireClient` over several clients at once, with the reason to put in a skipped suite's title:
 * `describe.skipIf(!c.available)(\`docker push/pull${c.reason}\`, …)`.
 */
export function requireClients(...clients: Array<[binary: string, debianPackage: string]>): {
  available: boolean;
  reason: string;
} {
  const missing = clients.filter(([binary, debianPackage]) => !requireClient(binary, debianPackage));
  return {
    available: missing.length === 0,
    reason: missing.length ? ` (skipped: ${missing.map(([b, p]) => missingClientMessage(b, p)).join('; ')})` : '',
  };
}
