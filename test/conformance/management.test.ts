// The distribution-spec conformance "Content Management" workflow (deletes), against the real local host.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import { CONFIG_TYPE, descriptorOf, EMPTY_DESCRIPTOR, EMPTY_JSON, manifestBytes, ociManifest, sha256, type RegistryClient } from '../support/app.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { hostClient } from './host.ts';

const NAME = 'conformance/management';
const config = randomBytes(200);
const manifest = manifestBytes(ociManifest(descriptorOf(CONFIG_TYPE, config), []));
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
    it('populates a blob, a tag (plus a second tag) and a referrer', async () => {
      await client.pushBlob(NAME, config);
      await client.pushBlob(NAME, EMPTY_JSON);
      await client.pushManifest(NAME, 'tagtest0', manifest, MediaType.ociManifest);
      await client.pushManifest(NAME, 'tagtest1', manifest, MediaType.ociManifest);
      await client.pushManifest(NAME, sha256(signature), signature, MediaType.ociManifest);
    });

    it('counts the tags before anything is deleted', async () => {
      numTags = (await tagList()).length;
      expect(numTags).toBe(2);
    });
  });

  describe('Manifest delete', () => {
    it('DELETE of a tag → 202; the tag is gone, the manifest stays', async () => {
      expect((await client.delete(`/v2/${NAME}/manifests/tagtest0`)).status).toBe(202);
      expect((await client.get(`/v2/${NAME}/manifests/tagtest0`)).status).toBe(404);
      expect((await client.head(`/v2/${NAME}/manifests/${digest}`)).status).toBe(200);
      expect(await tagList()).toEqual(['tagtest1']);
    });

    it('DELETE of the manifest by digest → 202', async () => {
      expect((await client.delete(`/v2/${NAME}/manifests/${digest}`)).status).toBe(202);
    });

    it('GET of the deleted manifest → 404, by digest and by its remaining tag', async () => {
      expect((await client.get(`/v2/${NAME}/manifests/${digest}`)).status).toBe(404);
      expect((await client.get(`/v2/${NAME}/manifests/tagtest1`)).status).toBe(404);
      expect((await client.delete(`/v2/${NAME}/manifests/${digest}`)).status).toBe(404);
    });

    it('the tag list reflects the deletion', async () => {
      expect((await tagList()).length).toBeLessThan(numTags);
      expect(await tagList()).toEqual([]);
    });

    it('a referrer outlives its subject until it is deleted itself', async () => {
      expect(await referrerDigests()).toEqual([sha256(signature)]);
      expect((await client.delete(`/v2/${NAME}/manifests/${sha256(signature)}`)).status).toBe(202);
      expect(await referrerDigests()).toEqual([]);
    });
  });

  describe('Blob delete', () => {
    it('DELETE of a blob → 202', async () => {
      expect((await client.delete(`/v2/${NAME}/blobs/${sha256(config)}`)).status).toBe(202);
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
