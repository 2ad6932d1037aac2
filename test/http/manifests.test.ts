import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import {
  CONFIG_TYPE,
  createTestApp,
  descriptorOf,
  EMPTY_DESCRIPTOR,
  EMPTY_JSON,
  expectError,
  LAYER_TYPE,
  manifestBytes,
  objectKeys,
  ociIndex,
  ociManifest,
  sha256,
  type TestApp,
} from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

/** Checks GET and HEAD of `reference` serve exactly `bytes` as `mediaType`. */
async function expectServed(name: string, reference: string, bytes: Uint8Array, mediaType: string, accept?: string): Promise<void> {
  const headers = accept ? { Accept: accept } : undefined;
  for (const method of ['GET', 'HEAD'] as const) {
    const res = await t.client.send(method, `/v2/${name}/manifests/${reference}`, { headers });
    expect(res.status, `${method} ${reference}`).toBe(200);
    expect(res.headers.get('content-type')).toBe(mediaType);
    expect(res.headers.get('content-length')).toBe(String(bytes.byteLength));
    expect(res.headers.get('docker-content-digest')).toBe(sha256(bytes));
    const body = new Uint8Array(await res.arrayBuffer());
    expect(Buffer.from(body).equals(method === 'GET' ? bytes : new Uint8Array(0))).toBe(true);
  }
}

async function image(name: string, configType = CONFIG_TYPE, layerType = LAYER_TYPE, mediaType: string = MediaType.ociManifest) {
  const config = JSON.stringify({ os: 'linux', nonce: randomBytes(4).toString('hex') });
  const layer = randomBytes(256);
  await t.client.pushBlob(name, config);
  await t.client.pushBlob(name, layer);
  const doc = { schemaVersion: 2, mediaType, config: descriptorOf(configType, config), layers: [descriptorOf(layerType, layer)] };
  return manifestBytes(doc);
}

describe('PUT /v2/<name>/manifests/<reference>', () => {
  it('by tag: 201 with Location (by digest) and Docker-Content-Digest', async () => {
    const bytes = await image('man/put');
    const res = await t.client.putManifest('man/put', 'v1', bytes, MediaType.ociManifest);
    expect(res.status).toBe(201);
    expect(res.headers.get('docker-content-digest')).toBe(sha256(bytes));
    expect(res.headers.get('location')).toBe(`http://localhost/v2/man/put/manifests/${sha256(bytes)}`);
    expect(res.headers.get('oci-subject')).toBeNull();
  });

  it('by digest: 201, reachable by digest only', async () => {
    const bytes = await image('man/put');
    const res = await t.client.putManifest('man/put', sha256(bytes), bytes, MediaType.ociManifest);
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`http://localhost/v2/man/put/manifests/${sha256(bytes)}`);
    await expectServed('man/put', sha256(bytes), bytes, MediaType.ociManifest);
    expect(((await (await t.client.get('/v2/man/put/tags/list')).json()) as { tags: string[] }).tags).toEqual(['v1']);
  });

  it('with ?tag= points several tags at once', async () => {
    const bytes = await image('man/multi');
    const res = await t.client.send('PUT', `/v2/man/multi/manifests/${sha256(bytes)}?tag=a&tag=b`, {
      headers: { 'Content-Type': MediaType.ociManifest },
      body: bytes,
    });
    expect(res.status).toBe(201);
    await expectServed('man/multi', 'a', bytes, MediaType.ociManifest);
    await expectServed('man/multi', 'b', bytes, MediaType.ociManifest);
  });

  it('moves a tag to a newer manifest', async () => {
    const first = await image('man/move');
    const second = await image('man/move');
    await t.client.pushManifest('man/move', 'latest', first, MediaType.ociManifest);
    await t.client.pushManifest('man/move', 'latest', second, MediaType.ociManifest);
    await expectServed('man/move', 'latest', second, MediaType.ociManifest);
    await expectServed('man/move', sha256(first), first, MediaType.ociManifest);
  });
});

