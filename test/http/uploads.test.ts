import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../core/registry/keys.ts';
import { createTestApp, expectError, expectStatus, objectKeys, readBlob, sha256, type TestApp } from '../support/app.ts';

const MIN_PART = 1024;
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ minPartSize: MIN_PART });
});
afterAll(() => t.close());

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i < chunks.length) controller.enqueue(chunks[i++]!);
      else controller.close();
    },
  });
}

describe('POST /v2/<name>/blobs/uploads/', () => {
  it('starts a session: 202 with Location, Range, Docker-Upload-UUID and OCI-Chunk-Min-Length', async () => {
    const res = await t.client.send('POST', '/v2/up/start/blobs/uploads/');
    expect(res.status).toBe(202);
    const uuid = res.headers.get('docker-upload-uuid');
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers.get('location')).toBe(`http://localhost/v2/up/start/blobs/uploads/${uuid}`);
    expect(res.headers.get('range')).toBe('0-0');
    expect(res.headers.get('oci-chunk-min-length')).toBe(String(MIN_PART));
    expect(await t.table.get(keys.upload(uuid!).pk, keys.upload(uuid!).sk)).toBeDefined();
  });

  it('takes a monolithic blob with ?digest=: 201 with Location and Docker-Content-Digest', async () => {
    const bytes = randomBytes(5000);
    const digest = sha256(bytes);
    const res = await t.client.send('POST', `/v2/up/mono/blobs/uploads/?digest=${digest}`, { body: bytes });
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`http://localhost/v2/up/mono/blobs/${digest}`);
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(Buffer.from((await readBlob(t, 'up/mono', digest))!).equals(bytes)).toBe(true);
  });

  it('takes an empty monolithic blob', async () => {
    const digest = sha256(new Uint8Array(0));
    const res = await t.client.send('POST', `/v2/up/mono/blobs/uploads/?digest=${digest}`, { body: new Uint8Array(0) });
    expect(res.status).toBe(201);
    expect((await t.client.head(`/v2/up/mono/blobs/${digest}`)).headers.get('content-length')).toBe('0');
  });

  it('refuses a monolithic blob whose digest does not match: 400 DIGEST_INVALID, nothing visible', async () => {
    const bytes = randomBytes(700);
    const wrong = sha256(randomBytes(700));
    await expectError(await t.client.send('POST', `/v2/up/mono/blobs/uploads/?digest=${wrong}`, { body: bytes }), 400, 'DIGEST_INVALID');
    expect((await t.client.head(`/v2/up/mono/blobs/${wrong}`)).status).toBe(404);
    expect((await t.client.head(`/v2/up/mono/blobs/${sha256(bytes)}`)).status).toBe(404);
  });

  it('refuses a malformed ?digest= with 400 DIGEST_INVALID', async () => {
    await expectError(await t.client.send('POST', '/v2/up/mono/blobs/uploads/?digest=sha256:123', { body: 'x' }), 400, 'DIGEST_INVALID');
  });
});

