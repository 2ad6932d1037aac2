// containerd (`ctr` against a private containerd) and the registry: pull what skopeo pushed (one
// image, and a multi-arch index with every platform), tag and push it to new repositories, and
// compare digests and bytes with the source. containerd uploads a blob as ONE monolithic PUT.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireClients, type RunOptions } from '../support/clients.ts';
import { type RunningContainerd, startContainerd } from '../support/containerd.ts';
import { buildImageLayout, buildIndexLayout, type LayoutImage, type LayoutIndex, sha256Digest } from '../support/images.ts';
import { readLayoutBlob } from '../support/layouts.ts';
import { type RunningRegistry, startTargetRegistry } from '../support/local-host.ts';
import { describeRequests, type RecordedRequest, startRecordingProxy } from '../support/recording-proxy.ts';
import { getBlob, getManifest, headManifest } from '../support/registry-api.ts';
import { skopeoCopy, skopeoInspectRaw } from '../support/skopeo.ts';
import { readTar, tarFile } from '../support/tar.ts';
import { cleanUp, makeTempDir, removeTree } from '../support/tmp.ts';

const MiB = 1 << 20;
const NAMESPACE = 'cirrus-test';
const clients = requireClients(['containerd', 'containerd'], ['ctr', 'containerd'], ['skopeo', 'skopeo']);

interface ListedImage {
  ref: string;
  mediaType: string;
  digest: string;
  platforms: string;
}

