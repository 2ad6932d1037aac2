// Replication benchmark between two Cirrus local hosts (or a Cirrus source and Distribution):
//   1. lag: N small images pushed one after another to the source, each replicated on push;
//      p50/p99 of push acknowledged → tag visible at the destination (the rule status' samples);
//   2. backfill: M manifests seeded at the source before the rule exists, then
//      `cirrus replication run --backfill` timed: manifests per second;
//   3. one large layer: `cirrus replication run` vs `skopeo copy` between the same two registries,
//      with the peak RSS (VmHWM) of the replicating process.
// Figures only, no assertions.
//
//   npm run bench:replication [-- --images 50 --backfill 1000 --big-mib 1024 --dest cirrus|distribution]
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ReplicationStatus } from '../core/replication/index.ts';
import { SqliteTable } from '../core/storage/sqlite/sqlite-table.ts';
import { buildImageLayout } from '../test/support/images.ts';
import { REPO_ROOT, startDistribution, startLocalHost, type RunningRegistry } from '../test/support/local-host.ts';
import { makeTempDir, removeTree } from '../test/support/tmp.ts';
import { execOk } from './exec.ts';
import { processTree, statusBytes } from './procfs.ts';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '50' },
    backfill: { type: 'string', default: '1000' },
    'big-mib': { type: 'string', default: '1024' },
    dest: { type: 'string', default: 'cirrus' },
  },
});

const HOST_ENV = { CIRRUS_BACKEND: 'embedded', CIRRUS_LOG_REQUESTS: '0', CIRRUS_REPLICATION_DEBOUNCE_MS: '50' };
const MiB = 1 << 20;

const work = await makeTempDir('bench-replication');
const source = await startLocalHost({ env: HOST_ENV });
const dest: RunningRegistry = values.dest === 'distribution' ? await startDistribution() : await startLocalHost({ env: HOST_ENV });
try {
  console.log(`source ${source.url} (Cirrus, embedded) → destination ${dest.url} (${values.dest})\n`);
  await lag(Number(values.images));
  await backfill(Number(values.backfill));
  await big(Number(values['big-mib']));
} finally {
  await Promise.allSettled([source.stop(), dest.stop()]);
  await removeTree(work);
}

async function lag(images: number): Promise<void> {
  await cirrus(['replication', 'add', 'lag', '--to', dest.url, '--repos', 'lag/*']);
  const digests: string[] = [];
  for (let i = 0; i < images; i++) digests.push(await pushSmall(source.url, `lag/app${i % 5}`, `t${i}`));
  const started = Date.now();
  for (let i = 0; i < images; i++) {
    while ((await headDigest(dest.url, `lag/app${i % 5}`, `t${i}`)) !== digests[i]) {
      if (Date.now() - started > 120_000) throw new Error(`lag/app${i % 5}:t${i} not replicated within 2 minutes`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const table = new SqliteTable(join(source.dataDir, 'index.db'));
  const status = await new ReplicationStatus({ table, now: Date.now }).get('lag');
  await table.close();
  const lags = [...status.lags].sort((a, b) => a - b);
  const q = (p: number) => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? NaN;
  console.log(`lag over ${images} small images pushed one after another: p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${lags.at(-1)} ms (${lags.length} samples)`);
}

async function backfill(manifests: number): Promise<void> {
  const seeded = Date.now();
  for (let i = 0; i < manifests; i++) await pushSmall(source.url, `fill/r${i % 20}`, `t${i}`);
  console.log(`\nseeded ${manifests} manifests in 20 repositories in ${((Date.now() - seeded) / 1000).toFixed(1)} s`);
  await cirrus(['replication', 'add', 'fill', '--to', dest.url, '--repos', 'fill/*', '--no-on-push']);
  const run = await cirrus(['--json', 'replication', 'run', 'fill', '--backfill']);
  const result = JSON.parse(run.stdout) as { ok: boolean; totals: { manifests: number; blobs: number } };
  console.log(
    `backfill: ${result.totals.manifests} manifests, ${result.totals.blobs} blobs in ${(run.ms / 1000).toFixed(1)} s: ${(result.totals.manifests / (run.ms / 1000)).toFixed(1)} manifests/s; peak RSS ${(run.peakRss / MiB).toFixed(0)} MiB${result.ok ? '' : ' (FAILURES)'}`,
  );
}

async function big(mib: number): Promise<void> {
  const image = await buildImageLayout({ dir: join(work, 'big'), tag: 'v1', layers: [{ size: mib * MiB, seed: 31337 }] });
  await execOk('skopeo', ['copy', '--dest-tls-verify=false', '--preserve-digests', image.ref, `docker://${source.hostPort}/big/model:v1`], { timeoutMs: 30 * 60_000 });
  await cirrus(['replication', 'add', 'big', '--to', dest.url, '--repos', 'big/*', '--no-on-push']);
  const run = await cirrus(['--json', 'replication', 'run', 'big']);
  const skopeo = await execOk(
    'skopeo',
    ['copy', '--src-tls-verify=false', '--dest-tls-verify=false', '--preserve-digests', `docker://${source.hostPort}/big/model:v1`, `docker://${dest.hostPort}/skopeo/model:v1`],
    { timeoutMs: 30 * 60_000 },
  );
  const rate = (ms: number) => `${((mib * MiB) / MiB / (ms / 1000)).toFixed(0)} MiB/s`;
  console.log(`\none ${mib} MiB layer: cirrus replication run ${(run.ms / 1000).toFixed(1)} s (${rate(run.ms)}, peak RSS ${(run.peakRss / MiB).toFixed(0)} MiB); skopeo copy ${(skopeo.wallMs / 1000).toFixed(1)} s (${rate(skopeo.wallMs)})`);
}

/** `cirrus …` against the source's data dir; wall time and peak RSS (VmHWM, sampled until exit). */
async function cirrus(args: string[]): Promise<{ stdout: string; ms: number; peakRss: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'cirrus.mjs'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, CIRRUS_DATA_DIR: source.dataDir, CIRRUS_BACKEND: 'embedded' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let peakRss = 0;
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  // bin/cirrus.mjs may hand over to a Node child of its own: the peak of the whole tree's processes.
  const sampler = setInterval(() => {
    for (const pid of processTree(child.pid!)) peakRss = Math.max(peakRss, statusBytes(pid, 'VmHWM') ?? 0);
  }, 50);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(sampler);
  if (code !== 0) throw new Error(`cirrus ${args.join(' ')} exited ${code}: ${stderr}`);
  return { stdout, ms: performance.now() - started, peakRss };
}

/** A small OCI image (a 4 KiB layer, a config) pushed monolithically; returns the manifest digest. */
async function pushSmall(base: string, repo: string, tag: string): Promise<string> {
  const layer = randomBytes(4096);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: randomBytes(4).toString('hex') }));
  for (const blob of [layer, config]) {
    const res = await fetch(`${base}/v2/${repo}/blobs/uploads/?digest=${sha(blob)}`, { method: 'POST', body: blob, headers: { 'Content-Type': 'application/octet-stream' } });
    if (res.status !== 201) throw new Error(`push blob ${repo}: ${res.status}`);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha(layer), size: layer.length }],
    }),
  );
  const res = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: manifest, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' } });
  if (res.status !== 201) throw new Error(`push manifest ${repo}:${tag}: ${res.status}`);
  return sha(manifest);
}

async function headDigest(base: string, repo: string, tag: string): Promise<string | undefined> {
  const res = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: 'HEAD', headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } });
  return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
}

function sha(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
