// Uploads on a store with S3's shape: a part-size ceiling (partTarget cuts bodies into parts) and a
// minimum for every part but the last. Scaled down: parts of 1 KiB..4 KiB.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, expectStatus, readBlob, sha256, withLimits, type TestApp } from '../support/app.ts';

const MIN = 1024;
const MAX = 4096;
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ minPartSize: MIN, wrapObjects: (objects) => withLimits(objects, { minPartSize: MIN, maxPartSize: MAX }) });
});
afterAll(() => t.close());

/** A body of unknown length (chunked transfer), in pieces of 700 bytes. */
function streamed(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.byteLength) return controller.close();
      controller.enqueue(bytes.subarray(at, at + 700));
      at += 700;
    },
  });
}

async function expectStored(name: string, bytes: Uint8Array): Promise<void> {
  expect(Buffer.from((await readBlob(t, name, sha256(bytes)))!).equals(bytes)).toBe(true);
}

describe('POST /v2/<name>/blobs/uploads/?digest= on a store with a part ceiling', () => {
  it.each([0, 10, MIN, MAX, MAX + 1, 2.5 * MAX])('takes %i bytes, declared or streamed', async (size) => {
    const declared = randomBytes(size);
    await expectStatus(await t.client.send('POST', `/v2/limits/mono/blobs/uploads/?digest=${sha256(declared)}`, { body: declared }), 201);
    await expectStored('limits/mono', declared);
    const unsized = randomBytes(size);
    await expectStatus(await t.client.send('POST', `/v2/limits/mono/blobs/uploads/?digest=${sha256(unsized)}`, { body: streamed(unsized) }), 201);
    await expectStored('limits/mono', unsized);
  });
});

describe('PATCH /v2/<name>/blobs/uploads/<uuid> on a store with a part ceiling', () => {
  // A declared chunk just over a part ceiling leaves a remainder smaller than a part: it must be
  // staged for the next request, not written as a (too small, non-final) part.
  it.each([
    ['a final chunk in the PUT', MAX + 1, 10],
    ['a large final chunk in the PUT', MAX + 100, 3000],
    ['no final chunk', MAX + 1, 0],
  ])('a chunk that straddles a part boundary, then %s', async (_, first, rest) => {
    const bytes = randomBytes(first + rest);
    const { location } = await t.client.startUpload('limits/straddle');
    const res = await t.client.patchChunk(location, bytes.subarray(0, first), 0);
    expect(res.status).toBe(202);
    expect(res.headers.get('range')).toBe(`0-${first - 1}`);
    const put = await t.client.finishUpload(location, sha256(bytes), rest > 0 ? bytes.subarray(first) : undefined);
    await expectStatus(put, 201);
    await expectStored('limits/straddle', bytes);
  });

  it('several declared chunks not aligned to parts', async () => {
    const bytes = randomBytes(6 * MAX + 77);
    const chunk = MAX + MIN / 2;
    await t.client.pushChunked('limits/chunks', bytes, chunk);
    await expectStored('limits/chunks', bytes);
  });

  it('streamed chunks (unknown length) after a staged one', async () => {
    const bytes = randomBytes(2 * MAX + 600);
    const { location } = await t.client.startUpload('limits/streamed');
    await expectStatus(await t.client.patchChunk(location, bytes.subarray(0, 500), 0), 202);
    const middle = await t.client.send('PATCH', location, { body: streamed(bytes.subarray(500, MAX + 900)) });
    expect(middle.status).toBe(202);
    expect(middle.headers.get('range')).toBe(`0-${MAX + 899}`);
    const put = await t.client.send('PUT', `${location}?digest=${sha256(bytes)}`, { body: streamed(bytes.subarray(MAX + 900)) });
    await expectStatus(put, 201);
    await expectStored('limits/streamed', bytes);
  });
});
