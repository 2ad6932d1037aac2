// DESIGN §2/§3 invariants of uploads: verified digests, claimed offsets, enforced expiry, one copy per blob.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../core/registry/keys.ts';
import { createTestApp, expectError, expectStatus, objectKeys, readBlob, sha256, type TestApp } from '../support/app.ts';

const MIN_PART = 1024;
const TTL_SECONDS = 60;
let clock = Date.now();
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ minPartSize: MIN_PART, now: () => clock, settings: { uploadTtlSeconds: TTL_SECONDS } });
});
afterAll(() => t.close());

const blobItem = (digest: string) => t.table.get(keys.blob(digest).pk, keys.blob(digest).sk);

describe('every digest is verified over the bytes stored', () => {
  it('a monolithic push with a wrong digest stores nothing: no BLOB item, no object', async () => {
    const before = await objectKeys(t.objects, '');
    const bytes = randomBytes(3 * MIN_PART);
    const wrong = sha256(randomBytes(16));
    await expectError(await t.client.send('POST', `/v2/verify/mono/blobs/uploads/?digest=${wrong}`, { body: bytes }), 400, 'DIGEST_INVALID');
    expect(await blobItem(wrong)).toBeUndefined();
    expect(await blobItem(sha256(bytes))).toBeUndefined();
    expect(await objectKeys(t.objects, '')).toEqual(before);
    expect(await t.pendingMultipartUploads()).toEqual([]);
  });

  it('a chunked upload (staged chunks and parts) with a wrong digest stores nothing', async () => {
    const before = await objectKeys(t.objects, '');
    const bytes = randomBytes(4 * MIN_PART);
    const { location } = await t.client.startUpload('verify/chunked');
    await expectStatus(await t.client.patchChunk(location, bytes.subarray(0, 500), 0), 202);
    await expectStatus(await t.client.patchChunk(location, bytes.subarray(500, 3000), 500), 202);
    await expectStatus(await t.client.patchChunk(location, bytes.subarray(3000, 3100), 3000), 202);
    const wrong = sha256(bytes.subarray(1));
    await expectError(await t.client.finishUpload(location, wrong, bytes.subarray(3100)), 400, 'DIGEST_INVALID');
    expect(await blobItem(wrong)).toBeUndefined();
    expect(await blobItem(sha256(bytes))).toBeUndefined();
    expect(await objectKeys(t.objects, '')).toEqual(before);
    expect(await t.pendingMultipartUploads()).toEqual([]);
  });

  it('a sha512 digest is checked by reading the stored bytes back', async () => {
    const bytes = randomBytes(2000);
    const digest = `sha512:${createHash('sha512').update(bytes).digest('hex')}`;
    expect((await t.client.send('POST', `/v2/verify/sha512/blobs/uploads/?digest=${digest}`, { body: bytes })).status).toBe(201);
    expect(Buffer.from((await readBlob(t, 'verify/sha512', digest))!).equals(bytes)).toBe(true);
    const wrong = `sha512:${createHash('sha512').update('other').digest('hex')}`;
    await expectError(await t.client.send('POST', `/v2/verify/sha512/blobs/uploads/?digest=${wrong}`, { body: bytes }), 400, 'DIGEST_INVALID');
    expect(await blobItem(wrong)).toBeUndefined();
  });
});

