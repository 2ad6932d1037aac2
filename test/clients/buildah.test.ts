// buildah against a running registry: build an image from scratch (copy, config, commit) in private
// storage, push it as OCI and as Docker schema2, check what the registry serves against what
// buildah wrote, and pull it back into empty storage.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IsolatedBuildah, isolatedBuildah } from '../support/buildah.ts';
import { requireClients } from '../support/clients.ts';
import { randomBytesStream, sha256Digest } from '../support/images.ts';
import { type RunningRegistry, startTargetRegistry } from '../support/local-host.ts';
import { describeRequests, startRecordingProxy } from '../support/recording-proxy.ts';
import { diffIdOf, getBlob, getManifest, headManifest } from '../support/registry-api.ts';
import { skopeoInspectRaw } from '../support/skopeo.ts';
import { readTar, tarFile } from '../support/tar.ts';
import { cleanUp, makeTempDir, removeTree } from '../support/tmp.ts';

const MiB = 1 << 20;
const LOCAL_NAME = 'localhost/cirrus-test/buildah:v1';
const PAYLOAD_PATH = 'data/payload.bin';
const RELEASE_PATH = 'etc/cirrus-release';
const RELEASE_TEXT = 'cirrus buildah test image\n';
const LABEL = 'org.example.cirrus-test';
const clients = requireClients(['buildah', 'buildah'], ['skopeo', 'skopeo']);

interface ImageConfig {
  architecture: string;
  os: string;
  config: { Labels?: Record<string, string>; Entrypoint?: string[]; Env?: string[]; WorkingDir?: string };
  rootfs: { type: string; diff_ids: string[] };
}

