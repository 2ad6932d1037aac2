// GC benchmark on the embedded store: seeds 10k manifests over 50k blobs straight through the
// table and object store (no HTTP; 30% of the manifests left untagged, so their blobs are
// garbage), then runs the GC state machine (the checked-in definition, as `cirrus gc` does) in
// a fresh child process, a dry run and then a real one, and prints time per phase and memory
// (peak RSS from /proc VmHWM, peaks of process.memoryUsage sampled every 20 ms). No assertions.
//
//   npm run bench:gc [-- --manifests 10000 --blobs-per-manifest 5 --repos 100 --keep-data]
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { openEmbeddedStore } from '../bin/embedded-store.ts';
import { runGcWorkflow } from '../bin/gc-workflow.ts';
import { MediaType } from '../core/oci/index.ts';
import { defaultSettings, keys } from '../core/registry/index.ts';
import type { GcResult, StepState } from '../core/registry/gc/index.ts';
import { statusBytes } from './procfs.ts';

const DAY = 86_400_000;

const { values } = parseArgs({
  options: {
    manifests: { type: 'string', default: '10000' },
    'blobs-per-manifest': { type: 'string', default: '5' },
    repos: { type: 'string', default: '100' },
    'keep-data': { type: 'boolean', default: false },
    'gc-child': { type: 'string' },
  },
});

if (values['gc-child']) {
  await gcChild(values['gc-child']);
} else {
  await main();
}

async function main(): Promise<void> {
  const manifests = Number(values.manifests);
  const perManifest = Number(values['blobs-per-manifest']);
  const repos = Number(values.repos);
  const dir = await mkdtemp(join(tmpdir(), 'cirrus-bench-gc-'));
  try {
    const seeded = await seed(dir, manifests, perManifest, repos);
    console.log(
      `seeded ${seeded.manifests} manifests (${seeded.tagged} tagged) over ${seeded.blobs} blobs in ${repos} repositories in ${(seeded.ms / 1000).toFixed(1)} s`,
    );
    for (const dryRun of [true, false]) {
      const report = await runChild(dir, dryRun);
      console.log(`\n${dryRun ? 'dry run' : 'real run'}: ${(report.ms / 1000).toFixed(2)} s, ${report.tasks} task invocations`);
      console.log(`  per phase (s): ${Object.entries(report.phaseMs).map(([p, ms]) => `${p} ${(ms / 1000).toFixed(2)}`).join(', ')}`);
      console.log(
        `  memory: peak RSS (VmHWM) ${mib(report.vmHwm)} MiB, peak heapUsed ${mib(report.peakHeap)} MiB, peak RSS sampled ${mib(report.peakRss)} MiB (after start-up: RSS ${mib(report.startRss)} MiB)`,
      );
      const d = report.result.report.deleted;
      console.log(
        `  ${dryRun ? 'would delete' : 'deleted'}: ${d.manifests.count} manifests, ${d.blobs.count} blobs, ${d.links.count} links, ${d.orphans.count} orphans; bytes freed ${report.result.bytesFreed}`,
      );
    }
  } finally {
    if (values['keep-data']) console.log(`\ndata kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

/** Writes what pushes would have written, two days ago: BLOB + bytes (tagged with their digest) + links, MANIFEST, TAG, CATALOG. */
async function seed(dir: string, manifests: number, perManifest: number, repos: number) {
  const started = performance.now();
  const store = await openEmbeddedStore(dir);
  const { table, objects } = store;
  const at = Date.now() - 2 * DAY;
  let blobs = 0;
  let tagged = 0;
  const perRepo = Math.ceil(manifests / repos);
  const seedOne = async (m: number) => {
    const name = `bench/repo-${String(m % repos).padStart(4, '0')}`;
    const index = Math.floor(m / repos);
    const digests: string[] = [];
    await Promise.all(
      Array.from({ length: perManifest }, async () => {
        const bytes = randomBytes(64);
        const digest = `sha256:${randomBytes(32).toString('hex')}`;
        const key = keys.blobObject(randomUUID());
        await objects.put(key, bytes);
        await objects.setTags(key, { digest });
        await table.put({ ...keys.blob(digest), attrs: { key, size: bytes.byteLength, createdAt: at, lastRef: at } });
        await table.put({ ...keys.blobRepo(digest, name), attrs: { linkedAt: at } });
        await table.put({ ...keys.link(name, digest), attrs: { linkedAt: at } });
        digests.push(digest);
      }),
    );
    blobs += perManifest;
    const body = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociManifest, layers: digests }));
    const digest = `sha256:${randomBytes(32).toString('hex')}`;
    await table.put({
      ...keys.manifest(name, digest),
      attrs: { mediaType: MediaType.ociManifest, size: body.byteLength, blobs: digests, manifests: [], body, createdAt: at, lastRef: at },
    });
    // 70% of each repository's manifests keep a tag; the rest are garbage.
    if (index < perRepo * 0.7) {
      await table.put({ ...keys.tag(name, `t${index}`), attrs: { digest, mediaType: MediaType.ociManifest, size: body.byteLength, pushedAt: at } });
      tagged += 1;
    }
    if (index === 0) await table.put({ ...keys.catalog(name), attrs: { createdAt: at } });
  };
  // Manifests in batches: file writes overlap, table writes (synchronous SQLite) do not need to.
  for (let m = 0; m < manifests; m += 16) await Promise.all(Array.from({ length: Math.min(16, manifests - m) }, (_, i) => seedOne(m + i)));
  await table.close();
  return { manifests, tagged, blobs, ms: performance.now() - started };
}

interface ChildReport {
  ms: number;
  tasks: number;
  phaseMs: Record<string, number>;
  vmHwm: number;
  peakRss: number;
  peakHeap: number;
  startRss: number;
  result: GcResult;
}

function runChild(dir: string, dryRun: boolean): Promise<ChildReport> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', self, '--gc-child', JSON.stringify({ dir, dryRun })], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop() as string) as ChildReport) : reject(new Error(`GC child exited ${code}`))));
  });
}

async function gcChild(arg: string): Promise<void> {
  const { dir, dryRun } = JSON.parse(arg) as { dir: string; dryRun: boolean };
  const store = await openEmbeddedStore(dir);
  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;
  let peakHeap = 0;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const timer = setInterval(sample, 20);
  const phaseMs: Record<string, number> = {};
  let tasks = 0;
  const started = performance.now();
  const result = await runGcWorkflow(
    { table: store.table, objects: store.objects, settings: defaultSettings, now: Date.now },
    { dryRun },
    {
      observe: (role, input, _output, ms) => {
        tasks += 1;
        const phase = role === 'mark' || role === 'sweep' ? (input as StepState).phase : role;
        phaseMs[phase] = (phaseMs[phase] ?? 0) + ms;
      },
    },
  );
  const ms = performance.now() - started;
  clearInterval(timer);
  sample();
  await store.table.close();
  const report: ChildReport = { ms, tasks, phaseMs, vmHwm: statusBytes(process.pid, 'VmHWM') ?? 0, peakRss, peakHeap, startRss, result };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
