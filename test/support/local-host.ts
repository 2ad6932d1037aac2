// Registries as child processes for end-to-end tests: the Cirrus local host, and Distribution
// (Debian's docker-registry) as a reference to validate tests against and to benchmark beside.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { buildLocalHost, LOCAL_HOST_ENV, LOCAL_HOST_NODE_FLAGS } from '../../bin/build-local-host.ts';
import { hostBackendEnv } from './test-stores.ts';
import { makeTempDir, removeTree } from './tmp.ts';

export interface RunningRegistry {
  /** http://127.0.0.1:PORT */
  url: string;
  /** 127.0.0.1:PORT, for image references. */
  hostPort: string;
  port: number;
  pid: number;
  dataDir: string;
  /** The child's last output lines (stdout and stderr), for error messages. */
  output(): string;
  /**
   * SIGTERM, wait for exit (SIGKILL after 10 s), then delete the data dir if this call created it.
   * Idempotent. Rejects, with the child's output, when the child had exited on its own before.
   */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit; the data dir is kept (restart over it with `dataDir`), `stop()` still cleans up. */
  kill9(): Promise<void>;
  /** How the child ended (exit code or signal); undefined while it runs. */
  exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const RING_LINES = 400;
const DISTRIBUTION_BINARY = '/usr/bin/docker-registry';

/** Which registry the end-to-end tests run against: `CIRRUS_TEST_TARGET=distribution` or Cirrus (default). */
export function testTarget(): 'cirrus' | 'distribution' {
  return process.env.CIRRUS_TEST_TARGET === 'distribution' ? 'distribution' : 'cirrus';
}

/** Starts the registry the tests target (see `testTarget`). */
export function startTargetRegistry(opts: { env?: Record<string, string>; dataDir?: string } = {}) {
  return testTarget() === 'distribution' ? startDistribution({ dataDir: opts.dataDir }) : startLocalHost(opts);
}

/** The bundle `npm start` runs, built once per process (the build renames files into place, so workers may race). */
let bundle: string | undefined;

/**
 * Starts the local host as `npm start` runs it (its bundle, rebuilt from the sources once per
 * process; or a `.ts` entry under tsx) on a free loopback port, auth off, and waits for its
 * `{"event":"listening","url":…}` line on stdout. Its store is the tests' backend (from
 * CIRRUS_TEST_BACKEND: embedded, or on aws-rgw CIRRUS_BACKEND=aws over a table and a bucket named
 * after its data dir on the run's dynalite and RGW: see hostBackendEnv) unless `env` names another.
 */
export async function startLocalHost(
  opts: { env?: Record<string, string>; dataDir?: string; /** default: the bundle of bin/local-host.ts */ entry?: string } = {},
): Promise<RunningRegistry> {
  const ownDir = opts.dataDir ? undefined : await makeTempDir('host');
  const dataDir = opts.dataDir ?? ownDir!;
  const entry = opts.entry ?? (bundle ??= buildLocalHost());
  const args = entry.endsWith('.ts') ? ['--import', 'tsx', entry] : [...LOCAL_HOST_NODE_FLAGS, entry];
  const backendEnv = opts.env?.CIRRUS_BACKEND ? {} : await hostBackendEnv(dataDir);
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ...LOCAL_HOST_ENV,
      HOST: '127.0.0.1',
      PORT: '0',
      CIRRUS_DATA_DIR: dataDir,
      CIRRUS_AUTH: 'off',
      ...backendEnv,
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = track(child, 'cirrus local host');
  try {
    const url = await proc.waitFor((resolve) => {
      proc.onStdoutLine((line) => {
        const event = parseJsonLine(line);
        if (event?.event === 'listening' && typeof event.url === 'string') resolve(event.url);
      });
    });
    return proc.registry(url, dataDir, ownDir);
  } catch (err) {
    await proc.kill('SIGKILL');
    if (ownDir) await removeTree(ownDir);
    throw err;
  }
}

/** Starts Distribution 2.x (`docker-registry serve`) with filesystem storage on a free loopback port. */
export async function startDistribution(opts: { dataDir?: string; logLevel?: string } = {}): Promise<RunningRegistry> {
  const ownDir = await makeTempDir('dist');
  const dataDir = opts.dataDir ?? join(ownDir, 'data');
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const config = join(ownDir, 'config.yml');
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      `  level: ${opts.logLevel ?? 'warn'}`,
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${dataDir}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '',
    ].join('\n'),
  );
  const child = spawn(DISTRIBUTION_BINARY, ['serve', config], { cwd: ownDir, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = track(child, 'docker-registry');
  const url = `http://127.0.0.1:${port}`;
  try {
    await proc.waitFor(async (resolve) => {
      while (proc.running()) {
        try {
          const res = await fetch(`${url}/v2/`);
          if (res.status === 200) return resolve(url);
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    });
    // The data dir is removed with ownDir only when it lives inside it.
    return proc.registry(url, dataDir, ownDir);
  } catch (err) {
    await proc.kill('SIGKILL');
    await removeTree(ownDir);
    throw err;
  }
}

/** A free TCP port on 127.0.0.1 (bound, read, released: another process could still take it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function parseJsonLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Every child still running when this worker exits is killed, so a crashed test file leaks nothing. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

function track(child: ChildProcess, name: string) {
  live.add(child);
  const ring: string[] = [];
  const stdoutListeners: Array<(line: string) => void> = [];
  const remember = (stream: string) => (line: string) => {
    ring.push(`[${stream}] ${line}`);
    if (ring.length > RING_LINES) ring.shift();
  };
  // Both pipes are read for the child's whole life: a full pipe would block it.
  createInterface({ input: child.stdout! }).on('line', (line) => {
    remember('stdout')(line);
    for (const listener of stdoutListeners) listener(line);
  });
  createInterface({ input: child.stderr! }).on('line', remember('stderr'));
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  void exited.then(() => live.delete(child));
  const running = () => child.exitCode === null && child.signalCode === null && !spawnError;
  const output = () => ring.join('\n');
  const howItEnded = () => {
    const signal = child.signalCode;
    // This harness only signals its own children, so a signal it did not send came from elsewhere.
    if (signal && !killedByUs) return `was killed by ${signal}, sent by another process (not this test harness)`;
    return `exited with ${child.exitCode ?? signal}`;
  };

  let killedByUs = false;
  async function kill(signal: NodeJS.Signals, graceMs = STOP_TIMEOUT_MS): Promise<void> {
    if (!running()) return exited;
    killedByUs = true;
    child.kill(signal);
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([exited, timer])) === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  }

  return {
    running,
    kill,
    onStdoutLine: (listener: (line: string) => void) => stdoutListeners.push(listener),
    /** Resolves with what `start` reports; rejects when the child exits first or after the timeout. */
    waitFor(start: (resolve: (url: string) => void) => void): Promise<string> {
      return new Promise<string>((resolve, reject) => {
        const fail = (why: string) =>
          reject(new Error(`${name} (pid ${child.pid}) ${why}\n--- output ---\n${output()}`));
        const timer = setTimeout(() => fail(`not ready after ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
        void exited.then(() => {
          clearTimeout(timer);
          fail(spawnError ? `failed to start: ${spawnError.message}` : `${howItEnded()} before it was ready`);
        });
        start((url) => {
          clearTimeout(timer);
          resolve(url);
        });
      });
    },
    registry(url: string, dataDir: string, ownDir: string | undefined): RunningRegistry {
      const port = Number(new URL(url).port);
      let stopped: Promise<void> | undefined;
      return {
        url,
        hostPort: `127.0.0.1:${port}`,
        port,
        pid: child.pid!,
        dataDir,
        output,
        stop: () =>
          (stopped ??= (async () => {
            const crashed = !running() && !killedByUs;
            await kill('SIGTERM');
            if (ownDir) await removeTree(ownDir);
            // A registry that died under the tests must fail them, with its last words.
            if (crashed) {
              throw new Error(
                `${name} (pid ${child.pid}) ${howItEnded()} during the tests, before stop()\n--- output ---\n${output()}`,
              );
            }
          })()),
        kill9: () => kill('SIGKILL'),
        exitStatus: () => (running() ? undefined : { code: child.exitCode, signal: child.signalCode }),
      };
    },
  };
}