describe('offsets are claimed before a chunk is written', () => {
  /** A body that sends its first half, then waits for `gate` before the rest. */
  function gated(bytes: Uint8Array, gate: Promise<void>): ReadableStream<Uint8Array> {
    let step = 0;
    return new ReadableStream({
      async pull(controller) {
        if (step === 0) controller.enqueue(bytes.subarray(0, bytes.byteLength / 2));
        else if (step === 1) {
          await gate;
          controller.enqueue(bytes.subarray(bytes.byteLength / 2));
        } else controller.close();
        step++;
      },
    });
  }

  it('two concurrent PATCHes of one session: one 202, the other 416, and the blob verifies', async () => {
    const { location, uuid } = await t.client.startUpload('race/gated');
    const winner = randomBytes(800);
    const loser = randomBytes(800);
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const headers = { 'Content-Range': '0-799', 'Content-Length': '800' };
    const first = t.client.send('PATCH', location, { headers, body: gated(winner, gate) });
    // Wait until the first request holds the session's write lease.
    for (let i = 0; i < 200 && !(await t.table.get(keys.upload(uuid).pk, keys.upload(uuid).sk))?.attrs.writer; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const second = await t.client.send('PATCH', location, { headers, body: loser });
    await expectError(second, 416, 'BLOB_UPLOAD_INVALID');
    expect(second.headers.get('range')).toBe('0-0');
    open();
    await expectStatus(await first, 202);
    await expectStatus(await t.client.finishUpload(location, sha256(winner)), 201);
    expect(Buffer.from((await readBlob(t, 'race/gated', sha256(winner)))!).equals(winner)).toBe(true);
  });

  it('racing PATCHes at the same offset: exactly one wins, whatever the interleaving', async () => {
    for (let round = 0; round < 5; round++) {
      const { location } = await t.client.startUpload('race/free');
      const bodies = [randomBytes(1500), randomBytes(1500)];
      const results = await Promise.all(bodies.map((b) => t.client.patchChunk(location, b, 0)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([202, 416]);
      const won = bodies[results.findIndex((r) => r.status === 202)]!;
      await expectStatus(await t.client.finishUpload(location, sha256(won)), 201);
      expect(Buffer.from((await readBlob(t, 'race/free', sha256(won)))!).equals(won)).toBe(true);
    }
  });
});

describe('a dead writer does not hold a session forever', () => {
  it('a lease left by a crashed request blocks writes (416) until it goes stale', async () => {
    const { location, uuid } = await t.client.startUpload('lease/stale');
    const { pk, sk } = keys.upload(uuid);
    // What a process that died mid-request leaves behind: a writer, and no release.
    await t.table.update(pk, sk, { writer: 'dead-process', writerAt: clock, version: 42 });
    const bytes = randomBytes(300);
    await expectError(await t.client.patchChunk(location, bytes, 0), 416, 'BLOB_UPLOAD_INVALID');
    clock += t.registry.deps.settings.writeLeaseMs;
    await expectStatus(await t.client.patchChunk(location, bytes, 0), 202);
    await expectStatus(await t.client.finishUpload(location, sha256(bytes)), 201);
  });
});

describe('expiry is enforced on read', () => {
  it('a session past its expiry answers 404 BLOB_UPLOAD_UNKNOWN on every route', async () => {
    const { location } = await t.client.startUpload('expiry/repo');
    clock += TTL_SECONDS * 1000 - 1;
    // Activity extends the session.
    await expectStatus(await t.client.patchChunk(location, randomBytes(100), 0), 202);
    clock += TTL_SECONDS * 1000 - 1;
    expect((await t.client.get(location)).status).toBe(204);
    clock += 2;
    await expectError(await t.client.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await t.client.patchChunk(location, randomBytes(100), 100), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await t.client.finishUpload(location, sha256('x')), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await t.client.delete(location), 404, 'BLOB_UPLOAD_UNKNOWN');
  });
});

describe('one stored copy per blob', () => {
  it('a duplicate upload keeps one BLOB item and deletes the second copy', async () => {
    const bytes = randomBytes(2500);
    const digest = sha256(bytes);
    const before = await objectKeys(t.objects, 'blobs/');
    await t.client.pushBlob('dup/one', bytes);
    const first = (await blobItem(digest))!.attrs.key as string;
    await t.client.pushBlob('dup/one', bytes);
    await t.client.pushBlob('dup/two', bytes);
    await t.client.pushChunked('dup/three', bytes, 1000);
    const after = await objectKeys(t.objects, 'blobs/');
    expect(after.filter((k) => !before.includes(k))).toEqual([first]);
    expect((await blobItem(digest))!.attrs.key).toBe(first);
    expect((await t.table.query(keys.blob(digest).pk, { prefix: 'BLOB' })).items).toHaveLength(1);
    for (const name of ['dup/one', 'dup/two', 'dup/three']) {
      expect(Buffer.from((await readBlob(t, name, digest))!).equals(bytes)).toBe(true);
    }
  });

  it('concurrent uploads of one blob race to one BLOB item; the other copies are deleted', async () => {
    const bytes = randomBytes(3000);
    const digest = sha256(bytes);
    const before = await objectKeys(t.objects, 'blobs/');
    const results = await Promise.all(['race/a', 'race/b', 'race/c', 'race/a'].map((name) => t.client.send('POST', `/v2/${name}/blobs/uploads/?digest=${digest}`, { body: bytes })));
    expect(results.map((r) => r.status)).toEqual([201, 201, 201, 201]);
    const added = (await objectKeys(t.objects, 'blobs/')).filter((k) => !before.includes(k));
    expect(added).toEqual([(await blobItem(digest))!.attrs.key]);
    for (const name of ['race/a', 'race/b', 'race/c']) expect((await t.client.head(`/v2/${name}/blobs/${digest}`)).status).toBe(200);
  });
});