describe('GET /v2/<name>/manifests/<reference>', () => {
  it('serves an OCI image manifest by tag and by digest', async () => {
    const bytes = await image('man/oci');
    await t.client.pushManifest('man/oci', 'v1', bytes, MediaType.ociManifest);
    await expectServed('man/oci', 'v1', bytes, MediaType.ociManifest);
    await expectServed('man/oci', sha256(bytes), bytes, MediaType.ociManifest);
  });

  it('serves an OCI index whose children are in the repository', async () => {
    const amd = await image('man/index');
    const arm = await image('man/index');
    await t.client.pushManifest('man/index', sha256(amd), amd, MediaType.ociManifest);
    await t.client.pushManifest('man/index', sha256(arm), arm, MediaType.ociManifest);
    const index = manifestBytes(
      ociIndex([
        { ...descriptorOf(MediaType.ociManifest, amd), platform: { os: 'linux', architecture: 'amd64' } } as never,
        { ...descriptorOf(MediaType.ociManifest, arm), platform: { os: 'linux', architecture: 'arm64' } } as never,
      ]),
    );
    await t.client.pushManifest('man/index', 'multi', index, MediaType.ociIndex);
    await expectServed('man/index', 'multi', index, MediaType.ociIndex);
    await expectServed('man/index', sha256(index), index, MediaType.ociIndex);
  });

  it('serves a Docker schema2 manifest and manifest list', async () => {
    const docker = await image('man/docker', 'application/vnd.docker.container.image.v1+json', 'application/vnd.docker.image.rootfs.diff.tar.gzip', MediaType.dockerManifest);
    await t.client.pushManifest('man/docker', 'v2', docker, MediaType.dockerManifest);
    await expectServed('man/docker', 'v2', docker, MediaType.dockerManifest);
    const list = manifestBytes({
      schemaVersion: 2,
      mediaType: MediaType.dockerManifestList,
      manifests: [{ ...descriptorOf(MediaType.dockerManifest, docker), platform: { os: 'linux', architecture: 'amd64' } }],
    });
    await t.client.pushManifest('man/docker', 'list', list, MediaType.dockerManifestList);
    await expectServed('man/docker', 'list', list, MediaType.dockerManifestList);
    await expectServed('man/docker', sha256(list), list, MediaType.dockerManifestList);
  });

  it('serves an artifact with artifactType and the empty config', async () => {
    await t.client.pushBlob('man/artifact', EMPTY_JSON);
    const payload = randomBytes(100);
    await t.client.pushBlob('man/artifact', payload);
    const bytes = manifestBytes(
      ociManifest(EMPTY_DESCRIPTOR, [descriptorOf('application/vnd.example.payload', payload)], { artifactType: 'application/vnd.example.thing' }),
    );
    await t.client.pushManifest('man/artifact', 'thing', bytes, MediaType.ociManifest);
    await expectServed('man/artifact', 'thing', bytes, MediaType.ociManifest);
  });

  it('serves a manifest too large to keep inline (stored as an object) byte for byte', async () => {
    const config = await image('man/big');
    const doc = JSON.parse(new TextDecoder().decode(config)) as Record<string, unknown>;
    const bytes = manifestBytes({ ...doc, annotations: { filler: 'x'.repeat(400 * 1024) } });
    await t.client.pushManifest('man/big', 'big', bytes, MediaType.ociManifest);
    // Stored as a blob of its own (blobs/<uuid>, indexed by digest) so that GC can collect it.
    const stored = await t.table.get(`REPO#man/big`, `MANIFEST#${sha256(bytes)}`);
    expect(stored?.attrs.body).toBeUndefined();
    // Nor does the item copy the 400 KiB of annotations: DynamoDB refuses items over 400 KB.
    expect(Buffer.byteLength(JSON.stringify(stored?.attrs))).toBeLessThan(400 * 1000);
    expect(await objectKeys(t.objects, 'blobs/')).toContain(stored?.attrs.key);
    await expectServed('man/big', 'big', bytes, MediaType.ociManifest);
  });

  it('answers 404 MANIFEST_UNKNOWN for an unknown tag or digest', async () => {
    await expectError(await t.client.get('/v2/man/oci/manifests/nope'), 404, 'MANIFEST_UNKNOWN');
    await expectError(await t.client.get(`/v2/man/oci/manifests/${sha256('nothing')}`), 404, 'MANIFEST_UNKNOWN');
    expect((await t.client.head('/v2/man/oci/manifests/nope')).status).toBe(404);
  });

  it('answers 404 MANIFEST_UNKNOWN for a reference that is no valid tag or digest; a PUT to one stays 400', async () => {
    for (const reference of ['.INVALID_MANIFEST_NAME', 'sha256:totallywrong', 'md5:abc', '-dash']) {
      await expectError(await t.client.get(`/v2/man/oci/manifests/${reference}`), 404, 'MANIFEST_UNKNOWN');
      const head = await t.client.head(`/v2/man/oci/manifests/${reference}`);
      expect(head.status).toBe(404);
    }
    await expectError(await t.client.putManifest('man/oci', '.INVALID_MANIFEST_NAME', '{}', 'application/vnd.oci.image.manifest.v1+json'), 400, 'MANIFEST_INVALID');
    await expectError(await t.client.putManifest('man/oci', 'sha256:totallywrong', '{}', 'application/vnd.oci.image.manifest.v1+json'), 400, 'DIGEST_INVALID');
  });

  describe('Accept negotiation', () => {
    it('answers 404 MANIFEST_UNKNOWN when an index is stored and Accept lists only image manifest types', async () => {
      const child = await image('man/accept');
      await t.client.pushManifest('man/accept', sha256(child), child, MediaType.ociManifest);
      const index = manifestBytes(ociIndex([descriptorOf(MediaType.ociManifest, child)]));
      await t.client.pushManifest('man/accept', 'idx', index, MediaType.ociIndex);
      const accept = `${MediaType.ociManifest}, ${MediaType.dockerManifest}`;
      await expectError(await t.client.get('/v2/man/accept/manifests/idx', { Accept: accept }), 404, 'MANIFEST_UNKNOWN');
      expect((await t.client.head('/v2/man/accept/manifests/idx', { Accept: accept })).status).toBe(404);
    });

    it('serves when Accept names the type, a wildcard, or no manifest type at all', async () => {
      const child = await image('man/accept2');
      await t.client.pushManifest('man/accept2', sha256(child), child, MediaType.ociManifest);
      const index = manifestBytes(ociIndex([descriptorOf(MediaType.ociManifest, child)]));
      await t.client.pushManifest('man/accept2', 'idx', index, MediaType.ociIndex);
      for (const accept of [`${MediaType.ociManifest}, ${MediaType.ociIndex}`, '*/*', 'application/json']) {
        await expectServed('man/accept2', 'idx', index, MediaType.ociIndex, accept);
      }
    });
  });
});
