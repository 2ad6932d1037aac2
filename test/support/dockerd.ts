// A private dockerd (and the containerd it manages) for tests: its own data root, exec root and
// socket under a short /tmp path, no networking of its own, stopped by its PID.
import { watchDaemon } from './daemon-child.ts';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './clients.ts';
import { makeTempDir, removeTree } from './tmp.ts';

export interface RunningDockerd {
  /** unix:///…/docker.sock, for DOCKER_HOST. */
  host: string;
  /** The managed containerd's socket, for `ctr -a`. Its namespace for docker's images is "moby". */
  containerdSocket: string;
  pid: number;
  storageDriver: string;
  /** Environment for the docker CLI: DOCKER_HOST and a private DOCKER_CONFIG. */
  env: NodeJS.ProcessEnv;
  /** dockerd's last log lines. */
  output(): string;
  /** SIGTERM dockerd (SIGKILL after 20 s), kill its containerd if it outlived it, remove every dir. Idempotent. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;
const RING_LINES = 300;
const STORAGE_DRIVERS = ['overlay2', 'vfs'] as const;

/**
 * Starts dockerd with overlay2, falling back to vfs when overlay2 cannot run here
 * (`CIRRUS_TEST_DOCKER_STORAGE_DRIVER` forces one).
 */
export async function startDockerd(): Promise<RunningDockerd> {
  const failures: string[] = [];
  const forced = process.env.CIRRUS_TEST_DOCKER_STORAGE_DRIVER;
  for (const driver of forced ? [forced] : STORAGE_DRIVERS) {
    try {
      return await startWithDriver(driver);
    } catch (err) {
      failures.push(`${driver}: ${(err as Error).message}`);
    }
  }
  throw new Error(`dockerd did not start with any storage driver\n${failures.join('\n\n')}`);
}

async function startWithDriver(storageDriver: string): Promise<RunningDockerd> {
  const root = await makeTempDir('dk');
  const paths = {
    data: join(root, 'data'),
    exec: join(root, 'exec'),
    pidfile: join(root, 'docker.pid'),
    socket: join(root, 'docker.sock'),
    config: join(root, 'daemon.json'),
    cli: join(root, 'cli'),
  };
  // An empty daemon.json keeps /etc/docker/daemon.json out of the test.
  await writeFile(paths.config, '{}');
  const child = spawn(
    'dockerd',
    [
      '--config-file', paths.config,
      '--data-root', paths.data,
      '--exec-root', paths.exec,
      '--pidfile', paths.pidfile,
      '-H', `unix://${paths.socket}`,
      '--storage-driver', storageDriver,
      '--iptables=false',
      '--ip6tables=false',
      '--bridge=none',
      '--userland-proxy=false',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const { output, exited } = watchDaemon(child, RING_LINES);
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `unix://${paths.socket}`, DOCKER_CONFIG: paths.cli };

  const managedContainerdPid = async (): Promise<number | undefined> => {
    try {
      return Number((await readFile(join(paths.exec, 'containerd', 'containerd.pid'), 'utf8')).trim()) || undefined;
    } catch {
      return undefined;
    }
  };
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      const containerdPid = await managedContainerdPid();
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_TIMEOUT_MS).unref());
        if ((await Promise.race([exited, timer])) === 'timeout') {
          child.kill('SIGKILL');
          await exited;
        }
      }
      // dockerd stops its containerd on a clean exit; after a SIGKILL the containerd is orphaned.
      if (containerdPid && (await isProcessOf(containerdPid, 'containerd'))) {
        process.kill(containerdPid, 'SIGKILL');
        await waitGone(containerdPid);
      }
      await removeTree(root);
    })());

  try {
    await waitReady(env, exited);
    const containerdSocket = join(paths.exec, 'containerd', 'containerd.sock');
    if (!existsSync(containerdSocket)) {
      throw new Error(`dockerd did not start a managed containerd at ${containerdSocket} (is a system containerd running?)`);
    }
    return { host: env.DOCKER_HOST!, containerdSocket, pid: child.pid!, storageDriver, env, output, stop };
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- dockerd output ---\n${output()}`);
  }
}

async function waitReady(env: NodeJS.ProcessEnv, exited: Promise<void>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    if (gone) throw new Error('dockerd exited during startup');
    const res = await run('docker', ['version', '--format', '{{.Server.Version}}'], { env, allowFailure: true, timeoutMs: 10_000 });
    if (res.code === 0) return;
    last = res.stderr;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`dockerd not ready after ${READY_TIMEOUT_MS} ms: ${last}`);
}

async function isProcessOf(pid: number, name: string): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/comm`, 'utf8')).trim() === name;
  } catch {
    return false;
  }
}

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 100 && existsSync(`/proc/${pid}`); i++) await new Promise((r) => setTimeout(r, 50));
}

