// The distribution-spec conformance "Push" workflow (v1.1.1, 02_push_test.go), against the real
// local host, with upstream's requests, content and accepted answers; where upstream accepts
// either of two answers, the one Cirrus gives is asserted.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import { sha256, type RegistryClient } from '../support/app.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { expectBlob, hostClient } from './host.ts';
import {
  chunkedBlob,
  DUMMY_DIGEST,
  EMPTY_LAYER_TAG,
  LAYER_BLOB,
  makeConfig,
  makeEmptyLayerManifest,
  makeManifest,
  NONEXISTENT_MANIFEST,
} from './upstream-v1.ts';

const NAME = 'conformance/push';
/** Upstream's default cross-mount namespace: one segment, `conformance-<uuid>`. */
const CROSSMOUNT = `conformance-${randomUUID()}`;
const MiB = 1024 * 1024;
const blobA = randomBytes(42);
const config = makeConfig();
const manifest = makeManifest(config);
const emptyLayerManifest = makeEmptyLayerManifest(config);
const octet = { 'Content-Type': 'application/octet-stream' };

let host: RunningRegistry;
let client: RegistryClient;
let last: Response;
let prev: Response;
let chunked = chunkedBlob(42);
beforeAll(async () => {
  host = await startLocalHost();
  client = hostClient(host.url);
});
afterAll(() => host?.stop());

