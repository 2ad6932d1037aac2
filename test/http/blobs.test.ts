import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect } from '../../core/registry/streams.ts';
import { createTestApp, expectError, sha256, UNKNOWN_DIGEST, type TestApp } from '../support/app.ts';
import { expectSignedLocation, signedExpiry } from '../support/backend.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('GET /v2/<name>/blobs/<digest>', () => {
  it('redirects (307) to a signed object URL, with the digest', async () => {
    const bytes = randomBytes(3000);
    const digest = await t.client.pushBlob('blobs/get', bytes);
    const res = await t.client.get(`/v2/blobs/get/blobs/${digest}`);
    expect(res.status).toBe(307);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const location = res.headers.get('location')!;
    // Embedded: relative, the local host serves it on whatever name the client used; aws-rgw: S3's (RGW's).
    const key = expectSignedLocation(location, 'http://localhost');
    expect(key).toMatch(/^blobs\/[0-9a-f-]{36}$/);
    const expires = signedExpiry(location);
    expect(expires).toBeGreaterThan(Date.now());
    expect(expires).toBeLessThanOrEqual(Date.now() + 301_000);
    // The URL names the stored bytes.
    const stored = await collect((await t.objects.get(key))!);
    expect(sha256(stored)).toBe(digest);
  });

  it('answers 404 BLOB_UNKNOWN for a digest never pushed', async () => {
    await expectError(await t.client.get(`/v2/blobs/get/blobs/${UNKNOWN_DIGEST}`), 404, 'BLOB_UNKNOWN');
  });

  it('answers 404 BLOB_UNKNOWN in a repository that does not link the blob', async () => {
    const digest = await t.client.pushBlob('blobs/owner', randomBytes(100));
    await expectError(await t.client.get(`/v2/blobs/stranger/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
  });

  it.each([
    ['a truncated hex', 'sha256:abc'],
    ['uppercase hex', `sha256:${'A'.repeat(64)}`],
    ['an unknown algorithm', `md5:${'0'.repeat(32)}`],
    ['no algorithm', '0'.repeat(64)],
  ])('answers 400 DIGEST_INVALID for %s', async (_, digest) => {
    await expectError(await t.client.get(`/v2/blobs/get/blobs/${digest}`), 400, 'DIGEST_INVALID');
  });
});

describe('HEAD /v2/<name>/blobs/<digest>', () => {
  it('answers 200 with Content-Length and the digest, and no body', async () => {
    const bytes = randomBytes(4321);
    const digest = await t.client.pushBlob('blobs/head', bytes);
    const res = await t.client.head(`/v2/blobs/head/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe('4321');
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(res.headers.get('location')).toBeNull();
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  });

  it('answers 404 with no body for an unknown blob', async () => {
    const res = await t.client.head(`/v2/blobs/head/blobs/${UNKNOWN_DIGEST}`);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('');
  });

  it('answers 400 for a malformed digest', async () => {
    expect((await t.client.head('/v2/blobs/head/blobs/sha256:zz')).status).toBe(400);
  });
});

describe('DELETE /v2/<name>/blobs/<digest>', () => {
  it('answers 202, after which the blob is 404 in that repository only', async () => {
    const bytes = randomBytes(200);
    const digest = await t.client.pushBlob('blobs/del', bytes);
    await t.client.pushBlob('blobs/keep', bytes);
    const res = await t.client.delete(`/v2/blobs/del/blobs/${digest}`);
    expect(res.status).toBe(202);
    await expectError(await t.client.get(`/v2/blobs/del/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
    expect((await t.client.head(`/v2/blobs/del/blobs/${digest}`)).status).toBe(404);
    expect((await t.client.head(`/v2/blobs/keep/blobs/${digest}`)).status).toBe(200);
  });

  it('answers 404 BLOB_UNKNOWN for a blob the repository does not link', async () => {
    await expectError(await t.client.delete(`/v2/blobs/del/blobs/${UNKNOWN_DIGEST}`), 404, 'BLOB_UNKNOWN');
  });

  it('answers 400 DIGEST_INVALID for a malformed digest', async () => {
    await expectError(await t.client.delete('/v2/blobs/del/blobs/sha256:nope'), 400, 'DIGEST_INVALID');
  });
});
