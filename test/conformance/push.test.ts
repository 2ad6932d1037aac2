// The distribution-spec conformance "Push" workflow, against the real local host.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import { CONFIG_TYPE, descriptorOf, LAYER_TYPE, manifestBytes, ociManifest, sha256, UNKNOWN_DIGEST, type RegistryClient } from '../support/app.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { expectBlob, hostClient } from './host.ts';

const NAME = 'conformance/push';
const MiB = 1024 * 1024;
const blobA = randomBytes(300 * 1024);
const config = new TextEncoder().encode(JSON.stringify({ architecture: 'arm64', os: 'linux' }));
const blobB = randomBytes(2000);
const big = randomBytes(11 * MiB + 123);
const manifest = manifestBytes(ociManifest(descriptorOf(CONFIG_TYPE, config), [descriptorOf(LAYER_TYPE, blobA)]));

let host: RunningRegistry;
let client: RegistryClient;
let last: Response;
beforeAll(async () => {
  host = await startLocalHost();
  client = hostClient(host.url);
});
afterAll(() => host?.stop());

/** A body streamed in small pieces, sent with chunked transfer encoding (no Content-Length). */
function streamed(bytes: Uint8Array, piece = 16 * 1024): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.subarray(at, at + piece));
      at += piece;
    },
  });
}

