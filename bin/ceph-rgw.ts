/**
 * A throwaway single-node Ceph cluster serving S3 through the RADOS Gateway, on 127.0.0.1 under
 * one temp directory: one monitor, one OSD on memstore (bytes in the OSD's RAM), one radosgw, no
 * manager, no auth between daemons, pools of size 1. For the AWS adapters' tests and for running
 * the local host with CIRRUS_BACKEND=aws against a store that behaves as S3 does (s3rver does not:
 * see test/support/aws-local.ts). Needs Debian's ceph-mon ceph-osd radosgw ceph-common; runs as
 * root, without systemd.
 *
 * The daemons run in the foreground as children of this process and are stopped by their PIDs.
 * A watchdog child holds their PIDs too: if this process dies (even by SIGKILL) the pipe to the
 * watchdog's stdin closes, and it kills the daemons and removes the directory.
 *
 * Boot order: monmap, mon mkfs, mon; `osd new` with a uuid, then osd mkfs with that uuid and
 * `osd crush add` in parallel, osd; radosgw and the S3 user in parallel. With
 * `paxos propose interval = 0.01` it is ready in about 2.5 s here (13 s without).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { openSync, closeSync, accessSync, constants } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Debian packages that hold the binaries the cluster needs. */
export const CEPH_PACKAGES = ['ceph-mon', 'ceph-osd', 'radosgw', 'ceph-common'] as const;
const BINARIES = ['monmaptool', 'ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph'] as const;

export interface RgwCluster {
  /** http://127.0.0.1:PORT (path-style S3). */
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  dir: string;
  /** mon, osd, radosgw. */
  pids: number[];
  /** Milliseconds from the first command to radosgw answering with the user made. */
  startMs: number;
  /** Resident memory of the three daemons, in bytes (from /proc). */
  rss(): Promise<number>;
  /** Kills the daemons by PID, waits for them, removes the directory. Idempotent. */
  stop(): Promise<void>;
}

export interface RgwOptions {
  /** Bytes the memstore OSD may hold (RAM, used only as written). Default 8 GiB. */
  memstoreBytes?: number;
  /** RGW's multipart part minimum (`rgw multipart min part size`); default S3's 5 MiB. */
  minPartSize?: number;
  accessKeyId?: string;
  secretAccessKey?: string;
}

/** Binaries missing from PATH, with the packages to install; empty when all are there. */
export function missingCephBinaries(): string[] {
  return BINARIES.filter((binary) => !onPath(binary));
}

export function missingCephMessage(missing: readonly string[]): string {
  return `${missing.join(', ')} not found on PATH: install the Debian packages ${CEPH_PACKAGES.join(' ')} (apt-get install --no-install-recommends ${CEPH_PACKAGES.join(' ')})`;
}

export async function startRgwCluster(options: RgwOptions = {}): Promise<RgwCluster> {
  const missing = missingCephBinaries();
  if (missing.length > 0) throw new Error(missingCephMessage(missing));
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'cirrus-rgw-'));
  const children: ChildProcess[] = [];
  const watchdog = startWatchdog(dir);
  const credentials = {
    accessKeyId: options.accessKeyId ?? 'CIRRUSRGWTEST',
    secretAccessKey: options.secretAccessKey ?? 'cirrus-rgw-test-secret',
  };
  // Commands still waiting on a cluster that failed (radosgw-admin waits forever) die with it.
  const commands = new AbortController();
  const run = (file: string, args: string[]) => execFileAsync(file, args, { signal: commands.signal, timeout: 60_000 });
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      commands.abort();
      await Promise.all(children.map(killAndWait));
      watchdog.stdin?.end();
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    })());
  try {
    const [monPort, rgwPort] = (await freePorts(2)) as [number, number];
    const fsid = randomUUID();
    const conf = join(dir, 'ceph.conf');
    await Promise.all(['mon', 'osd', 'run', 'log'].map((d) => mkdir(join(dir, d))));
    await writeFile(conf, cephConf({ dir, fsid, monPort, rgwPort, memstoreBytes: options.memstoreBytes ?? 8 * 1024 ** 3, minPartSize: options.minPartSize ?? 5 * 1024 ** 2 }));
    const c = ['-c', conf];
    const daemon = (binary: string, args: string[]) => {
      const child = startDaemon(binary, [...c, '-f', ...args], join(dir, 'log', `${binary}.out`));
      children.push(child);
      watchdog.stdin?.write(`${child.pid}\n`);
      return child;
    };
    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v1:127.0.0.1:${monPort}]`, join(dir, 'monmap')]);
    await run('ceph-mon', [...c, '-i', 'a', '--mkfs', '--monmap', join(dir, 'monmap')]);
    daemon('ceph-mon', ['-i', 'a']);
    const osdUuid = randomUUID();
    await run('ceph', [...c, '--connect-timeout', '20', 'osd', 'new', osdUuid, '0']);
    await mkdir(join(dir, 'osd', 'osd.0'));
    await Promise.all([
      run('ceph-osd', [...c, '-i', '0', '--mkfs', '--osd-uuid', osdUuid]),
      run('ceph', [...c, '--connect-timeout', '20', 'osd', 'crush', 'add', 'osd.0', '1.0', 'host=localhost', 'root=default']),
    ]);
    daemon('ceph-osd', ['-i', '0']);
    daemon('radosgw', ['-n', 'client.rgw.a']);
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await Promise.all([
      run('radosgw-admin', [...c, 'user', 'create', '--uid=cirrus', '--display-name=cirrus',
        `--access-key=${credentials.accessKeyId}`, `--secret-key=${credentials.secretAccessKey}`]),
      answering(endpoint, children, 60_000),
    ]);
    return {
      endpoint,
      region: 'us-east-1',
      credentials,
      dir,
      pids: children.map((child) => child.pid as number),
      startMs: Date.now() - started,
      rss: () => rssOf(children.map((child) => child.pid as number)),
      stop,
    };
  } catch (error) {
    const logs = await tails(dir);
    await stop().catch(() => undefined);
    throw new Error(`the Ceph RGW cluster did not start: ${(error as Error).message}\n${logs}`, { cause: error });
  }
}

function cephConf(o: { dir: string; fsid: string; monPort: number; rgwPort: number; memstoreBytes: number; minPartSize: number }): string {
  return `[global]