describe.skipIf(!clients.available)(`containerd (ctr) pull, tag and push${clients.reason}`, () => {
  let registry: RunningRegistry;
  let containerd: RunningContainerd;
  let work: string;
  let hostsDir: string;
  let image: LayoutImage;
  let index: LayoutIndex;
  const source = () => `${registry.hostPort}/ctr/source:v1`;
  const multi = () => `${registry.hostPort}/ctr/multi:v1`;

  const ctr = (args: string[], opts?: RunOptions) => containerd.ctr(NAMESPACE, args, opts);
  /** Registry flags: plain HTTP, and a private (empty) hosts dir instead of /etc/containerd/certs.d. */
  const remoteFlags = () => ['--plain-http', '--hosts-dir', hostsDir];

  const listImages = async (): Promise<ListedImage[]> => {
    const lines = (await ctr(['images', 'ls'])).stdout.trim().split('\n').slice(1);
    // REF TYPE DIGEST SIZE PLATFORMS LABELS, where SIZE prints as two words ("1.0 MiB").
    return lines
      .filter((line) => line.trim())
      .map((line) => {
        const [ref = '', mediaType = '', digest = '', , , platforms = ''] = line.trim().split(/\s+/);
        return { ref, mediaType, digest, platforms };
      });
  };
  const listed = async (ref: string): Promise<ListedImage> => {
    const all = await listImages();
    const found = all.find((i) => i.ref === ref);
    if (!found) throw new Error(`ctr images ls has no ${ref}: ${JSON.stringify(all)}`);
    return found;
  };
  const content = async (digest: string): Promise<Buffer> => (await ctr(['content', 'get', digest])).stdoutBytes;

  /** Every blob of `img` as the registry serves it in `repo`: verifiable, and the source's bytes. */
  const expectServedImage = async (repo: string, img: LayoutImage, sourceDir: string) => {
    const manifest = await getManifest(registry.url, repo, img.manifestDigest);
    expect(manifest.bytes.equals(img.manifestBytes)).toBe(true);
    for (const digest of [img.configDigest, ...img.layerDigests]) {
      const bytes = await getBlob(registry.url, repo, digest);
      expect(sha256Digest(bytes), `${repo}@${digest}`).toBe(digest);
      expect(bytes.equals(await readLayoutBlob(sourceDir, digest)), `${repo}@${digest}`).toBe(true);
    }
  };

  beforeAll(async () => {
    work = await makeTempDir('containerd');
    hostsDir = join(work, 'hosts.d');
    await mkdir(hostsDir);
    // One after the other, so that afterAll can stop whichever started if the other fails.
    registry = await startTargetRegistry();
    containerd = await startContainerd();
    image = await buildImageLayout({
      dir: join(work, 'src'),
      tag: 'v1',
      layers: [
        { size: MiB, seed: 501 },
        { size: 2 * MiB + 11, seed: 502 },
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
    await skopeoCopy(image.ref, `docker://${source()}`, ['--preserve-digests']);
    await skopeoCopy(index.ref, `docker://${multi()}`, ['--all', '--preserve-digests']);
  }, 120_000);

  afterAll(async () => {
    await cleanUp(registry?.stop, containerd?.stop, work ? () => removeTree(work) : undefined);
  }, 60_000);

  it('pulls an image skopeo pushed; its content store holds the source bytes, unpacked', { timeout: 120_000 }, async () => {
    await ctr(['images', 'pull', ...remoteFlags(), source()]);
    const pulled = await listed(source());
    expect(pulled.digest).toBe(image.manifestDigest);
    expect(pulled.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');

    expect((await content(image.manifestDigest)).equals(image.manifestBytes)).toBe(true);
    expect((await content(image.configDigest)).equals(image.configBytes)).toBe(true);
    for (const digest of image.layerDigests) {
      expect((await content(digest)).equals(await readLayoutBlob(image.dir, digest)), digest).toBe(true);
    }
    const check = await ctr(['images', 'check']);
    expect(check.stdout).toMatch(new RegExp(`${escape(source())}\\s.*complete`));

    // Unpacked into the snapshotter: mount the image and read the files the layers carry.
    const mountPoint = join(work, 'mnt');
    await mkdir(mountPoint);
    await ctr(['images', 'mount', source(), mountPoint]);
    try {
      for (const [i, digest] of image.layerDigests.entries()) {
        const name = `layer-${i}.bin`;
        const packed = tarFile(readTar(await readLayoutBlob(image.dir, digest)), name);
        expect((await readFile(join(mountPoint, name))).equals(packed), name).toBe(true);
      }
    } finally {
      await ctr(['images', 'unmount', mountPoint]);
    }
  });

  it('pulls a multi-arch index with --all-platforms; ls shows the index digest', { timeout: 120_000 }, async () => {
    await ctr(['images', 'pull', ...remoteFlags(), '--all-platforms', multi()]);
    const pulled = await listed(multi());
    expect(pulled.digest).toBe(index.indexDigest);
    expect(pulled.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(pulled.platforms.split(',').sort()).toEqual(['linux/amd64', 'linux/arm64']);

    expect((await content(index.indexDigest)).equals(index.indexBytes)).toBe(true);
    for (const platform of index.images) {
      expect((await content(platform.manifestDigest)).equals(platform.manifestBytes)).toBe(true);
      for (const digest of [platform.configDigest, ...platform.layerDigests]) {
        expect((await content(digest)).equals(await readLayoutBlob(index.dir, digest)), digest).toBe(true);
      }
    }
  });

  it('tags and pushes both to new repositories; the registry serves the source digests and bytes', { timeout: 120_000 }, async () => {
    // Through a proxy on 127.0.0.1: same host name as the source, so containerd mounts each blob
    // from ctr/source (its distribution-source labels are per host name, port left out).
    const proxy = await startRecordingProxy(registry.url);
    try {
      const copy = `${proxy.hostPort}/ctr/copy:v1`;
      await ctr(['images', 'tag', source(), copy]);
      await ctr(['images', 'push', ...remoteFlags(), copy]);
      const log = describeRequests(proxy.requests);
      if (process.env.CIRRUS_TEST_SHOW_REQUESTS) console.log(`ctr push (mount):\n${log}`);
      const mounts = proxy.requests.filter((r) => r.method === 'POST' && r.url.includes('/blobs/uploads/'));
      expect(
        mounts.map((r) => [new URL(r.url, proxy.url).searchParams.get('from'), r.status]),
        log,
      ).toEqual([image.configDigest, ...image.layerDigests].map(() => ['ctr/source', 201]));
      expect(proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('/blobs/')), log).toEqual([]);
    } finally {
      await proxy.close();
    }
    const head = await headManifest(registry.url, 'ctr/copy', 'v1');
    expect(head).toMatchObject({ status: 200, digest: image.manifestDigest, size: image.manifestBytes.length });
    expect(head.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect((await skopeoInspectRaw(`docker://${registry.hostPort}/ctr/copy:v1`)).digest).toBe(image.manifestDigest);
    await expectServedImage('ctr/copy', image, image.dir);

    const multiCopy = `${registry.hostPort}/ctr/multi-copy:v1`;
    await ctr(['images', 'tag', multi(), multiCopy]);
    await ctr(['images', 'push', ...remoteFlags(), multiCopy]);
    const served = await getManifest(registry.url, 'ctr/multi-copy', 'v1');
    expect(served.digest).toBe(index.indexDigest);
    expect(served.headerDigest).toBe(index.indexDigest);
    expect(served.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(served.bytes.equals(index.indexBytes)).toBe(true);
    for (const platform of index.images) await expectServedImage('ctr/multi-copy', platform, index.dir);
  });

  it('uploads each blob as one monolithic PUT when the registry is new to it', { timeout: 120_000 }, async () => {
    // containerd labels each blob with the repositories it came from, per host NAME (port left
    // out: "containerd.io/distribution.source.127.0.0.1=ctr/source"), and mounts from there when
    // it pushes to that host. Addressed as localhost, the proxy is a host it knows no source on,
    // so it cannot mount (POST ?mount=&from=) and sends every byte.
    const proxy = await startRecordingProxy(registry.url);
    const proxyHost = `localhost:${proxy.hostPort.split(':')[1]}`;
    try {
      const upload = `${proxyHost}/ctr/upload:v1`;
      await ctr(['images', 'tag', source(), upload]);
      await ctr(['images', 'push', ...remoteFlags(), upload]);
      const log = describeRequests(proxy.requests);
      if (process.env.CIRRUS_TEST_SHOW_REQUESTS) console.log(`ctr push:\n${log}`);

      const head = await headManifest(registry.url, 'ctr/upload', 'v1');
      expect(head, log).toMatchObject({ status: 200, digest: image.manifestDigest });
      await expectServedImage('ctr/upload', image, image.dir);

      const uploads = proxy.requests.filter((r) => r.url.includes('/blobs/uploads/'));
      expect(uploads.filter((r) => r.method === 'PATCH'), `no PATCH\n${log}`).toEqual([]);
      const sizes = new Map<string, number>([
        [image.configDigest, image.configBytes.length],
        ...image.layerDigests.map((d, i) => [d, image.layerSizes[i]!] as [string, number]),
      ]);
      for (const [digest, size] of sizes) {
        const puts = uploads.filter((r) => r.method === 'PUT' && digestParam(r, proxy.url) === digest);
        expect(puts.map((r) => [r.status, r.bodyBytes, Number(r.contentLength)]), `${digest}\n${log}`).toEqual([[201, size, size]]);
      }
      // One session per blob, opened by a bodiless POST.
      expect(uploads.filter((r) => r.method === 'POST').map((r) => [r.status, r.bodyBytes]), log).toEqual(
        [...sizes.keys()].map(() => [202, 0]),
      );
      const manifestPuts = proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('/manifests/'));
      expect(manifestPuts.map((r) => [r.url, r.status, r.contentType]), log).toEqual([
        ['/v2/ctr/upload/manifests/v1', 201, 'application/vnd.oci.image.manifest.v1+json'],
      ]);

      // The index too: children (each blob uploaded once, shared layers included) before the index.
      proxy.requests.length = 0;
      const multiUpload = `${proxyHost}/ctr/multi-upload:v1`;
      await ctr(['images', 'tag', multi(), multiUpload]);
      await ctr(['images', 'push', ...remoteFlags(), multiUpload]);
      const multiLog = describeRequests(proxy.requests);
      const served = await getManifest(registry.url, 'ctr/multi-upload', 'v1');
      expect(served.digest, multiLog).toBe(index.indexDigest);
      for (const platform of index.images) await expectServedImage('ctr/multi-upload', platform, index.dir);
      expect(proxy.requests.filter((r) => r.method === 'PATCH'), multiLog).toEqual([]);
      const failed = proxy.requests.filter((r) => r.status >= 500 || r.status === 0);
      expect(failed, multiLog).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('pushes a single platform of the index by --platform; the registry serves that manifest', { timeout: 120_000 }, async () => {
    const arm64 = index.images.find((i) => i.tag.endsWith('arm64'))!;
    const target = `${registry.hostPort}/ctr/arm64-only:v1`;
    await ctr(['images', 'tag', multi(), target]);
    await ctr(['images', 'push', ...remoteFlags(), '--platform', 'linux/arm64', target]);
    const head = await headManifest(registry.url, 'ctr/arm64-only', 'v1');
    expect(head).toMatchObject({ status: 200, digest: arm64.manifestDigest });
    await expectServedImage('ctr/arm64-only', arm64, index.dir);
  });
});

function digestParam(r: RecordedRequest, base: string): string | null {
  return new URL(r.url, base).searchParams.get('digest');
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

