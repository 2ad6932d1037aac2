// A standalone containerd for tests: its own root, state and sockets under a short /tmp path, no
// CRI, no /etc/containerd or /opt/containerd, stopped by its PID. `ctr` talks to it over its socket.
import { watchDaemon } from './daemon-child.ts';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type RunOptions, type RunResult } from './clients.ts';
import { makeTempDir, removeTree } from './tmp.ts';

export interface RunningContainerd {
  /** The gRPC socket, for `ctr --address`. */
  socket: string;
  pid: number;
  /** overlayfs when it works here, else native (`CIRRUS_TEST_CONTAINERD_SNAPSHOTTER` forces one). */
  snapshotter: string;
  /** Runs `ctr --address <socket> --namespace <namespace> ...args`, with this containerd's snapshotter. */
  ctr(namespace: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  /** containerd's last log lines. */
  output(): string;
  /** SIGTERM (SIGKILL after 20 s), wait for exit, unmount and remove every dir. Idempotent. */
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 20_000;
const RING_LINES = 300;

export async function startContainerd(): Promise<RunningContainerd> {
  // Short: the socket path must stay under 108 bytes.
  const dir = await makeTempDir('ctrd');
  const paths = {
    config: join(dir, 'config.toml'),
    root: join(dir, 'root'),
    state: join(dir, 'state'),
    opt: join(dir, 'opt'),
    socket: join(dir, 'c.sock'),
    ttrpc: join(dir, 'c.sock.ttrpc'),
  };
  // Every path containerd would otherwise take from the machine is set here. The CRI plugin is
  // off: it would look for CNI and listen for the kubelet.
  await writeFile(
    paths.config,
    [
      'version = 2',
      `root = "${paths.root}"`,
      `state = "${paths.state}"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${paths.socket}"`,
      '[ttrpc]',
      `  address = "${paths.ttrpc}"`,
      '[debug]',
      '  address = ""',
      '  level = "info"',
      '[metrics]',
      '  address = ""',
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${paths.opt}"`,
      '',
    ].join('\n'),
  );
  const child = spawn('containerd', ['--config', paths.config], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const { output, exited, running } = watchDaemon(child, RING_LINES);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      if (running()) {
        child.kill('SIGTERM');
        const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STOP_TIMEOUT_MS).unref());
        if ((await Promise.race([exited, timer])) === 'timeout') {
          child.kill('SIGKILL');
          await exited;
        }
      }
      await removeTree(dir);
    })());

  const ctrWith =
    (snapshotter: string) =>
    (namespace: string, args: string[], opts: RunOptions = {}) =>
      run('ctr', ['--address', paths.socket, '--namespace', namespace, ...args], {
        ...opts,
        env: { ...process.env, CONTAINERD_SNAPSHOTTER: snapshotter, ...opts.env },
      });

  try {
    await waitReady(paths.socket, exited);
    const snapshotter = process.env.CIRRUS_TEST_CONTAINERD_SNAPSHOTTER ?? (await pickSnapshotter(ctrWith('native')));
    return { socket: paths.socket, pid: child.pid!, snapshotter, ctr: ctrWith(snapshotter), output, stop };
  } catch (err) {
    await stop();
    throw new Error(`containerd (pid ${child.pid}): ${(err as Error).message}\n--- containerd output ---\n${output()}`);
  }
}

async function waitReady(socket: string, exited: Promise<void>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    if (gone) throw new Error('exited during startup');
    if (existsSync(socket)) {
      const res = await run('ctr', ['--address', socket, 'version'], { allowFailure: true, timeoutMs: 10_000 });
      if (res.code === 0) return;
      last = res.stderr;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready after ${READY_TIMEOUT_MS} ms: ${last}`);
}

/** overlayfs when its plugin loaded ("ok" in `ctr plugins ls`), else native (plain copies, works anywhere). */
async function pickSnapshotter(ctr: RunningContainerd['ctr']): Promise<string> {
  const plugins = await ctr('default', ['plugins', 'ls']);
  const overlay = plugins.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find(([type, id]) => type === 'io.containerd.snapshotter.v1' && id === 'overlayfs');
  return overlay?.at(-1) === 'ok' ? 'overlayfs' : 'native';
}

