// The distribution-spec conformance "Content Management" workflow (v1.1.1, 04_management_test.go:
// deletes), against the real local host, with upstream's content (configs[3], the layer,
// manifests[3] under tagtest0), plus a referrer that outlives its subject.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import { descriptorOf, EMPTY_DESCRIPTOR, EMPTY_JSON, manifestBytes, ociManifest, sha256, type RegistryClient } from '../support/app.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { hostClient, is2xx } from './host.ts';
import { LAYER_BLOB, makeConfig, makeManifest, TAG } from './upstream-v1.ts';

const NAME = 'conformance/management';
const configBlob = makeConfig();
const config = configBlob.bytes;
const manifest = makeManifest(configBlob).bytes;
const digest = sha256(manifest);
const signature = manifestBytes(
  ociManifest(EMPTY_DESCRIPTOR, [], { artifactType: 'application/vnd.example.sig', subject: descriptorOf(MediaType.ociManifest, manifest) }),
);

let host: RunningRegistry;
let client: RegistryClient;
let numTags = 0;
beforeAll(async () => {
  host = await startLocalHost();
  client = hostClient(host.url);
});
afterAll(() => host?.stop());

const tagList = async () => ((await (await client.get(`/v2/${NAME}/tags/list`)).json()) as { tags: string[] }).tags;
const referrerDigests = async () =>
  ((await (await client.get(`/v2/${NAME}/referrers/${digest}`)).json()) as { manifests: Array<{ digest: string }> }).manifests.map((m) => m.digest);

describe('Content Management', () => {
  describe('Setup', () => {
    it('populates the config blob and the layer (POST, then PUT with Content-Length and the body) → 2xx', async () => {
      for (const b of [configBlob, LAYER_BLOB]) {
        const post = await client.send('POST', `/v2/${NAME}/blobs/uploads/`);
        const url = new URL(post.headers.get('location')!);
        url.searchParams.set('digest', b.digest);
        const res = await client.send('PUT', url.pathname + url.search, {
          headers: { 'Content-Length': String(b.bytes.byteLength), 'Content-Type': 'application/octet-stream' },
          body: b.bytes,
        });
        expect(is2xx(res.status)).toBe(true);
      }
    });

    it('populates the tag tagtest0 and a referrer', async () => {
      expect(is2xx((await client.putManifest(NAME, TAG, manifest, MediaType.ociManifest)).status)).toBe(true);
      await client.pushBlob(NAME, EMPTY_JSON);
      await client.pushManifest(NAME, sha256(signature), signature, MediaType.ociManifest);
    });

    it('counts the tags before anything is deleted', async () => {
      const res = await client.get(`/v2/${NAME}/tags/list`);
      expect(res.status).toBe(200);
      numTags = ((await res.json()) as { tags: string[] }).tags.length;
      expect(numTags).toBe(1);
    });
  });

  describe('Manifest delete', () => {
    // Upstream also accepts 400 UNSUPPORTED and 405 where tag deletion is disallowed.
    it('DELETE of a tag → 202; the tag is gone, the manifest stays', async () => {
      expect((await client.delete(`/v2/${NAME}/manifests/${TAG}`)).status).toBe(202);
      expect((await client.get(`/v2/${NAME}/manifests/${TAG}`)).status).toBe(404);
      expect((await client.head(`/v2/${NAME}/manifests/${digest}`)).status).toBe(200);
      expect(await tagList()).toEqual([]);
    });

    // Upstream accepts 202, or 404 as the tag delete may have taken the manifest.
    it('DELETE of the manifest by digest → 202', async () => {
      expect((await client.delete(`/v2/${NAME}/manifests/${digest}`)).status).toBe(202);
    });

    it('GET of the deleted manifest → 404 (upstream: 404, or 200 where deletes are disallowed)', async () => {
      expect((await client.get(`/v2/${NAME}/manifests/${digest}`)).status).toBe(404);
      expect((await client.delete(`/v2/${NAME}/manifests/${digest}`)).status).toBe(404);
    });

    it('the tag list reflects the deletion: one tag fewer (upstream: 200, or 404 when none is left)', async () => {
      const res = await client.get(`/v2/${NAME}/tags/list`);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { tags: string[] }).tags).toHaveLength(numTags - 1);
    });

    it('a referrer outlives its subject until it is deleted itself', async () => {
      expect(await referrerDigests()).toEqual([sha256(signature)]);
      expect((await client.delete(`/v2/${NAME}/manifests/${sha256(signature)}`)).status).toBe(202);
      expect(await referrerDigests()).toEqual([]);
    });
  });

  describe('Blob delete', () => {
    // Upstream accepts 202, 404 or 405 for each.
    it('DELETE of the config and of the layer → 202', async () => {
      expect((await client.delete(`/v2/${NAME}/blobs/${sha256(config)}`)).status).toBe(202);
      expect((await client.delete(`/v2/${NAME}/blobs/${LAYER_BLOB.digest}`)).status).toBe(202);
    });

    it('GET and HEAD of the deleted blob → 404', async () => {
      const res = await client.get(`/v2/${NAME}/blobs/${sha256(config)}`);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('BLOB_UNKNOWN');
      expect((await client.head(`/v2/${NAME}/blobs/${sha256(config)}`)).status).toBe(404);
      expect((await client.delete(`/v2/${NAME}/blobs/${sha256(config)}`)).status).toBe(404);
    });
  });

  describe('Teardown', () => {
    it('removes the last blob', async () => {
      expect((await client.delete(`/v2/${NAME}/blobs/${sha256(EMPTY_JSON)}`)).status).toBe(202);
    });
  });
});
