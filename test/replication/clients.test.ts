// Replication between running registries, driven by real clients: skopeo pushes to one Cirrus
// local host, whose rules (added with `npx cirrus replication add`) copy on push to a second
// Cirrus host and to Distribution 2.8; skopeo pulls back byte-identical content from both. And a
// pull-based mirror from Distribution, a destination that goes down and comes back, a copy killed
// mid-blob that resumes.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RuleStatus } from '../../core/replication/index.ts';
import { descriptorOf, EMPTY_DESCRIPTOR, EMPTY_JSON, fetchTransport, manifestBytes, ociManifest, RegistryClient, sha256 } from '../support/app.ts';
import { requireClients } from '../support/clients.ts';
import { buildImageLayout, buildIndexLayout, type LayoutIndex } from '../support/images.ts';
import { readLayoutBlob, readLayoutEntry } from '../support/layouts.ts';
import { freePort, startDistribution, startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { skopeoCopy, skopeoInspectRaw } from '../support/skopeo.ts';
import { makeTempDir, removeTree } from '../support/tmp.ts';
import { spawnCirrus } from '../support/cirrus-cli.ts';

const MiB = 1 << 20;
const clients = requireClients(['skopeo', 'skopeo']);
const HOST_ENV = { CIRRUS_BACKEND: 'embedded', CIRRUS_LOG_REQUESTS: '0', CIRRUS_REPLICATION_RETRY_MS: '200', CIRRUS_REPLICATION_DEBOUNCE_MS: '100' };

async function cirrus(dataDir: string, args: string[], stdin?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return spawnCirrus(dataDir, args, { stdin: stdin ?? '' }).done;
}

async function ok(dataDir: string, ...args: string[]): Promise<string> {
  const res = await cirrus(dataDir, args);
  expect(res.code, `cirrus ${args.join(' ')}: ${res.stderr}`).toBe(0);
  return res.stdout;
}

async function digestAt(registry: RunningRegistry, repo: string, reference: string): Promise<string | undefined> {
  const res = await fetch(`${registry.url}/v2/${repo}/manifests/${reference}`, {
    method: 'HEAD',
    headers: { Accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' },
  });
  return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!clients.available)(`replication between running registries${clients.reason}`, () => {
  let source: RunningRegistry;
  let cirrusDest: RunningRegistry;
  let distribution: RunningRegistry;
  let work: string;
  let index: LayoutIndex;

  beforeAll(async () => {
    work = await makeTempDir('replication');
    [source, cirrusDest, distribution] = await Promise.all([startLocalHost({ env: HOST_ENV }), startLocalHost({ env: HOST_ENV }), startDistribution()]);
    index = await buildIndexLayout({
      dir: join(work, 'src'),
      tag: 'v1',
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
      layerSize: 2 * MiB,
    });
  }, 60_000);
  afterAll(async () => {
    await Promise.allSettled([source?.stop(), cirrusDest?.stop(), distribution?.stop()]);
    if (work) await removeTree(work);
  });

  it('on push: a multi-arch index and its referrer reach a Cirrus and a Distribution destination, pulled back byte-identical', { timeout: 180_000 }, async () => {
    await ok(source.dataDir, 'replication', 'add', 'to-cirrus', '--to', cirrusDest.url, '--repos', 'multi/*');
    await ok(source.dataDir, 'replication', 'add', 'to-dist', '--to', distribution.url, '--repos', 'multi/*', '--tags', 'v*', '--dest-prefix', 'copy');
    await skopeoCopy(index.ref, `docker://${source.hostPort}/multi/app:v1`, ['--all', '--preserve-digests']);
    const pushedAt = Date.now();

    // A signature-like referrer pushed by digest, and a cosign-style tag, both about the index.
    const client = new RegistryClient(fetchTransport(source.url));
    await client.pushBlob('multi/app', EMPTY_JSON);
    const sig = Buffer.from('a signature');
    await client.pushBlob('multi/app', sig);
    const referrer = manifestBytes(
      ociManifest(EMPTY_DESCRIPTOR, [descriptorOf('application/vnd.dev.cosign.simplesigning.v1+json', sig)], {
        artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
        subject: { mediaType: 'application/vnd.oci.image.index.v1+json', digest: index.indexDigest, size: index.indexBytes.length },
      }),
    );
    const referrerDigest = await client.pushManifest('multi/app', sha256(referrer), referrer, 'application/vnd.oci.image.manifest.v1+json');
    const cosignTag = `${index.indexDigest.replace(':', '-')}.sig`;
    await client.pushManifest('multi/app', cosignTag, referrer, 'application/vnd.oci.image.manifest.v1+json');

    await eventually('v1 at the Cirrus destination', () => digestAt(cirrusDest, 'multi/app', 'v1'));
    await eventually('v1 at Distribution', () => digestAt(distribution, 'copy/multi/app', 'v1'));
    await eventually('the cosign tag at Distribution', () => digestAt(distribution, 'copy/multi/app', cosignTag));
    const lagMs = Date.now() - pushedAt;
    expect(lagMs).toBeLessThan(30_000);

    for (const ref of [`docker://${cirrusDest.hostPort}/multi/app:v1`, `docker://${distribution.hostPort}/copy/multi/app:v1`]) {
      const raw = await skopeoInspectRaw(ref);
      expect(raw.digest, ref).toBe(index.indexDigest);
      expect(raw.bytes.equals(index.indexBytes)).toBe(true);
      const pulled = join(work, `pulled-${sha256(ref).slice(7, 19)}`);
      await skopeoCopy(ref, `oci:${pulled}:v1`, ['--all', '--preserve-digests']);
      expect((await readLayoutEntry(pulled, 'v1')).digest).toBe(index.indexDigest);
      for (const image of index.images) {
        for (const [i, digest] of image.layerDigests.entries()) expect((await readLayoutBlob(pulled, digest)).length).toBe(image.layerSizes[i]);
      }
    }
    // The referrer followed its subject: through the referrers API at Cirrus, by digest at Distribution.
    const referrers = await eventually('the referrer at the Cirrus destination', async () => {
      const res = await fetch(`${cirrusDest.url}/v2/multi/app/referrers/${index.indexDigest}`);
      const body = (await res.json()) as { manifests: Array<{ digest: string }> };
      return body.manifests.length > 0 ? body.manifests : undefined;
    });
    expect(referrers.map((m) => m.digest)).toEqual([referrerDigest]);
    expect(await digestAt(distribution, 'copy/multi/app', referrerDigest)).toBe(referrerDigest);

    const status = JSON.parse(await ok(source.dataDir, '--json', 'replication', 'status', 'to-cirrus')) as { status: RuleStatus };
    expect(status.status.totals.manifests).toBeGreaterThanOrEqual(4);
    expect(status.status.lag?.samples).toBeGreaterThan(0);
    const metrics = await (await fetch(`${source.url}/metrics`)).text();
    expect(metrics).toMatch(/cirrus_replication_manifests_total\{rule="to-cirrus"\} [1-9]/);
    const audit = JSON.parse(await ok(source.dataDir, '--json', 'audit', '--limit', '200')) as { events: Array<{ who: string; action: string; repository?: string }> };
    expect(audit.events).toContainEqual(expect.objectContaining({ who: 'replication:to-dist', action: 'replication.tag.put', repository: 'copy/multi/app' }));
  });

  it('a tag moved twice quickly ends at the newest at the destination', { timeout: 120_000 }, async () => {
    await ok(source.dataDir, 'replication', 'add', 'moves', '--to', distribution.url, '--repos', 'moves/*', '--dest-prefix', 'mv');
    const images = [];
    for (let i = 0; i < 3; i++) {
      const image = await buildImageLayout({ dir: join(work, `moves-${i}`), tag: 'latest', layers: [{ size: 256 * 1024, seed: 500 + i }] });
      images.push(image);
      await skopeoCopy(image.ref, `docker://${source.hostPort}/moves/app:latest`, ['--preserve-digests']);
    }
    const newest = images[2]!.manifestDigest;
    await eventually('the newest at Distribution', async () => ((await digestAt(distribution, 'mv/moves/app', 'latest')) === newest ? true : undefined));
    // And it stays there once every triggered run has finished.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await digestAt(distribution, 'mv/moves/app', 'latest')).toBe(newest);
  });

  it('a pull-based rule mirrors repositories of a Distribution source into this registry', { timeout: 120_000 }, async () => {
    const image = await buildImageLayout({ dir: join(work, 'upstream'), tag: '1.0', layers: [{ size: MiB, seed: 900 }] });
    await skopeoCopy(image.ref, `docker://${distribution.hostPort}/lib/tool:1.0`, ['--preserve-digests']);
    await skopeoCopy(image.ref, `docker://${distribution.hostPort}/other/tool:1.0`, ['--preserve-digests']);
    await ok(source.dataDir, 'replication', 'add', 'hub', '--from', distribution.url, '--repos', 'lib/*', '--schedule', '*/5 * * * *', '--dest-prefix', 'hub');
    const run = JSON.parse(await ok(source.dataDir, '--json', 'replication', 'run', 'hub')) as { ok: boolean; totals: { manifests: number } };
    expect(run.ok).toBe(true);
    expect(run.totals.manifests).toBe(1);
    const raw = await skopeoInspectRaw(`docker://${source.hostPort}/hub/lib/tool:1.0`);
    expect(raw.bytes.equals(image.manifestBytes)).toBe(true);
    expect(await digestAt(source, 'hub/other/tool', '1.0')).toBeUndefined();
  });

  it('a destination that is down: status shows the failure, no dangling tag, and it converges when back', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const dataDir = await makeTempDir('down-dest');
    let down = await startLocalHost({ env: { ...HOST_ENV, PORT: String(port) }, dataDir });
    await ok(source.dataDir, 'replication', 'add', 'flaky', '--to', down.url, '--repos', 'flaky/*');
    await down.kill9();
    const image = await buildImageLayout({ dir: join(work, 'flaky'), tag: 'v1', layers: [{ size: 512 * 1024, seed: 77 }] });
    await skopeoCopy(image.ref, `docker://${source.hostPort}/flaky/app:v1`, ['--preserve-digests']);
    const failed = await eventually('a failure in status', async () => {
      const st = JSON.parse(await ok(source.dataDir, '--json', 'replication', 'status', 'flaky')) as { status: RuleStatus };
      return st.status.lastRun && !st.status.lastRun.ok ? st.status : undefined;
    }, 60_000);
    expect(failed.failures[0]).toMatchObject({ ref: 'flaky/app:v1' });
    expect(failed.failures[0]?.reason).toMatch(/ECONNREFUSED|connect|fetch failed/);

    down = await startLocalHost({ env: { ...HOST_ENV, PORT: String(port) }, dataDir });
    try {
      // The host retries failed items with back-off (1 s, 2 s, 4 s…): no new push needed.
      await eventually('v1 at the destination once it is back', () => digestAt(down, 'flaky/app', 'v1'), 60_000);
      const raw = await skopeoInspectRaw(`docker://${down.hostPort}/flaky/app:v1`);
      expect(raw.bytes.equals(image.manifestBytes)).toBe(true);
    } finally {
      await down.stop();
      await removeTree(dataDir);
    }
  });
});
