// The distribution-spec conformance "Pull" workflow, against the real local host.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import { CONFIG_TYPE, descriptorOf, LAYER_TYPE, manifestBytes, ociManifest, sha256, UNKNOWN_DIGEST, type RegistryClient } from '../support/app.ts';
import { onAws } from '../support/backend.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { expectBlob, hostClient, is2xx, pullBlob, SPEC_ERROR_CODES } from './host.ts';

const NAME = 'conformance/pull';
const config = new TextEncoder().encode(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
const layer = randomBytes(256 * 1024);
const manifest = manifestBytes(ociManifest(descriptorOf(CONFIG_TYPE, config), [descriptorOf(LAYER_TYPE, layer)]));
const manifestDigest = sha256(manifest);

let host: RunningRegistry;
let client: RegistryClient;
let tag: string;
beforeAll(async () => {
  host = await startLocalHost();
  client = hostClient(host.url);
});
afterAll(() => host?.stop());

describe('Pull', () => {
  describe('Setup', () => {
    it('populates the registry with a config blob and a layer (POST then PUT)', async () => {
      for (const bytes of [config, layer]) {
        const { location } = await client.startUpload(NAME);
        expect(is2xx((await client.finishUpload(location, sha256(bytes), bytes)).status)).toBe(true);
      }
    });

    it('populates the registry with a tagged manifest', async () => {
      expect(is2xx((await client.putManifest(NAME, 'tagtest0', manifest, MediaType.ociManifest)).status)).toBe(true);
    });

    it('gets the name of a tag', async () => {
      const list = (await (await client.get(`/v2/${NAME}/tags/list`)).json()) as { tags: string[] };
      tag = list.tags[0]!;
      expect(tag).toBe('tagtest0');
    });
  });

  describe('Pull blobs', () => {
    it('HEAD of a nonexistent blob → 404', async () => {
      expect((await client.head(`/v2/${NAME}/blobs/${UNKNOWN_DIGEST}`)).status).toBe(404);
    });

    it('HEAD of an existing blob → 200 with its digest and length', async () => {
      const res = await client.head(`/v2/${NAME}/blobs/${sha256(config)}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(sha256(config));
      expect(res.headers.get('content-length')).toBe(String(config.byteLength));
    });

    it('GET of a nonexistent blob → 404', async () => {
      expect((await client.get(`/v2/${NAME}/blobs/${UNKNOWN_DIGEST}`)).status).toBe(404);
    });

    it('GET of an existing blob → 307 to a signed URL that serves its bytes', async () => {
      await expectBlob(host.url, NAME, sha256(config), config);
      await expectBlob(host.url, NAME, sha256(layer), layer);
    });

    it('the signed URL honours Range (206 with the slice)', async () => {
      const { res, bytes } = await pullBlob(host.url, NAME, sha256(layer), 'bytes=1000-1999');
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes 1000-1999/${layer.byteLength}`);
      expect(bytes.equals(layer.subarray(1000, 2000))).toBe(true);
    });

    it('the signed URL honours a suffix Range (206 with the last bytes)', async () => {
      const tail = await pullBlob(host.url, NAME, sha256(layer), 'bytes=-10');
      expect(tail.res.status).toBe(206);
      expect(tail.bytes.equals(layer.subarray(layer.byteLength - 10))).toBe(true);
    });

    it('a tampered signed URL is refused (signature, expiry)', async () => {
      const redirect = await fetch(`${host.url}/v2/${NAME}/blobs/${sha256(layer)}`, { redirect: 'manual' });
      const url = new URL(redirect.headers.get('location')!, host.url);
      expect((await fetch(url)).status).toBe(200);
      // The embedded store's parameters are signature/expires (a time); S3's X-Amz-Signature/X-Amz-Expires (seconds).
      const [signatureParam, expiresParam] = onAws ? ['X-Amz-Signature', 'X-Amz-Expires'] : ['signature', 'expires'];
      const signature = url.searchParams.get(signatureParam)!;
      const forged = new URL(url);
      forged.searchParams.set(signatureParam, (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1));
      expect((await fetch(forged)).status).toBe(403);
      const extended = new URL(url);
      extended.searchParams.set(expiresParam, String(Number(url.searchParams.get(expiresParam)) + 3600));
      expect((await fetch(extended)).status).toBe(403);
    });
  });

  describe('Pull manifests', () => {
    const accept = { Accept: MediaType.ociManifest };

    it('HEAD of a nonexistent manifest → 404', async () => {
      expect((await client.head(`/v2/${NAME}/manifests/nonexistent`, accept)).status).toBe(404);
    });

    it('HEAD by digest and by tag → 200 with the digest', async () => {
      for (const reference of [manifestDigest, tag]) {
        const res = await client.head(`/v2/${NAME}/manifests/${reference}`, accept);
        expect(res.status).toBe(200);
        expect(res.headers.get('docker-content-digest')).toBe(manifestDigest);
        expect(res.headers.get('content-length')).toBe(String(manifest.byteLength));
        expect(res.headers.get('content-type')).toBe(MediaType.ociManifest);
      }
    });

    it('GET of a nonexistent manifest → 404', async () => {
      expect((await client.get(`/v2/${NAME}/manifests/nonexistent`, accept)).status).toBe(404);
    });

    it('GET by digest and by tag → 200 with the bytes pushed', async () => {
      for (const reference of [manifestDigest, tag]) {
        const res = await client.get(`/v2/${NAME}/manifests/${reference}`, accept);
        expect(res.status).toBe(200);
        expect(res.headers.get('docker-content-digest')).toBe(manifestDigest);
        expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(manifest))).toBe(true);
      }
    });
  });

  describe('Error codes', () => {
    it('a 400 body is OCI-conforming JSON', async () => {
      const res = await client.putManifest(NAME, 'sha256:totallywrong', '{"schemaVersion": 2, "invalid": true}', MediaType.ociManifest);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { errors: Array<{ code: string; message: string }> };
      expect(body.errors.length).toBeGreaterThan(0);
      expect(SPEC_ERROR_CODES).toContain(body.errors[0]!.code);
    });
  });

  describe('Teardown', () => {
    it('deletes the manifest, then the config and layer blobs', async () => {
      expect((await client.delete(`/v2/${NAME}/manifests/${manifestDigest}`)).status).toBe(202);
      expect((await client.delete(`/v2/${NAME}/blobs/${sha256(config)}`)).status).toBe(202);
      expect((await client.delete(`/v2/${NAME}/blobs/${sha256(layer)}`)).status).toBe(202);
    });

    it('everything deleted is 404 afterwards', async () => {
      expect((await client.get(`/v2/${NAME}/manifests/${manifestDigest}`)).status).toBe(404);
      expect((await client.get(`/v2/${NAME}/manifests/${tag}`)).status).toBe(404);
      expect((await client.get(`/v2/${NAME}/blobs/${sha256(config)}`)).status).toBe(404);
      expect((await client.head(`/v2/${NAME}/blobs/${sha256(layer)}`)).status).toBe(404);
    });
  });
});
