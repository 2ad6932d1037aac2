// podman with private storage and configuration: nothing is read from or written to the machine's
// /etc/containers, /var/lib/containers or /run/containers.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type RunOptions, type RunResult } from './clients.ts';

export interface IsolatedPodman {
  storageDriver: string;
  /** Runs `podman <private global flags> ...args`. */
  podman(args: string[], opts?: RunOptions): Promise<RunResult>;
}

/**
 * Prepares storage and config under `dir` (which the caller owns and removes with `removeTree`,
 * since the overlay driver may leave mounts behind). Uses overlay when it works here, else vfs.
 */
export async function isolatedPodman(dir: string): Promise<IsolatedPodman> {
  const paths = {
    root: join(dir, 'root'),
    runroot: join(dir, 'run'),
    tmp: join(dir, 'tmp'),
    copyTmp: join(dir, 'copy-tmp'),
    conf: join(dir, 'containers.conf'),
    registries: join(dir, 'registries.conf'),
    storage: join(dir, 'storage.conf'),
  };
  await mkdir(paths.copyTmp, { recursive: true });
  await writeFile(paths.conf, `[engine]\nimage_copy_tmp_dir = "${paths.copyTmp}"\n`);
  // Fully qualified references only: no short-name search, no prompts.
  await writeFile(paths.registries, 'unqualified-search-registries = []\nshort-name-mode = "disabled"\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CONTAINERS_CONF: paths.conf,
    CONTAINERS_REGISTRIES_CONF: paths.registries,
    CONTAINERS_STORAGE_CONF: paths.storage,
    TMPDIR: paths.copyTmp,
  };
  const failures: string[] = [];
  for (const driver of ['overlay', 'vfs']) {
    await writeFile(paths.storage, `[storage]\ndriver = "${driver}"\nrunroot = "${paths.runroot}"\ngraphroot = "${paths.root}"\n`);
    const global = [
      '--root', paths.root,
      '--runroot', paths.runroot,
      '--storage-driver', driver,
      '--tmpdir', paths.tmp,
      '--cgroup-manager', 'cgroupfs',
      '--events-backend', 'file',
    ];
    const podman = (args: string[], opts: RunOptions = {}) => run('podman', [...global, ...args], { env, ...opts });
    const probe = await podman(['info', '--format', '{{.Store.GraphDriverName}}'], { allowFailure: true });
    if (probe.code === 0 && probe.stdout.trim() === driver) return { storageDriver: driver, podman };
    failures.push(`${driver}: ${probe.stderr || probe.stdout}`);
  }
  throw new Error(`podman storage unusable:\n${failures.join('\n')}`);
}
