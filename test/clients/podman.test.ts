// podman against a running registry: pull what skopeo pushed, push it again under a new name, and
// check what the registry then serves.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireClients } from '../support/clients.ts';
import { buildImageLayout, type LayoutImage, sha256Digest } from '../support/images.ts';
import { type RunningRegistry, startTargetRegistry } from '../support/local-host.ts';
import { type IsolatedPodman, isolatedPodman } from '../support/podman.ts';
import { startRecordingProxy } from '../support/recording-proxy.ts';
import { diffIdOf, getBlob, getManifest, headManifest } from '../support/registry-api.ts';
import { skopeoCopy, skopeoInspectConfig, skopeoInspectRaw } from '../support/skopeo.ts';
import { cleanUp, makeTempDir, removeTree } from '../support/tmp.ts';

const MiB = 1 << 20;
const clients = requireClients(['podman', 'podman'], ['skopeo', 'skopeo']);

interface PodmanImage {
  Id: string;
  Digest: string;
  RepoDigests: string[];
  RootFS: { Layers: string[] };
}

describe.skipIf(!clients.available)(`podman pull and push${clients.reason}`, () => {
  let registry: RunningRegistry;
  let work: string;
  let image: LayoutImage;
  let podman: IsolatedPodman['podman'];
  const source = () => `${registry.hostPort}/podman/source:v1`;
  const copy = () => `${registry.hostPort}/podman/copy:v1`;

  const inspect = async (ref: string): Promise<PodmanImage> => {
    const [found] = JSON.parse((await podman(['image', 'inspect', ref])).stdout) as PodmanImage[];
    if (!found) throw new Error(`podman image inspect ${ref}: nothing`);
    return found;
  };

  beforeAll(async () => {
    work = await makeTempDir('podman');
    registry = await startTargetRegistry();
    ({ podman } = await isolatedPodman(join(work, 'podman')));
    image = await buildImageLayout({
      dir: join(work, 'src'),
      tag: 'v1',
      layers: [
        { size: MiB, seed: 201 },
        { size: 2 * MiB + 5, seed: 202 },
      ],
    });
    await skopeoCopy(image.ref, `docker://${source()}`, ['--preserve-digests']);
  }, 120_000);

  afterAll(async () => {
    await cleanUp(registry?.stop, work ? () => removeTree(work) : undefined);
  }, 60_000);

  it('pulls an image skopeo pushed, with the source layers and config', { timeout: 120_000 }, async () => {
    await podman(['pull', '--tls-verify=false', source()]);
    const pulled = await inspect(source());
    expect(pulled.RootFS.Layers).toEqual(image.layerDigests);
    expect(`sha256:${pulled.Id}`).toBe(image.configDigest);
    expect(pulled.Digest).toBe(image.manifestDigest);
  });

  it('pushes it under a new name; every layer served verifies and unpacks to the source', { timeout: 120_000 }, async () => {
    const digestFile = join(work, 'pushed.digest');
    await podman(['push', '--tls-verify=false', '--digestfile', digestFile, source(), `docker://${copy()}`]);
    const pushedDigest = (await readFile(digestFile, 'utf8')).trim();

    const raw = await skopeoInspectRaw(`docker://${copy()}`);
    expect(raw.digest).toBe(pushedDigest);
    const head = await headManifest(registry.url, 'podman/copy', 'v1');
    expect(head).toMatchObject({ status: 200, digest: pushedDigest });

    const served = await getManifest(registry.url, 'podman/copy', 'v1');
    expect(served.digest).toBe(pushedDigest);
    expect(served.headerDigest).toBe(pushedDigest);
    const config = served.json.config!;
    const configBytes = await getBlob(registry.url, 'podman/copy', config.digest);
    expect(sha256Digest(configBytes)).toBe(config.digest);
    expect((await skopeoInspectConfig(`docker://${copy()}`)).rootfs.diff_ids).toEqual(image.layerDigests);

    // podman knows it pulled these layers from podman/source here, so it usually mounts them
    // (POST ?mount=&from=) as they are; when it uploads instead it gzips them, so the layer digests
    // may differ from the source. What they unpack to may not.
    const layers = served.json.layers ?? [];
    expect(layers).toHaveLength(image.layerDigests.length);
    for (const [i, layer] of layers.entries()) {
      const bytes = await getBlob(registry.url, 'podman/copy', layer.digest);
      expect(bytes.length, layer.digest).toBe(layer.size);
      expect(sha256Digest(bytes)).toBe(layer.digest);
      expect(diffIdOf(bytes)).toBe(image.layerDigests[i]);
    }
  });

  it('uploads every layer when the registry is new to it, and the upload verifies', { timeout: 120_000 }, async () => {
    // Under another name (localhost) the registry is unknown to podman's blob cache, so it cannot
    // mount what it pulled from 127.0.0.1 and must send the bytes, recompressing them (gzip).
    const proxy = await startRecordingProxy(registry.url);
    try {
      const target = `localhost:${proxy.hostPort.split(':')[1]}/podman/upload:v1`;
      const digestFile = join(work, 'uploaded.digest');
      await podman(['push', '--tls-verify=false', '--digestfile', digestFile, source(), `docker://${target}`]);
      const pushedDigest = (await readFile(digestFile, 'utf8')).trim();

      const served = await getManifest(registry.url, 'podman/upload', 'v1');
      expect(served.digest).toBe(pushedDigest);
      const layers = served.json.layers ?? [];
      expect(layers).toHaveLength(image.layerDigests.length);
      for (const [i, layer] of layers.entries()) {
        const completed = proxy.requests.some(
          (r) => r.method === 'PUT' && r.status === 201 && new URL(r.url, proxy.url).searchParams.get('digest') === layer.digest,
        );
        expect(completed, `an upload of ${layer.digest} was completed`).toBe(true);
        const bytes = await getBlob(registry.url, 'podman/upload', layer.digest);
        expect(sha256Digest(bytes)).toBe(layer.digest);
        expect(diffIdOf(bytes)).toBe(image.layerDigests[i]);
      }
    } finally {
      await proxy.close();
    }
  });

  it('pulls its own push back into empty storage with the same layers', { timeout: 120_000 }, async () => {
    await podman(['rmi', '--all', '--force']);
    await podman(['pull', '--tls-verify=false', copy()]);
    const pulled = await inspect(copy());
    expect(pulled.RootFS.Layers).toEqual(image.layerDigests);
    const head = await headManifest(registry.url, 'podman/copy', 'v1');
    expect(pulled.Digest).toBe(head.digest);
  });
});