describe('Push', () => {
  describe('Blob Upload Streamed', () => {
    it('PATCH with the blob in the body (no Content-Range, no length) → 202', async () => {
      const { location } = await client.startUpload(NAME);
      last = await client.send('PATCH', location, { headers: { 'Content-Type': 'application/octet-stream' }, body: streamed(blobA) });
      expect(last.status).toBe(202);
      expect(last.headers.get('range')).toBe(`0-${blobA.byteLength - 1}`);
    });

    it('PUT to the session URL with the digest → 201 with Location', async () => {
      const res = await client.finishUpload(last.headers.get('location')!, sha256(blobA));
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`${host.url}/v2/${NAME}/blobs/${sha256(blobA)}`);
      await expectBlob(host.url, NAME, sha256(blobA), blobA);
    });
  });

  describe('Blob Upload Monolithic', () => {
    it('GET of a nonexistent blob → 404', async () => {
      expect((await client.get(`/v2/${NAME}/blobs/${UNKNOWN_DIGEST}`)).status).toBe(404);
    });

    it('POST with digest and blob → 201, and GET yields it', async () => {
      const res = await client.send('POST', `/v2/${NAME}/blobs/uploads/?digest=${sha256(config)}`, {
        headers: { 'Content-Type': 'application/octet-stream' },
        body: config,
      });
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBeTruthy();
      await expectBlob(host.url, NAME, sha256(config), config);
    });

    it('POST yields a session; PUT of the blob to it → 201', async () => {
      const { location } = await client.startUpload(NAME);
      expect((await client.finishUpload(location, sha256(blobB), blobB)).status).toBe(201);
      await expectBlob(host.url, NAME, sha256(blobB), blobB);
    });

    it('a wrong digest → 400 DIGEST_INVALID and nothing stored', async () => {
      const res = await client.send('POST', `/v2/${NAME}/blobs/uploads/?digest=${UNKNOWN_DIGEST}`, { body: randomBytes(100) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('DIGEST_INVALID');
      expect((await client.head(`/v2/${NAME}/blobs/${UNKNOWN_DIGEST}`)).status).toBe(404);
    });
  });

  describe('Blob Upload Chunked', () => {
    it('an out-of-order chunk → 416', async () => {
      const { location } = await client.startUpload(NAME);
      const res = await client.patchChunk(location, blobB.subarray(1000), 1000);
      expect(res.status).toBe(416);
      expect(res.headers.get('range')).toBe('0-0');
    });

    it('PATCH of the first chunk → 202; GET status → 204 with Range; PUT with the final chunk → 201', async () => {
      const { location } = await client.startUpload(NAME);
      const first = await client.patchChunk(location, blobB.subarray(0, 1000), 0);
      expect(first.status).toBe(202);
      const status = await client.get(first.headers.get('location')!);
      expect(status.status).toBe(204);
      expect(status.headers.get('range')).toBe('0-999');
      const url = new URL(first.headers.get('location')!);
      url.searchParams.set('digest', sha256(blobB));
      const res = await client.send('PUT', url.toString(), {
        headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `1000-${blobB.byteLength - 1}` },
        body: blobB.subarray(1000),
      });
      expect(res.status).toBe(201);
    });

    it('chunks at OCI-Chunk-Min-Length become parts of a multipart upload (11 MiB)', async () => {
      const { location, res } = await client.startUpload(NAME);
      const min = Number(res.headers.get('oci-chunk-min-length'));
      expect(min).toBe(5 * MiB);
      let next = location;
      for (let at = 0; at < big.byteLength; at += min) {
        const chunk = await client.patchChunk(next, big.subarray(at, at + min), at);
        expect(chunk.status).toBe(202);
        next = chunk.headers.get('location')!;
      }
      expect((await client.finishUpload(next, sha256(big))).status).toBe(201);
      await expectBlob(host.url, NAME, sha256(big), big);
    });
  });

  describe('Cross-Repository Blob Mount', () => {
    it('mount from a repository that has the blob → 201', async () => {
      const res = await client.send('POST', `/v2/conformance/mounted/blobs/uploads/?mount=${sha256(blobA)}&from=${NAME}`);
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`${host.url}/v2/conformance/mounted/blobs/${sha256(blobA)}`);
      await expectBlob(host.url, 'conformance/mounted', sha256(blobA), blobA);
    });

    it('mount without from → 201 when some repository has it', async () => {
      const res = await client.send('POST', `/v2/conformance/mounted2/blobs/uploads/?mount=${sha256(blobB)}`);
      expect(res.status).toBe(201);
    });

    it('mount of a nonexistent blob → 202 and an upload session', async () => {
      const res = await client.send('POST', `/v2/conformance/mounted/blobs/uploads/?mount=${UNKNOWN_DIGEST}&from=${NAME}`);
      expect(res.status).toBe(202);
      expect(res.headers.get('location')).toMatch(/\/v2\/conformance\/mounted\/blobs\/uploads\/[0-9a-f-]{36}$/);
    });
  });

  describe('Manifest Upload', () => {
    it('GET of a nonexistent manifest (upstream: `.INVALID_MANIFEST_NAME`) → 404', async () => {
      for (const reference of ['nonexistent', '.INVALID_MANIFEST_NAME']) {
        expect((await client.get(`/v2/${NAME}/manifests/${reference}`)).status).toBe(404);
      }
    });

    it('PUT of a manifest under four tags → 201 with Location', async () => {
      for (let i = 0; i < 4; i++) {
        const res = await client.putManifest(NAME, `test${i}`, manifest, MediaType.ociManifest);
        expect(res.status).toBe(201);
        expect(res.headers.get('location')).toBe(`${host.url}/v2/${NAME}/manifests/${sha256(manifest)}`);
      }
    });

    it('GET of the manifest by digest → 200', async () => {
      const res = await client.get(`/v2/${NAME}/manifests/${sha256(manifest)}`, { Accept: MediaType.ociManifest });
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(manifest))).toBe(true);
    });

    it('accepts a manifest with no layers', async () => {
      const empty = manifestBytes(ociManifest(descriptorOf(CONFIG_TYPE, config), []));
      expect((await client.putManifest(NAME, 'nolayers', empty, MediaType.ociManifest)).status).toBe(201);
    });

    it('refuses a manifest whose blobs were never pushed → 400 MANIFEST_BLOB_UNKNOWN', async () => {
      const orphan = manifestBytes(ociManifest(descriptorOf(CONFIG_TYPE, '{"never":1}'), []));
      const res = await client.putManifest(NAME, 'orphan', orphan, MediaType.ociManifest);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('MANIFEST_BLOB_UNKNOWN');
    });
  });

  describe('Teardown', () => {
    it('deletes the blobs and the manifest created by the tests', async () => {
      for (const bytes of [blobA, config, blobB, big]) {
        expect((await client.delete(`/v2/${NAME}/blobs/${sha256(bytes)}`)).status).toBe(202);
      }
      expect((await client.delete(`/v2/${NAME}/manifests/${sha256(manifest)}`)).status).toBe(202);
      expect((await client.head(`/v2/${NAME}/blobs/${sha256(big)}`)).status).toBe(404);
      expect((await client.head(`/v2/${NAME}/manifests/test0`)).status).toBe(404);
    });
  });
});
