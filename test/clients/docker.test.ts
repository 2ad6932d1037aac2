// docker (CLI and a private dockerd) against a running registry: load an image, push it, remove it,
// pull it back, and compare image ID, layers and the manifest digest docker reported.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireClients, run, type RunOptions } from '../support/clients.ts';
import { type RunningDockerd, startDockerd } from '../support/dockerd.ts';
import { buildImageLayout, type LayoutImage, sha256Digest } from '../support/images.ts';
import { type RunningRegistry, startTargetRegistry } from '../support/local-host.ts';
import { diffIdOf, getBlob, getManifest, headManifest } from '../support/registry-api.ts';
import { skopeoCopy, skopeoInspectRaw } from '../support/skopeo.ts';
import { cleanUp, makeTempDir, removeTree } from '../support/tmp.ts';

const MiB = 1 << 20;
const LOCAL_NAME = 'cirrus-test/docker:v1';
const clients = requireClients(['docker', 'docker.io'], ['dockerd', 'docker.io'], ['skopeo', 'skopeo']);

interface DockerImage {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  RootFS: { Layers: string[] };
}

describe.skipIf(!clients.available)(`docker load, push and pull${clients.reason}`, () => {
  let registry: RunningRegistry;
  let dockerd: RunningDockerd;
  let work: string;
  let image: LayoutImage;
  const remote = () => `${registry.hostPort}/docker/image:v1`;

  const docker = (args: string[], opts: RunOptions = {}) => run('docker', args, { env: dockerd.env, ...opts });
  const inspect = async (ref: string): Promise<DockerImage> => {
    const [found] = JSON.parse((await docker(['image', 'inspect', ref])).stdout) as DockerImage[];
    if (!found) throw new Error(`docker image inspect ${ref}: nothing`);
    return found;
  };

  beforeAll(async () => {
    work = await makeTempDir('docker');
    // One after the other, so that afterAll can stop whichever started if the other fails.
    registry = await startTargetRegistry();
    dockerd = await startDockerd();
    image = await buildImageLayout({
      dir: join(work, 'src'),
      tag: 'v1',
      layers: [
        { size: MiB, seed: 301 },
        { size: 2 * MiB + 77, seed: 302 },
      ],
    });
    const archive = join(work, 'image.tar');
    await skopeoCopy(image.ref, `docker-archive:${archive}:${LOCAL_NAME}`);
    await docker(['load', '--input', archive]);
  }, 120_000);

  afterAll(async () => {
    await cleanUp(registry?.stop, dockerd?.stop, work ? () => removeTree(work) : undefined);
  }, 60_000);

  it('loads the image with the source config as its ID and the source layers', { timeout: 120_000 }, async () => {
    const loaded = await inspect(LOCAL_NAME);
    expect(loaded.Id).toBe(image.configDigest);
    expect(loaded.RootFS.Layers).toEqual(image.layerDigests);
  });

  it('pushes it; the registry serves the manifest docker reported, with verifiable layers', { timeout: 120_000 }, async () => {
    await docker(['tag', LOCAL_NAME, remote()]);
    const push = await docker(['push', remote()]);
    const pushedDigest = /digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(push.stdout)?.[1];
    expect(pushedDigest, push.stdout).toBeDefined();

    const head = await headManifest(registry.url, 'docker/image', 'v1');
    expect(head).toMatchObject({ status: 200, digest: pushedDigest });
    expect((await skopeoInspectRaw(`docker://${remote()}`)).digest).toBe(pushedDigest);

    const served = await getManifest(registry.url, 'docker/image', 'v1');
    expect(served.digest).toBe(pushedDigest);
    expect(served.json.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(served.json.config?.digest).toBe(image.configDigest);
    const config = await getBlob(registry.url, 'docker/image', image.configDigest);
    expect(config.equals(image.configBytes)).toBe(true);
    // docker gzips layers on push: their digests are new, what they unpack to is the source.
    const layers = served.json.layers ?? [];
    expect(layers).toHaveLength(image.layerDigests.length);
    for (const [i, layer] of layers.entries()) {
      const bytes = await getBlob(registry.url, 'docker/image', layer.digest);
      expect(bytes.length, layer.digest).toBe(layer.size);
      expect(sha256Digest(bytes)).toBe(layer.digest);
      expect(diffIdOf(bytes)).toBe(image.layerDigests[i]);
    }
  });

  it('pulls it back after removal with the same image ID and layers', { timeout: 120_000 }, async () => {
    const pushed = await headManifest(registry.url, 'docker/image', 'v1');
    await docker(['rmi', LOCAL_NAME, remote()]);
    expect((await docker(['image', 'inspect', image.configDigest], { allowFailure: true })).code).not.toBe(0);

    await docker(['pull', remote()]);
    const pulled = await inspect(remote());
    expect(pulled.Id).toBe(image.configDigest);
    expect(pulled.RootFS.Layers).toEqual(image.layerDigests);
    expect(pulled.RepoDigests).toContain(`${registry.hostPort}/docker/image@${pushed.digest}`);
  });
});
