import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectError, readBlob, sha256, UNKNOWN_DIGEST, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const mount = (name: string, digest: string, from?: string) =>
  t.client.send('POST', `/v2/${name}/blobs/uploads/?mount=${digest}${from === undefined ? '' : `&from=${from}`}`);

async function expectFallbackSession(res: Response, name: string): Promise<void> {
  expect(res.status).toBe(202);
  const uuid = res.headers.get('docker-upload-uuid');
  expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
  expect(res.headers.get('location')).toBe(`http://localhost/v2/${name}/blobs/uploads/${uuid}`);
  expect((await t.client.get(res.headers.get('location')!)).status).toBe(204);
}

describe('POST /v2/<name>/blobs/uploads/?mount=<digest>&from=<repository>', () => {
  it('links a blob of the source repository: 201 with Location and digest, readable in both', async () => {
    const bytes = randomBytes(1000);
    const digest = await t.client.pushBlob('mount/src', bytes);
    const res = await mount('mount/dst', digest, 'mount/src');
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`http://localhost/v2/mount/dst/blobs/${digest}`);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect((await t.client.head(`/v2/mount/dst/blobs/${digest}`)).status).toBe(200);
    expect(Buffer.from((await readBlob(t, 'mount/dst', digest))!).equals(bytes)).toBe(true);
  });

  it('falls back to an upload session (202) when the source does not link the blob', async () => {
    const digest = await t.client.pushBlob('mount/other', randomBytes(100));
    const res = await mount('mount/dst2', digest, 'mount/empty');
    await expectFallbackSession(res, 'mount/dst2');
    expect((await t.client.head(`/v2/mount/dst2/blobs/${digest}`)).status).toBe(404);
  });

  it('falls back (202) when the source unlinked the blob', async () => {
    const digest = await t.client.pushBlob('mount/gone', randomBytes(100));
    expect((await t.client.delete(`/v2/mount/gone/blobs/${digest}`)).status).toBe(202);
    await expectFallbackSession(await mount('mount/dst3', digest, 'mount/gone'), 'mount/dst3');
    expect((await t.client.head(`/v2/mount/dst3/blobs/${digest}`)).status).toBe(404);
  });

  it('falls back (202) for a digest stored nowhere', async () => {
    await expectFallbackSession(await mount('mount/dst4', UNKNOWN_DIGEST, 'mount/src'), 'mount/dst4');
  });

  it('the fallback session takes the blob as an ordinary upload', async () => {
    const bytes = randomBytes(64);
    const res = await mount('mount/dst5', sha256(bytes), 'mount/nothing');
    expect(res.status).toBe(202);
    expect((await t.client.finishUpload(res.headers.get('location')!, sha256(bytes), bytes)).status).toBe(201);
    expect((await t.client.head(`/v2/mount/dst5/blobs/${sha256(bytes)}`)).status).toBe(200);
  });

  it('refuses a malformed mount digest (400 DIGEST_INVALID) and a malformed source name (400 NAME_INVALID)', async () => {
    await expectError(await mount('mount/dst', 'sha256:xyz', 'mount/src'), 400, 'DIGEST_INVALID');
    const digest = await t.client.pushBlob('mount/src', randomBytes(10));
    await expectError(await mount('mount/dst', digest, 'Mount/Src'), 400, 'NAME_INVALID');
  });
});

describe('POST /v2/<name>/blobs/uploads/?mount=<digest> (no from)', () => {
  it('links the blob when some repository links it: 201', async () => {
    const bytes = randomBytes(300);
    const digest = await t.client.pushBlob('anymount/src', bytes);
    const res = await mount('anymount/dst', digest);
    expect(res.status).toBe(201);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(Buffer.from((await readBlob(t, 'anymount/dst', digest))!).equals(bytes)).toBe(true);
  });

  it('falls back (202) when no repository links it', async () => {
    const digest = await t.client.pushBlob('anymount/lonely', randomBytes(300));
    expect((await t.client.delete(`/v2/anymount/lonely/blobs/${digest}`)).status).toBe(202);
    await expectFallbackSession(await mount('anymount/dst2', digest), 'anymount/dst2');
    await expectFallbackSession(await mount('anymount/dst2', UNKNOWN_DIGEST), 'anymount/dst2');
  });
});
