// skopeo against a running registry: OCI images, Docker schema2 conversion and multi-arch indexes,
// pushed and pulled back, compared digest for digest and byte for byte.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireClients } from '../support/clients.ts';
import { buildImageLayout, buildIndexLayout, type LayoutImage, type LayoutIndex, sha256Digest } from '../support/images.ts';
import { readLayoutBlob, readLayoutBlobEntry, readLayoutEntry } from '../support/layouts.ts';
import { type RunningRegistry, startTargetRegistry } from '../support/local-host.ts';
import { diffIdOf, getBlob, getManifest, headManifest } from '../support/registry-api.ts';
import { skopeoCopy, skopeoInspectRaw } from '../support/skopeo.ts';
import { cleanUp, makeTempDir, removeTree } from '../support/tmp.ts';

const MiB = 1 << 20;
const clients = requireClients(['skopeo', 'skopeo']);

describe.skipIf(!clients.available)(`skopeo copy to and from the registry${clients.reason}`, () => {
  let registry: RunningRegistry;
  let work: string;
  let image: LayoutImage;
  let index: LayoutIndex;

  beforeAll(async () => {
    work = await makeTempDir('skopeo');
    registry = await startTargetRegistry();
    image = await buildImageLayout({
      dir: join(work, 'src'),
      tag: 'v1',
      layers: [
        { size: MiB, seed: 101 },
        { size: 3 * MiB + 123, seed: 102 },
      ],
    });
    index = await buildIndexLayout({
      dir: join(work, 'multi'),
      tag: 'multi',
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
      layerSize: MiB,
    });
  }, 120_000);

  afterAll(async () => {
    await cleanUp(registry?.stop, work ? () => removeTree(work) : undefined);
  }, 60_000);

  it('pushes an OCI image as is and pulls back identical bytes', { timeout: 120_000 }, async () => {
    const remote = `docker://${registry.hostPort}/skopeo/oci:v1`;
    await skopeoCopy(image.ref, remote, ['--preserve-digests']);

    const raw = await skopeoInspectRaw(remote);
    expect(raw.digest).toBe(image.manifestDigest);
    expect(raw.bytes.equals(image.manifestBytes)).toBe(true);
    const head = await headManifest(registry.url, 'skopeo/oci', 'v1');
    expect(head).toMatchObject({ status: 200, digest: image.manifestDigest, size: image.manifestBytes.length });
    expect(head.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect((await headManifest(registry.url, 'skopeo/oci', image.manifestDigest)).digest).toBe(image.manifestDigest);

    // Without --preserve-digests skopeo would gzip the layers into the layout as well.
    const pulled = join(work, 'pulled-oci');
    await skopeoCopy(remote, `oci:${pulled}:v1`, ['--preserve-digests']);
    const entry = await readLayoutEntry(pulled, 'v1');
    expect(entry.digest).toBe(image.manifestDigest);
    expect(entry.bytes.equals(image.manifestBytes)).toBe(true);
    for (const digest of [image.configDigest, ...image.layerDigests]) {
      const original = await readLayoutBlob(image.dir, digest);
      expect((await readLayoutBlob(pulled, digest)).equals(original), `pulled ${digest}`).toBe(true);
      expect((await getBlob(registry.url, 'skopeo/oci', digest)).equals(original), `served ${digest}`).toBe(true);
    }
  });

  it('pushes a Docker schema2 manifest with -f v2s2 and pulls the same layers back', { timeout: 120_000 }, async () => {
    // Addressed as localhost, the registry is new to skopeo's blob cache (which is machine-wide and
    // knows the uncompressed layers pushed above to 127.0.0.1): no mount, so skopeo gzips and streams.
    const remote = `docker://localhost:${registry.port}/skopeo/v2s2:v1`;
    await skopeoCopy(image.ref, remote, ['-f', 'v2s2']);

    const served = await getManifest(registry.url, 'skopeo/v2s2', 'v1');
    expect(served.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(served.json.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(served.headerDigest).toBe(served.digest);
    expect((await skopeoInspectRaw(remote)).digest).toBe(served.digest);
    expect(served.json.config?.mediaType).toBe('application/vnd.docker.container.image.v1+json');
    // The config is copied as is; the layers are gzipped, so compare what they unpack to.
    expect(served.json.config?.digest).toBe(image.configDigest);
    const layers = served.json.layers ?? [];
    expect(layers).toHaveLength(image.layerDigests.length);

    // An OCI layout cannot hold a schema2 manifest unconverted; the dir: transport keeps it as served.
    const pulled = join(work, 'pulled-v2s2');
    await skopeoCopy(remote, `dir:${pulled}`);
    expect((await readFile(join(pulled, 'manifest.json'))).equals(served.bytes)).toBe(true);
    for (const [i, layer] of layers.entries()) {
      expect(layer.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
      const bytes = await getBlob(registry.url, 'skopeo/v2s2', layer.digest);
      expect(bytes.length).toBe(layer.size);
      expect(sha256Digest(bytes)).toBe(layer.digest);
      expect((await readFile(join(pulled, layer.digest.slice('sha256:'.length)))).equals(bytes)).toBe(true);
      expect(diffIdOf(bytes)).toBe(image.layerDigests[i]);
    }
  });

  it('copies a multi-arch index with --all, keeping the index digest', { timeout: 120_000 }, async () => {
    const remote = `docker://${registry.hostPort}/skopeo/multi:v1`;
    await skopeoCopy(index.ref, remote, ['--all', '--preserve-digests']);

    const raw = await skopeoInspectRaw(remote);
    expect(raw.digest).toBe(index.indexDigest);
    const head = await headManifest(registry.url, 'skopeo/multi', 'v1');
    expect(head).toMatchObject({ status: 200, digest: index.indexDigest });
    expect(head.mediaType).toBe('application/vnd.oci.image.index.v1+json');

    for (const platform of index.images) {
      const child = await getManifest(registry.url, 'skopeo/multi', platform.manifestDigest);
      expect(child.headerDigest).toBe(platform.manifestDigest);
      expect(child.bytes.equals(platform.manifestBytes)).toBe(true);
    }

    const pulled = join(work, 'pulled-multi');
    await skopeoCopy(remote, `oci:${pulled}:v1`, ['--all', '--preserve-digests']);
    const entry = await readLayoutEntry(pulled, 'v1');
    expect(entry.digest).toBe(index.indexDigest);
    expect(entry.bytes.equals(index.indexBytes)).toBe(true);
    for (const platform of index.images) {
      const manifest = await readLayoutBlobEntry(pulled, platform.manifestDigest);
      expect(manifest.bytes.equals(platform.manifestBytes)).toBe(true);
      for (const digest of [platform.configDigest, ...platform.layerDigests]) {
        const original = await readLayoutBlob(index.dir, digest);
        expect((await readLayoutBlob(pulled, digest)).equals(original), `pulled ${digest}`).toBe(true);
      }
    }
  });

  it('pulls one platform out of the index by digest', { timeout: 120_000 }, async () => {
    const arm64 = index.images.find((i) => i.tag.endsWith('arm64'))!;
    const pulled = join(work, 'pulled-arm64');
    await skopeoCopy(`docker://${registry.hostPort}/skopeo/multi@${arm64.manifestDigest}`, `oci:${pulled}:arm64`, [
      '--preserve-digests',
    ]);
    const entry = await readLayoutEntry(pulled, 'arm64');
    expect(entry.digest).toBe(arm64.manifestDigest);
    for (const digest of arm64.layerDigests) {
      expect((await readLayoutBlob(pulled, digest)).equals(await readLayoutBlob(index.dir, digest))).toBe(true);
    }
  });
});