describe.skipIf(!clients.available)(`buildah build from scratch, push and pull${clients.reason}`, () => {
  let registry: RunningRegistry;
  let work: string;
  let buildah: IsolatedBuildah['buildah'];
  let payload: Buffer;
  /** The image ID buildah commit wrote: the sha256 of the config it built. */
  let imageId: string;

  /** Checks the single layer buildah committed: verifiable, consistent with the config, holding the copied files. */
  const expectLayerHoldsFiles = async (repo: string, layer: { digest: string; size: number }, config: ImageConfig) => {
    const bytes = await getBlob(registry.url, repo, layer.digest);
    expect(bytes.length, layer.digest).toBe(layer.size);
    expect(sha256Digest(bytes)).toBe(layer.digest);
    expect(diffIdOf(bytes)).toBe(config.rootfs.diff_ids[0]);
    const entries = readTar(bytes);
    expect(tarFile(entries, PAYLOAD_PATH).equals(payload)).toBe(true);
    expect(tarFile(entries, RELEASE_PATH).toString('utf8')).toBe(RELEASE_TEXT);
  };

  const fetchConfig = async (repo: string, descriptor: { digest: string; size: number }): Promise<ImageConfig> => {
    const bytes = await getBlob(registry.url, repo, descriptor.digest);
    expect(bytes.length).toBe(descriptor.size);
    expect(sha256Digest(bytes)).toBe(descriptor.digest);
    return JSON.parse(bytes.toString('utf8')) as ImageConfig;
  };

  const push = async (target: string, extra: string[] = []): Promise<string> => {
    const digestFile = join(work, `digest-${Math.random().toString(36).slice(2)}`);
    await buildah(['push', '--tls-verify=false', '--digestfile', digestFile, ...extra, LOCAL_NAME, `docker://${target}`]);
    return (await readFile(digestFile, 'utf8')).trim();
  };

  beforeAll(async () => {
    work = await makeTempDir('buildah');
    registry = await startTargetRegistry();
    ({ buildah } = await isolatedBuildah(join(work, 'buildah')));

    const chunks: Buffer[] = [];
    for await (const chunk of randomBytesStream(MiB + MiB / 2 + 7, 401)) chunks.push(chunk);
    payload = Buffer.concat(chunks);
    await writeFile(join(work, 'payload.bin'), payload);
    await writeFile(join(work, 'release'), RELEASE_TEXT);

    const container = 'cirrus-scratch';
    await buildah(['from', '--name', container, 'scratch']);
    await buildah(['copy', container, join(work, 'payload.bin'), `/${PAYLOAD_PATH}`]);
    await buildah(['copy', container, join(work, 'release'), `/${RELEASE_PATH}`]);
    await buildah([
      'config',
      '--os', 'linux',
      '--arch', 'amd64',
      '--entrypoint', `["/${PAYLOAD_PATH}"]`,
      '--env', 'CIRRUS_TEST=buildah',
      '--workingdir', '/data',
      '--label', `${LABEL}=from-scratch`,
      container,
    ]);
    const iidFile = join(work, 'iid');
    await buildah(['commit', '--format', 'oci', '--iidfile', iidFile, '--rm', container, LOCAL_NAME]);
    const iid = (await readFile(iidFile, 'utf8')).trim();
    imageId = iid.startsWith('sha256:') ? iid : `sha256:${iid}`;
  }, 120_000);

  afterAll(async () => {
    // Unmount and forget buildah's containers before the tree goes (removeTree also unmounts).
    if (buildah) await buildah(['rm', '--all'], { allowFailure: true });
    await cleanUp(registry?.stop, work ? () => removeTree(work) : undefined);
  }, 60_000);

  it('pushes its OCI image; the registry serves the digest buildah wrote and a layer holding the copied files', { timeout: 120_000 }, async () => {
    const remote = `${registry.hostPort}/buildah/scratch:v1`;
    const pushedDigest = await push(remote);
    expect(pushedDigest).toMatch(/^sha256:[0-9a-f]{64}$/);

    const raw = await skopeoInspectRaw(`docker://${remote}`);
    expect(raw.digest).toBe(pushedDigest);
    const head = await headManifest(registry.url, 'buildah/scratch', 'v1');
    expect(head).toMatchObject({ status: 200, digest: pushedDigest, size: raw.bytes.length });
    expect(head.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect((await headManifest(registry.url, 'buildah/scratch', pushedDigest)).digest).toBe(pushedDigest);

    const served = await getManifest(registry.url, 'buildah/scratch', 'v1');
    expect(served.digest).toBe(pushedDigest);
    expect(served.headerDigest).toBe(pushedDigest);
    expect(served.bytes.equals(raw.bytes)).toBe(true);
    expect(served.json.config?.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    // buildah keeps the config it committed as is: its digest is the image ID.
    expect(served.json.config?.digest).toBe(imageId);
    const config = await fetchConfig('buildah/scratch', served.json.config!);
    expect(config).toMatchObject({ os: 'linux', architecture: 'amd64' });
    expect(config.config.Labels?.[LABEL]).toBe('from-scratch');
    expect(config.config.Entrypoint).toEqual([`/${PAYLOAD_PATH}`]);
    expect(config.config.Env).toContain('CIRRUS_TEST=buildah');
    expect(config.rootfs.diff_ids).toHaveLength(1);

    // The working container's changes are committed as one layer, gzipped on push.
    const layers = served.json.layers ?? [];
    expect(layers).toHaveLength(1);
    expect(layers[0]!.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    await expectLayerHoldsFiles('buildah/scratch', layers[0]!, config);
  });

  it('pushes a Docker schema2 manifest with -f v2s2; the same files and diff_id', { timeout: 120_000 }, async () => {
    const remote = `${registry.hostPort}/buildah/docker:v1`;
    const pushedDigest = await push(remote, ['-f', 'v2s2']);

    expect((await skopeoInspectRaw(`docker://${remote}`)).digest).toBe(pushedDigest);
    const served = await getManifest(registry.url, 'buildah/docker', 'v1');
    expect(served.digest).toBe(pushedDigest);
    expect(served.headerDigest).toBe(pushedDigest);
    expect(served.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(served.json.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(served.json.config?.mediaType).toBe('application/vnd.docker.container.image.v1+json');
    // Converted to Docker's format the config is a new blob; the layer's contents are not new.
    const config = await fetchConfig('buildah/docker', served.json.config!);
    expect(config.config.Labels?.[LABEL]).toBe('from-scratch');
    const oci = await getManifest(registry.url, 'buildah/scratch', 'v1');
    const ociConfig = await fetchConfig('buildah/scratch', oci.json.config!);
    expect(config.rootfs.diff_ids).toEqual(ociConfig.rootfs.diff_ids);

    const layers = served.json.layers ?? [];
    expect(layers).toHaveLength(1);
    expect(layers[0]!.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
    await expectLayerHoldsFiles('buildah/docker', layers[0]!, config);
  });

  it('uploads each blob when the registry is new to it, and every upload verifies', { timeout: 120_000 }, async () => {
    // Under the proxy's address the registry is unknown to buildah's blob cache: no mount, no
    // reuse, every blob is sent. The requests are recorded to pin down how buildah uploads.
    const proxy = await startRecordingProxy(registry.url);
    try {
      const pushedDigest = await push(`${proxy.hostPort}/buildah/recorded:v1`);
      const log = describeRequests(proxy.requests);
      if (process.env.CIRRUS_TEST_SHOW_REQUESTS) console.log(`buildah push:\n${log}`);
      const served = await getManifest(registry.url, 'buildah/recorded', 'v1');
      expect(served.digest).toBe(pushedDigest);
      const config = await fetchConfig('buildah/recorded', served.json.config!);
      const layer = served.json.layers![0]!;
      await expectLayerHoldsFiles('buildah/recorded', layer, config);

      const failed = proxy.requests.filter((r) => r.status >= 500 || r.status === 0);
      expect(failed, log).toEqual([]);
      for (const blob of [served.json.config!, layer]) {
        const completing = proxy.requests.filter(
          (r) => r.method === 'PUT' && new URL(r.url, proxy.url).searchParams.get('digest') === blob.digest,
        );
        expect(completing.map((r) => r.status), `PUT ?digest=${blob.digest}\n${log}`).toEqual([201]);
        // The bytes went in the session's PATCH (streamed, no Content-Range) or in the PUT itself.
        const sent = proxy.requests
          .filter((r) => (r.method === 'PATCH' || r.method === 'PUT') && r.url.includes('/blobs/uploads/'))
          .filter((r) => r.method === 'PATCH' || new URL(r.url, proxy.url).searchParams.get('digest') === blob.digest)
          .reduce((sum, r) => sum + r.bodyBytes, 0);
        expect(sent, log).toBeGreaterThanOrEqual(blob.size);
      }
      const manifestPut = proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('/manifests/'));
      expect(manifestPut.map((r) => [r.url, r.status, r.contentType]), log).toEqual([
        ['/v2/buildah/recorded/manifests/v1', 201, 'application/vnd.oci.image.manifest.v1+json'],
      ]);
    } finally {
      await proxy.close();
    }
  });

  it('pulls its push back into empty storage; the mounted rootfs holds the copied files', { timeout: 120_000 }, async () => {
    const remote = `${registry.hostPort}/buildah/scratch:v1`;
    const pushed = await headManifest(registry.url, 'buildah/scratch', 'v1');
    await buildah(['rmi', '--all', '--force']);
    expect((await buildah(['images', '--quiet'])).stdout.trim()).toBe('');

    await buildah(['pull', '--tls-verify=false', `docker://${remote}`]);
    const listed = JSON.parse((await buildah(['images', '--json', '--digests', '--no-trunc'])).stdout) as Array<{
      id: string;
      digest: string;
    }>;
    expect(listed.map((i) => i.id)).toEqual([imageId]);
    // The digest buildah records for a pulled image is that of the manifest it pulled.
    expect(listed[0]!.digest).toBe(pushed.digest);

    const container = 'cirrus-pulled';
    await buildah(['from', '--name', container, remote]);
    const mountPoint = (await buildah(['mount', container])).stdout.trim();
    try {
      expect((await readFile(join(mountPoint, PAYLOAD_PATH))).equals(payload)).toBe(true);
      expect(await readFile(join(mountPoint, RELEASE_PATH), 'utf8')).toBe(RELEASE_TEXT);
    } finally {
      await buildah(['rm', container]);
    }
  });
});