/** reggie's GetRelativeLocation: the path and query of a Location. */
const relative = (res: Response) => {
  const url = new URL(res.headers.get('location')!, host.url);
  return url.pathname + url.search;
};
const withDigest = (path: string, digest: string) => `${path}${path.includes('?') ? '&' : '?'}digest=${digest}`;
/** GET of a blob as upstream's client does it: following the redirect. */
const getFollowing = (path: string) => fetch(new URL(path, host.url));
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
    it('PATCH with the blob in the body → 202', async () => {
      const post = await client.send('POST', `/v2/${NAME}/blobs/uploads/`);
      expect(post.headers.get('location')).toBeTruthy();
      last = await client.send('PATCH', relative(post), { headers: octet, body: blobA });
      expect(last.status).toBe(202);
      expect(last.headers.get('range')).toBe(`0-${blobA.byteLength - 1}`);
    });

    // Upstream sets Content-Length: 42 without a body; Go's client then sends Content-Length: 0.
    it('PUT to the session URL with the digest → 201 with Location', async () => {
      const res = await client.send('PUT', withDigest(relative(last), sha256(blobA)), { headers: { ...octet, 'Content-Length': '0' }, body: new Uint8Array(0) });
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`${host.url}/v2/${NAME}/blobs/${sha256(blobA)}`);
      await expectBlob(host.url, NAME, sha256(blobA), blobA);
    });

    it('also without a length: a PATCH body in chunked transfer encoding → 202', async () => {
      const bytes = randomBytes(300 * 1024);
      const { location } = await client.startUpload(NAME);
      const res = await client.send('PATCH', location, { headers: octet, body: streamed(bytes) });
      expect(res.status).toBe(202);
      expect(res.headers.get('range')).toBe(`0-${bytes.byteLength - 1}`);
      expect((await client.finishUpload(res.headers.get('location')!, sha256(bytes))).status).toBe(201);
      await expectBlob(host.url, NAME, sha256(bytes), bytes);
    });
  });

  describe('Blob Upload Monolithic', () => {
    it('GET of a nonexistent blob → 404', async () => {
      expect((await client.get(`/v2/${NAME}/blobs/${DUMMY_DIGEST}`)).status).toBe(404);
    });

    it('POST with digest and blob → 201 (upstream: 201 or 202) with Location', async () => {
      last = await client.send('POST', `/v2/${NAME}/blobs/uploads/?digest=${config.digest}`, {
        headers: { ...octet, 'Content-Length': String(config.bytes.byteLength) },
        body: config.bytes,
      });
      expect(last.headers.get('location')).toBeTruthy();
      expect(last.status).toBe(201);
    });

    it('GET of the blob from that request → 200 (after the redirect)', async () => {
      const res = await getFollowing(`/v2/${NAME}/blobs/${config.digest}`);
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(config.bytes)).toBe(true);
    });

    it('POST → 202, a session', async () => {
      last = await client.send('POST', `/v2/${NAME}/blobs/uploads/`);
      expect(last.status).toBe(202);
    });

    it('PUT of the blob to it → 201 with Location; GET → 200', async () => {
      const res = await client.send('PUT', withDigest(relative(last), config.digest), {
        headers: { ...octet, 'Content-Length': String(config.bytes.byteLength) },
        body: config.bytes,
      });
      expect(res.headers.get('location')).toBeTruthy();
      expect(res.status).toBe(201);
      expect((await getFollowing(`/v2/${NAME}/blobs/${config.digest}`)).status).toBe(200);
    });

    it('PUT of the layer blob → 201 with Location; GET → 200', async () => {
      const post = await client.send('POST', `/v2/${NAME}/blobs/uploads/`);
      const res = await client.send('PUT', withDigest(relative(post), LAYER_BLOB.digest), {
        headers: { ...octet, 'Content-Length': String(LAYER_BLOB.bytes.byteLength) },
        body: LAYER_BLOB.bytes,
      });
      expect(res.headers.get('location')).toBeTruthy();
      expect(res.status).toBe(201);
      expect((await getFollowing(`/v2/${NAME}/blobs/${LAYER_BLOB.digest}`)).status).toBe(200);
    });

    it('a wrong digest → 400 DIGEST_INVALID and nothing stored', async () => {
      const res = await client.send('POST', `/v2/${NAME}/blobs/uploads/?digest=${DUMMY_DIGEST}`, { body: randomBytes(100) });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('DIGEST_INVALID');
      expect((await client.head(`/v2/${NAME}/blobs/${DUMMY_DIGEST}`)).status).toBe(404);
    });
  });

  describe('Blob Upload Chunked', () => {
    const patch = (path: string, body: Uint8Array, range: string) =>
      client.send('PATCH', path, { headers: { ...octet, 'Content-Length': String(body.byteLength), 'Content-Range': range }, body });

    it('an out-of-order chunk → 416 (the blob is rebuilt at twice OCI-Chunk-Min-Length − 2)', async () => {
      const post = await client.send('POST', `/v2/${NAME}/blobs/uploads/`, { headers: { 'Content-Length': '0' }, body: new Uint8Array(0) });
      expect(post.headers.get('location')).toBeTruthy();
      const min = Number(post.headers.get('oci-chunk-min-length'));
      expect(min).toBe(5 * MiB);
      if (min > chunked.chunk1.byteLength) chunked = chunkedBlob(min * 2 - 2);
      const res = await patch(relative(post), chunked.chunk2, chunked.range2);
      expect(res.status).toBe(416);
      expect(res.headers.get('range')).toBe('0-0');
    });

    it('PATCH of the first chunk → 202 with Range of it', async () => {
      prev = await client.send('POST', `/v2/${NAME}/blobs/uploads/`, { headers: { 'Content-Length': '0' }, body: new Uint8Array(0) });
      expect(prev.headers.get('location')).toBeTruthy();
      last = await patch(relative(prev), chunked.chunk1, chunked.range1);
      expect(last.status).toBe(202);
      expect(last.headers.get('range')).toBe(chunked.range1);
    });

    it('a retry of that chunk → 416', async () => {
      expect((await patch(relative(prev), chunked.chunk1, chunked.range1)).status).toBe(416);
    });

    it('GET of the stale session URL → 204 with Location and Range', async () => {
      last = await client.get(relative(prev));
      expect(last.status).toBe(204);
      expect(last.headers.get('location')).toBeTruthy();
      expect(last.headers.get('range')).toBe(chunked.range1);
    });

    it('PATCH of the second chunk → 202 with Location', async () => {
      last = await patch(relative(last), chunked.chunk2, chunked.range2);
      expect(last.status).toBe(202);
      expect(last.headers.get('location')).toBeTruthy();
    });

    it('PUT with the digest (Content-Length: 0) → 201 with Location; the blob is whole', async () => {
      const res = await client.send('PUT', withDigest(relative(last), chunked.whole.digest), { headers: { ...octet, 'Content-Length': '0' }, body: new Uint8Array(0) });
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBeTruthy();
      await expectBlob(host.url, NAME, chunked.whole.digest, chunked.whole.bytes);
    });
  });

  describe('Cross-Repository Blob Mount', () => {
    it('mount without from of a blob nobody has → 202, a session', async () => {
      const res = await client.send('POST', `/v2/${CROSSMOUNT}/blobs/uploads/?mount=${DUMMY_DIGEST}`);
      expect(res.status).toBe(202);
      expect(res.headers.get('location')).toMatch(new RegExp(`/v2/${CROSSMOUNT}/blobs/uploads/[0-9a-f-]{36}$`));
    });

    it("mount of another repository's blob → 201 (upstream: 201 or 202)", async () => {
      last = await client.send('POST', `/v2/${CROSSMOUNT}/blobs/uploads/?mount=${sha256(blobA)}&from=${NAME}`);
      expect(last.status).toBe(201);
    });

    it('GET of the mounted blob at its Location → 200', async () => {
      expect(relative(last)).toBe(`/v2/${CROSSMOUNT}/blobs/${sha256(blobA)}`);
      expect((await getFollowing(relative(last))).status).toBe(200);
      await expectBlob(host.url, CROSSMOUNT, sha256(blobA), blobA);
    });

    // Cirrus mounts from any repository the caller may pull from: OCI_AUTOMATIC_CROSSMOUNT=true.
    it('mount without from, automatic content discovery enabled → 201', async () => {
      const res = await client.send('POST', `/v2/conformance/mounted2/blobs/uploads/?mount=${sha256(blobA)}`);
      expect(res.status).toBe(201);
    });
  });

  describe('Manifest Upload', () => {
    it('GET of a nonexistent manifest (.INVALID_MANIFEST_NAME) → 404', async () => {
      expect((await client.get(`/v2/${NAME}/manifests/${NONEXISTENT_MANIFEST}`)).status).toBe(404);
    });

    it('PUT of the manifest under four tags → 201 with Location', async () => {
      for (let i = 0; i < 4; i++) {
        const res = await client.putManifest(NAME, `test${i}`, manifest.bytes, MediaType.ociManifest);
        expect(res.status).toBe(201);
        expect(res.headers.get('location')).toBe(`${host.url}/v2/${NAME}/manifests/${manifest.digest}`);
      }
    });

    it('accepts a manifest with no layers and no mediaType field → 201 with Location', async () => {
      const res = await client.putManifest(NAME, EMPTY_LAYER_TAG, emptyLayerManifest.bytes, MediaType.ociManifest);
      expect(res.status).toBe(201);
      expect(res.headers.get('location')).toBe(`${host.url}/v2/${NAME}/manifests/${emptyLayerManifest.digest}`);
    });

    it('GET of the manifest by digest → 200', async () => {
      const res = await client.get(`/v2/${NAME}/manifests/${manifest.digest}`, { Accept: MediaType.ociManifest });
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(manifest.bytes)).toBe(true);
    });

    it('refuses a manifest whose blobs were never pushed → 400 MANIFEST_BLOB_UNKNOWN', async () => {
      const orphan = makeManifest(makeConfig());
      const res = await client.putManifest(NAME, 'orphan', orphan.bytes, MediaType.ociManifest);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { errors: Array<{ code: string }> }).errors[0]!.code).toBe('MANIFEST_BLOB_UNKNOWN');
    });
  });

  describe('Teardown', () => {
    // Upstream accepts 2xx or 405 for the manifests and 2xx, 404 or 405 for the blobs; Cirrus deletes (202).
    it('deletes the manifests, then the config and layer blobs → 202', async () => {
      for (const m of [manifest, emptyLayerManifest]) expect((await client.delete(`/v2/${NAME}/manifests/${m.digest}`)).status).toBe(202);
      for (const digest of [config.digest, LAYER_BLOB.digest]) expect((await client.delete(`/v2/${NAME}/blobs/${digest}`)).status).toBe(202);
      expect((await client.head(`/v2/${NAME}/blobs/${config.digest}`)).status).toBe(404);
      expect((await client.head(`/v2/${NAME}/manifests/test0`)).status).toBe(404);
      expect((await client.head(`/v2/${NAME}/manifests/${EMPTY_LAYER_TAG}`)).status).toBe(404);
    });
  });
});
