// buildah with private storage, configuration and signature policy: nothing is read from or
// written to the machine's /etc/containers, /var/lib/containers or /run/containers.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type RunOptions, type RunResult } from './clients.ts';

export interface IsolatedBuildah {
  storageDriver: string;
  /**
   * Runs `buildah <private global flags> ...args`; for the subcommands that read a signature
   * policy (from, pull, push, commit) the private one is passed right after the subcommand.
   */
  buildah(args: string[], opts?: RunOptions): Promise<RunResult>;
}

/** Subcommands that take the hidden `--signature-policy` flag. */
const POLICY_SUBCOMMANDS = new Set(['from', 'pull', 'push', 'commit']);

/**
 * Prepares storage and config under `dir` (which the caller owns and removes with `removeTree`,
 * since the overlay driver leaves mounts behind). Uses overlay when it works here, else vfs
 * (`CIRRUS_TEST_BUILDAH_STORAGE_DRIVER` forces one).
 */
export async function isolatedBuildah(dir: string): Promise<IsolatedBuildah> {
  const paths = {
    tmp: join(dir, 'tmp'),
    home: join(dir, 'home'),
    conf: join(dir, 'containers.conf'),
    registries: join(dir, 'registries.conf'),
    storage: join(dir, 'storage.conf'),
    policy: join(dir, 'policy.json'),
    auth: join(dir, 'auth.json'),
  };
  await mkdir(paths.tmp, { recursive: true });
  await mkdir(paths.home, { recursive: true });
  await writeFile(paths.conf, `[engine]\nimage_copy_tmp_dir = "${paths.tmp}"\n`);
  // Fully qualified references only: no short-name search, no prompts.
  await writeFile(paths.registries, 'unqualified-search-registries = []\nshort-name-mode = "disabled"\n');
  await writeFile(paths.policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  await writeFile(paths.auth, '{"auths":{}}');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: paths.home,
    CONTAINERS_CONF: paths.conf,
    CONTAINERS_REGISTRIES_CONF: paths.registries,
    CONTAINERS_STORAGE_CONF: paths.storage,
    REGISTRY_AUTH_FILE: paths.auth,
    TMPDIR: paths.tmp,
  };
  const forced = process.env.CIRRUS_TEST_BUILDAH_STORAGE_DRIVER;
  const failures: string[] = [];
  for (const driver of forced ? [forced] : ['overlay', 'vfs']) {
    // One store per driver tried: a failed overlay attempt must not leave state that vfs trips on.
    const root = join(dir, `root-${driver}`);
    const runroot = join(dir, `run-${driver}`);
    await writeFile(paths.storage, `[storage]\ndriver = "${driver}"\nrunroot = "${runroot}"\ngraphroot = "${root}"\n`);
    const global = ['--root', root, '--runroot', runroot, '--storage-driver', driver];
    const buildah = (args: string[], opts: RunOptions = {}) => {
      const [subcommand, ...rest] = args;
      const withPolicy =
        subcommand && POLICY_SUBCOMMANDS.has(subcommand) ? [subcommand, '--signature-policy', paths.policy, ...rest] : args;
      return run('buildah', [...global, ...withPolicy], { env, ...opts });
    };
    // `info` alone does not prove the driver can mount a container's rootfs, which `copy` needs.
    const info = await buildah(['info', '--format', '{{.store.GraphDriverName}}'], { allowFailure: true });
    if (info.code !== 0 || info.stdout.trim() !== driver) {
      failures.push(`${driver}: ${info.stderr || info.stdout}`);
      continue;
    }
    const probe = await buildah(['from', '--name', 'cirrus-probe', 'scratch'], { allowFailure: true });
    const mount = probe.code === 0 ? await buildah(['mount', 'cirrus-probe'], { allowFailure: true }) : probe;
    await buildah(['rm', 'cirrus-probe'], { allowFailure: true });
    if (mount.code === 0) return { storageDriver: driver, buildah };
    failures.push(`${driver}: ${mount.stderr || mount.stdout}`);
  }
  throw new Error(`buildah storage unusable:\n${failures.join('\n')}`);
}