fsid = ${o.fsid}
mon host = [v1:127.0.0.1:${o.monPort}]
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
run dir = ${o.dir}/run
pid file = $run_dir/$name.pid
admin socket = $run_dir/$name.asok
log file = ${o.dir}/log/$name.log
mon data = ${o.dir}/mon/$name
osd data = ${o.dir}/osd/$name
# One OSD: pools of one replica, placement within it, few placement groups (the default of 32 a
# pool would pass mon_max_pg_per_osd once RGW has made its eight pools).
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
# The OSD is placed in the CRUSH map by hand; left to itself at start, it sometimes sends its
# placement commands before it knows the cluster's fsid and exits on "wrong fsid".
osd crush update on start = false
osd class update on start = false
osd objectstore = memstore
memstore device bytes = ${o.memstoreBytes}

[mon]
# Without it every map change waits a second: boot takes ~13 s and each pool ~2 s.
paxos propose interval = 0.01

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:${o.rgwPort}
rgw data = ${o.dir}/rgw
# S3's 5 MiB part minimum, lowered so HTTP tests chunk in KiB (their stores set minPartSize, and
# the S3 adapter enforces its own minimum before completing, 5 MiB unless told otherwise).
rgw multipart min part size = ${o.minPartSize}
# Deleted and aborted tails live in RAM until RGW's GC runs: let it run soon.
rgw gc obj min wait = 30
rgw gc processor period = 30
`;
}

function startDaemon(binary: string, args: string[], outFile: string): ChildProcess {
  const out = openSync(outFile, 'a');
  try {
    return spawn(binary, args, { stdio: ['ignore', out, out] });
  } finally {
    closeSync(out);
  }
}

/** A node child that SIGKILLs the PIDs written to its stdin and removes `dir` once that pipe closes. */
function startWatchdog(dir: string): ChildProcess {
  const script = `
let input = '';
process.stdin.setEncoding('utf8').on('data', (chunk) => (input += chunk));
const orphaned = () => {
  for (const pid of input.split('\\n').filter(Boolean)) { try { process.kill(Number(pid), 'SIGKILL'); } catch {} }
  setTimeout(() => { try { require('node:fs').rmSync(${JSON.stringify(dir)}, { recursive: true, force: true }); } finally { process.exit(0); } }, 500);
};
process.stdin.on('end', orphaned); process.stdin.on('error', orphaned);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'ignore', 'ignore'], env: { ...process.env, NODE_OPTIONS: '' } });
  child.unref();
  (child.stdin as unknown as { unref?: () => void }).unref?.();
  return child;
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // memstore keeps nothing worth a clean shutdown.
  child.kill('SIGKILL');
  await exited;
}

/** Polls until the endpoint answers HTTP at all; fails early when a daemon exits. */
async function answering(endpoint: string, children: ChildProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = children.find((child) => child.exitCode !== null || child.signalCode !== null);
    if (dead) throw new Error(`${dead.spawnfile} exited (${dead.exitCode ?? dead.signalCode})`);
    try {
      await fetch(endpoint, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`radosgw did not answer on ${endpoint} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () =>
      new Promise<import('node:net').Server>((resolve, reject) => {
        const server = createServer();
        server.on('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(server));
      }),
    ),
  );
  const ports = servers.map((server) => (server.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

async function rssOf(pids: number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  }
  return total;
}

/** The last lines of each daemon's log, for a failure message. */
async function tails(dir: string): Promise<string> {
  const names = ['ceph-mon.out', 'ceph-osd.out', 'radosgw.out', 'mon.a.log', 'osd.0.log', 'client.rgw.a.log'];
  const parts = await Promise.all(
    names.map(async (name) => {
      const text = await readFile(join(dir, 'log', name), 'utf8').catch(() => '');
      return text ? `--- ${name} ---\n${text.split('\n').slice(-15).join('\n')}` : '';
    }),
  );
  return parts.filter(Boolean).join('\n');
}

function onPath(binary: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return dir !== '';
    } catch {
      return false;
    }
  });
}