describe('PUT /v2/<name>/blobs/uploads/<uuid>', () => {
  it('completes a session with the whole blob as body: 201, the bytes stored', async () => {
    const bytes = randomBytes(3000);
    const { location } = await t.client.startUpload('up/put');
    const res = await t.client.finishUpload(location, sha256(bytes), bytes);
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`http://localhost/v2/up/put/blobs/${sha256(bytes)}`);
    expect(res.headers.get('docker-content-digest')).toBe(sha256(bytes));
    expect(Buffer.from((await readBlob(t, 'up/put', sha256(bytes)))!).equals(bytes)).toBe(true);
    // The session is spent.
    await expectError(await t.client.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('refuses a PUT without ?digest= with 400 DIGEST_INVALID, and the session lives on', async () => {
    const { location } = await t.client.startUpload('up/put');
    await expectError(await t.client.send('PUT', location, { body: 'abc' }), 400, 'DIGEST_INVALID');
    expect((await t.client.get(location)).status).toBe(204);
  });

  it('refuses a digest that does not match: 400 DIGEST_INVALID, nothing visible, session gone', async () => {
    const bytes = randomBytes(2500);
    const { location, uuid } = await t.client.startUpload('up/put');
    await expectStatus(await t.client.patchChunk(location, bytes.subarray(0, 1500), 0), 202);
    const wrong = sha256(randomBytes(10));
    await expectError(await t.client.finishUpload(location, wrong, bytes.subarray(1500)), 400, 'DIGEST_INVALID');
    expect((await t.client.head(`/v2/up/put/blobs/${wrong}`)).status).toBe(404);
    expect((await t.client.head(`/v2/up/put/blobs/${sha256(bytes)}`)).status).toBe(404);
    expect(await t.table.get(keys.blob(wrong).pk, keys.blob(wrong).sk)).toBeUndefined();
    await expectError(await t.client.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    expect(await objectKeys(t.objects, keys.blobObject(uuid))).toEqual([]);
    expect(await objectKeys(t.objects, `staging/${uuid}`)).toEqual([]);
  });

  it('answers 404 BLOB_UPLOAD_UNKNOWN for an unknown session', async () => {
    const res = await t.client.finishUpload('/v2/up/put/blobs/uploads/00000000-0000-4000-8000-000000000000', sha256('x'), new Uint8Array(1));
    await expectError(res, 404, 'BLOB_UPLOAD_UNKNOWN');
  });
});

describe('PATCH /v2/<name>/blobs/uploads/<uuid>', () => {
  it.each([
    ['smaller than a part', 300],
    ['larger than a part', 3 * MIN_PART + 17],
  ])('streams a body of unknown length (%s) without Content-Range: 202 with Range', async (_, size) => {
    const bytes = randomBytes(size);
    const { location } = await t.client.startUpload('up/stream');
    const pieces = [bytes.subarray(0, 100), bytes.subarray(100, 200), bytes.subarray(200)];
    const res = await t.client.send('PATCH', location, { body: streamOf(pieces) });
    expect(res.status).toBe(202);
    expect(res.headers.get('range')).toBe(`0-${size - 1}`);
    expect(res.headers.get('location')).toBe(location);
    await expectStatus(await t.client.finishUpload(res.headers.get('location')!, sha256(bytes)), 201);
    expect(Buffer.from((await readBlob(t, 'up/stream', sha256(bytes)))!).equals(bytes)).toBe(true);
  });

  it('appends chunks with Content-Range, small ones staged and then combined into parts', async () => {
    const bytes = randomBytes(5 * MIN_PART + 123);
    const { location, uuid } = await t.client.startUpload('up/chunks');
    // 400 + 400 staged, then 900 makes a part; 2000 is a part on its own; the rest is the tail.
    const cuts = [0, 400, 800, 1700, 3700, bytes.byteLength];
    for (let i = 0; i + 1 < cuts.length; i++) {
      const res = await t.client.patchChunk(location, bytes.subarray(cuts[i], cuts[i + 1]), cuts[i]!);
      expect(res.status).toBe(202);
      expect(res.headers.get('range')).toBe(`0-${cuts[i + 1]! - 1}`);
    }
    await expectStatus(await t.client.finishUpload(location, sha256(bytes)), 201);
    expect(Buffer.from((await readBlob(t, 'up/chunks', sha256(bytes)))!).equals(bytes)).toBe(true);
    expect(await objectKeys(t.objects, `staging/${uuid}`)).toEqual([]);
  });

  it('closes a chunked session with a final chunk carried by the PUT (Content-Range)', async () => {
    const bytes = randomBytes(2 * MIN_PART);
    const { location } = await t.client.startUpload('up/chunks');
    await expectStatus(await t.client.patchChunk(location, bytes.subarray(0, 1200), 0), 202);
    const res = await t.client.send('PUT', `${location}?digest=${sha256(bytes)}`, {
      headers: { 'Content-Range': `1200-${bytes.byteLength - 1}` },
      body: bytes.subarray(1200),
    });
    expect(res.status).toBe(201);
    expect(Buffer.from((await readBlob(t, 'up/chunks', sha256(bytes)))!).equals(bytes)).toBe(true);
  });

  it('answers 416 with the current Range to an out-of-order chunk, and the upload goes on', async () => {
    const bytes = randomBytes(900);
    const { location } = await t.client.startUpload('up/order');
    const early = await t.client.patchChunk(location, bytes.subarray(500), 500);
    await expectError(early, 416, 'BLOB_UPLOAD_INVALID');
    expect(early.headers.get('range')).toBe('0-0');
    await expectStatus(await t.client.patchChunk(location, bytes.subarray(0, 500), 0), 202);
    const replay = await t.client.patchChunk(location, bytes.subarray(0, 500), 0);
    await expectError(replay, 416, 'BLOB_UPLOAD_INVALID');
    expect(replay.headers.get('range')).toBe('0-499');
    await expectStatus(await t.client.patchChunk(location, bytes.subarray(500), 500), 202);
    await expectStatus(await t.client.finishUpload(location, sha256(bytes)), 201);
  });

  it('answers 404 BLOB_UPLOAD_UNKNOWN for a session of another repository', async () => {
    const { uuid } = await t.client.startUpload('up/mine');
    await expectError(await t.client.patchChunk(`/v2/up/theirs/blobs/uploads/${uuid}`, randomBytes(10), 0), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  it('answers 404 BLOB_UPLOAD_UNKNOWN for a malformed session id', async () => {
    await expectError(await t.client.patchChunk('/v2/up/mine/blobs/uploads/not-a-uuid', randomBytes(10), 0), 404, 'BLOB_UPLOAD_UNKNOWN');
  });
});

describe('GET /v2/<name>/blobs/uploads/<uuid>', () => {
  it('reports progress: 204 with Range, Location and Docker-Upload-UUID', async () => {
    const { location, uuid } = await t.client.startUpload('up/status');
    expect((await t.client.get(location)).headers.get('range')).toBe('0-0');
    await expectStatus(await t.client.patchChunk(location, randomBytes(1500), 0), 202);
    const res = await t.client.get(location);
    expect(res.status).toBe(204);
    expect(res.headers.get('range')).toBe('0-1499');
    expect(res.headers.get('location')).toBe(location);
    expect(res.headers.get('docker-upload-uuid')).toBe(uuid);
  });

  it('answers 404 BLOB_UPLOAD_UNKNOWN for an unknown session', async () => {
    await expectError(await t.client.get('/v2/up/status/blobs/uploads/00000000-0000-4000-8000-000000000000'), 404, 'BLOB_UPLOAD_UNKNOWN');
  });
});

describe('DELETE /v2/<name>/blobs/uploads/<uuid>', () => {
  it('cancels: 204, then the session is 404 BLOB_UPLOAD_UNKNOWN and its bytes are gone', async () => {
    const { location, uuid } = await t.client.startUpload('up/cancel');
    await expectStatus(await t.client.patchChunk(location, randomBytes(300), 0), 202);
    await expectStatus(await t.client.patchChunk(location, randomBytes(2000), 300), 202);
    await expectStatus(await t.client.patchChunk(location, randomBytes(10), 2300), 202);
    expect((await t.client.delete(location)).status).toBe(204);
    await expectError(await t.client.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await t.client.patchChunk(location, randomBytes(10), 2310), 404, 'BLOB_UPLOAD_UNKNOWN');
    await expectError(await t.client.delete(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    expect(await objectKeys(t.objects, `staging/${uuid}`)).toEqual([]);
    expect((await t.table.query(keys.uploadPartition(uuid))).items).toEqual([]);
  });
});
