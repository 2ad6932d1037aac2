// The distribution-spec conformance "Pull" workflow (v1.1.1, 01_pull_test.go), against the real
// local host, with upstream's content and references.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import { sha256, type RegistryClient } from '../support/app.ts';
import { onAws } from '../support/backend.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { expectBlob, hostClient, is2xx, pullBlob, SPEC_ERROR_CODES } from './host.ts';
import { DUMMY_DIGEST, INVALID_MANIFEST_CONTENT, LAYER_BLOB, makeConfig, makeManifest, NONEXISTENT_MANIFEST, TAG } from './upstream-v1.ts';

const NAME = 'conformance/pull';
// Upstream pushes two configs, the layer, manifests[0] under a tag and manifests[1] by digest.
const configs = [makeConfig(), makeConfig()];
const manifests = configs.map(makeManifest);
const layer = LAYER_BLOB.bytes;
const config = configs[0]!.bytes;

let host: RunningRegistry;
let client: RegistryClient;
let tag: string;
beforeAll(async () => {
  host = await startLocalHost();
  client = hostClient(host.url);
});
afterAll(() => host?.stop());

function getWithBody(url: string, contentType: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject).end(body);
  });
}

describe('Pull', () => {
  describe('Setup', () => {
    it('populates the registry with two config blobs and the layer (POST, then PUT with Content-Length and the body) → 2xx', async () => {
      for (const { bytes, digest } of [...configs, LAYER_BLOB]) {
        const { location } = await client.startUpload(NAME);
        const url = new URL(location);
        url.searchParams.set('digest', digest);
        const res = await client.send('PUT', url.pathname + url.search, {
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) },
          body: bytes,
        });
        expect(is2xx(res.status)).toBe(true);
      }
    });

    it('populates the registry with manifests[0] under tagtest0 and manifests[1] by digest → 2xx', async () => {
      tag = TAG;
      expect(is2xx((await client.putManifest(NAME, tag, manifests[0]!.bytes, MediaType.ociManifest)).status)).toBe(true);
      expect(is2xx((await client.putManifest(NAME, manifests[1]!.digest, manifests[1]!.bytes, MediaType.ociManifest)).status)).toBe(true);
    });

    it('lists the tag', async () => {
      const list = (await (await client.get(`/v2/${NAME}/tags/list`)).json()) as { tags: string[] };
      expect(list.tags).toEqual([TAG]);
    });
  });

  describe('Pull blobs', () => {
    it('HEAD of a nonexistent blob → 404', async () => {
      expect((await client.head(`/v2/${NAME}/blobs/${DUMMY_DIGEST}`)).status).toBe(404);
    });

    it('HEAD of an existing blob → 200 with its digest and length', async () => {
      const res = await client.head(`/v2/${NAME}/blobs/${sha256(config)}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('docker-content-digest')).toBe(sha256(config));
      expect(res.headers.get('content-length')).toBe(String(config.byteLength));
    });

    it('GET of a nonexistent blob → 404', async () => {
      expect((await client.get(`/v2/${NAME}/blobs/${DUMMY_DIGEST}`)).status).toBe(404);
    });

    it('GET of an existing blob → 307 to a signed URL that serves its bytes', async () => {
      await expectBlob(host.url, NAME, sha256(config), config);
      await expectBlob(host.url, NAME, sha256(layer), layer);
    });

    it('the signed URL honours Range (206 with the slice)', async () => {
      const { res, bytes } = await pullBlob(host.url, NAME, sha256(layer), 'bytes=100-149');
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes 100-149/${layer.byteLength}`);
      expect(bytes.equals(layer.subarray(100, 150))).toBe(true);
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

    // The upstream suite (v1.1.1 setup.go) names the nonexistent manifest `.INVALID_MANIFEST_NAME`:
    // not even a valid tag, and still a 404.
    it('HEAD of a nonexistent manifest → 404', async () => {
      for (const reference of ['nonexistent', NONEXISTENT_MANIFEST]) {
        expect((await client.head(`/v2/${NAME}/manifests/${reference}`, accept)).status).toBe(404);
      }
    });

    it('HEAD by digest and by tag → 200 with the digest', async () => {
      for (const [reference, m] of [[manifests[0]!.digest, manifests[0]!], [manifests[1]!.digest, manifests[1]!], [tag, manifests[0]!]] as const) {
        const res = await client.head(`/v2/${NAME}/manifests/${reference}`, accept);
        expect(res.status).toBe(200);
        expect(res.headers.get('docker-content-digest')).toBe(m.digest);
        expect(res.headers.get('content-length')).toBe(String(m.bytes.byteLength));
        expect(res.headers.get('content-type')).toBe(MediaType.ociManifest);
      }
    });

    it('GET of a nonexistent manifest → 404 MANIFEST_UNKNOWN', async () => {
      for (const reference of ['nonexistent', NONEXISTENT_MANIFEST]) {
        const res = await client.get(`/v2/${NAME}/manifests/${reference}`, accept);
        expect(res.status).toBe(404);
        expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('MANIFEST_UNKNOWN');
      }
    });

    it('GET by digest and by tag → 200 with the bytes pushed', async () => {
      for (const [reference, m] of [[manifests[0]!.digest, manifests[0]!], [manifests[1]!.digest, manifests[1]!], [tag, manifests[0]!]] as const) {
        const res = await client.get(`/v2/${NAME}/manifests/${reference}`, accept);
        expect(res.status).toBe(200);
        expect(res.headers.get('docker-content-digest')).toBe(m.digest);
        expect(Buffer.from(await res.arrayBuffer()).equals(m.bytes)).toBe(true);
      }
    });
  });

  describe('Error codes', () => {
    // Upstream sends a GET with Content-Type and a body (`blablabla`) by `sha256:totallywrong` and
    // accepts 400 with a spec code or 404: a read by a reference that cannot exist is unknown here.
    it('GET by a malformed digest (sha256:totallywrong) → 404 MANIFEST_UNKNOWN as JSON', async () => {
      // fetch() refuses a GET with a body; upstream's client sends one, so node:http does here.
      const res = await getWithBody(`${host.url}/v2/${NAME}/manifests/sha256:totallywrong`, MediaType.ociManifest, INVALID_MANIFEST_CONTENT);
      expect(res.status).toBe(404);
      expect((JSON.parse(res.body) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('MANIFEST_UNKNOWN');
    });

    it('a 400 body of a PUT by a malformed digest is OCI-conforming JSON', async () => {
      const res = await client.putManifest(NAME, 'sha256:totallywrong', INVALID_MANIFEST_CONTENT, MediaType.ociManifest);
      expect(res.status).toBe(400);
      const body = (await res.json()) as { errors: Array<{ code: string; message: string }> };
      expect(body.errors.length).toBeGreaterThan(0);
      expect(SPEC_ERROR_CODES).toContain(body.errors[0]!.code);
    });
  });

  describe('Teardown', () => {
    // Upstream accepts 2xx or 405 for the manifests and 2xx, 404 or 405 for the blobs; Cirrus deletes (202).
    it('deletes manifests[0] and manifests[1], then both configs and the layer → 202', async () => {
      for (const m of manifests) expect((await client.delete(`/v2/${NAME}/manifests/${m.digest}`)).status).toBe(202);
      for (const { digest } of [...configs, LAYER_BLOB]) expect((await client.delete(`/v2/${NAME}/blobs/${digest}`)).status).toBe(202);
    });

    it('everything deleted is 404 afterwards', async () => {
      for (const m of manifests) expect((await client.get(`/v2/${NAME}/manifests/${m.digest}`)).status).toBe(404);
      expect((await client.get(`/v2/${NAME}/manifests/${tag}`)).status).toBe(404);
      expect((await client.get(`/v2/${NAME}/blobs/${sha256(config)}`)).status).toBe(404);
      expect((await client.head(`/v2/${NAME}/blobs/${sha256(layer)}`)).status).toBe(404);
    });
  });
});
