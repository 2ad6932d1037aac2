// The blob tests of the redesigned conformance suite (distribution-spec main branch, run.go
// TestBlobAPIs), once per digest algorithm (sha256, sha512), against the real local host: every
// push API, HEAD and GET of what each pushed, delete, Range reads, well-known blobs, bad digests.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { CHUNK_MIN, digestOf, randomBlob, UpstreamApi, type Algo } from './upstream-api.ts';

const REPO = 'conformance/repo1';
const REPO2 = 'conformance/repo2';

let host: RunningRegistry;
let api: UpstreamApi;
beforeAll(async () => {
  host = await startLocalHost();
  api = new UpstreamApi(host.url);
});
afterAll(() => host?.stop());

/** After a successful push: HEAD, GET, then delete (HEAD 404 after). */
async function checkAndDelete(digest: string, bytes: Uint8Array, repos = [REPO]): Promise<void> {
  await api.blobHeadExists(REPO, digest, bytes);
  await api.blobGetExists(REPO, digest, bytes);
  for (const repo of repos) await api.blobDelete(repo, digest);
}

describe.each<Algo>(['sha256', 'sha512'])('%s blobs', (algo) => {
  // Raised to OCI-Chunk-Min-Length by "chunked single", as the suite does.
  let minChunk = CHUNK_MIN;
  const blob = () => randomBlob(512, algo);

  it('get-missing: GET of a blob never pushed → 404', async () => {
    expect((await api.send('GET', `/v2/${REPO}/blobs/${blob().digest}`)).status).toBe(404);
  });

  it('post only: POST ?digest= with the body → 201', async () => {
    const { digest, bytes } = blob();
    await api.blobPostOnly(REPO, digest, bytes);
    await checkAndDelete(digest, bytes);
  });

  it('post+put: POST → 202, PUT ?digest= with the body → 201', async () => {
    const { digest, bytes } = blob();
    await api.blobPostPut(REPO, digest, bytes);
    await checkAndDelete(digest, bytes);
  });

  it('chunked single: one PATCH with Content-Range, PUT → 201; OCI-Chunk-Min-Length is announced', async () => {
    const { digest, bytes } = blob();
    const min = await api.blobPatchChunked(REPO, digest, bytes);
    expect(min).toMatch(/^\d+$/);
    minChunk = Math.max(minChunk, Number(min));
    await checkAndDelete(digest, bytes);
  });

  it('stream: PATCH of the whole body without a length, PUT → 201 with Location', async () => {
    const { digest, bytes } = blob();
    await api.blobPatchStream(REPO, digest, bytes);
    await checkAndDelete(digest, bytes);
  });

  it('mount: a blob of repo2 mounted with from=repo2 → 201', async () => {
    const { digest, bytes } = blob();
    await api.blobPostPut(REPO2, digest, bytes);
    expect(await api.blobMount(REPO, REPO2, digest, bytes)).toBe(201);
    await checkAndDelete(digest, bytes, [REPO, REPO2]);
  });

  it('mount anonymous: the same without from → 201', async () => {
    const { digest, bytes } = blob();
    await api.blobPostPut(REPO2, digest, bytes);
    expect(await api.blobMount(REPO, undefined, digest, bytes)).toBe(201);
    await checkAndDelete(digest, bytes, [REPO, REPO2]);
  });

  it('mount missing: from a repository without the blob → 202 and a session the blob is PUT to', async () => {
    const { digest, bytes } = blob();
    expect(await api.blobMount(REPO, REPO2, digest, bytes)).toBe(202);
    await checkAndDelete(digest, bytes);
  });

  it('post cancel: DELETE of an upload session → 204', async () => {
    await api.blobPostCancel(REPO);
  });

  const chunked = [
    ['chunked multi', {}],
    ['chunked multi and put chunk', { putLastChunk: true }],
    ['chunked out-of-order', { outOfOrder: true }],
    ['chunked out-of-order and put chunk', { putLastChunk: true, outOfOrder: true }],
  ] as const;
  for (const [name, opts] of chunked) {
    it(`${name}: a blob of three chunks (3 × the minimum − 5 bytes)`, async () => {
      const { digest, bytes } = randomBlob(minChunk * 3 - 5, algo);
      await api.blobPatchChunked(REPO, digest, bytes, opts);
      await checkAndDelete(digest, bytes);
    });
  }

  describe('range requests on a 2048-byte blob', () => {
    const { digest, bytes } = randomBlob(2048, algo);
    const get = (range: string) => api.send('GET', `/v2/${REPO}/blobs/${digest}`, { headers: { Range: range } });
    const partial = async (range: string, start: number, end: number) => {
      const res = await get(range);
      expect(res.status).toBe(206);
      expect(res.headers.get('content-length')).toBe(String(end - start + 1));
      expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/2048`);
      await api.expectBody(res, bytes.subarray(start, end + 1));
    };

    it('setup: push', () => api.blobPostPut(REPO, digest, bytes));
    it('range 500-1499 → 206', () => partial('bytes=500-1499', 500, 1499));
    it('range 500- → 206', () => partial('bytes=500-', 500, 2047));
    it('range -500 → 206 with the last 500 bytes', () => partial('bytes=-500', 1548, 2047));
    it('range 2000-5000 → 206, clipped to the end', () => partial('bytes=2000-5000', 2000, 2047));
    it('range 500-0 → 416', async () => expect((await get('bytes=500-0')).status).toBe(416));
    it('range 5000-10000 → 416', async () => expect((await get('bytes=5000-10000')).status).toBe(416));
    it('teardown: delete', () => api.blobDelete(REPO, digest));
  });

  for (const [name, content] of [
    ['empty', ''],
    ['emptyJSON', '{}'],
  ] as const) {
    it(`${name}: the well-known blob is pushed, read and deleted`, async () => {
      const bytes = new TextEncoder().encode(content);
      const digest = digestOf(bytes, algo);
      await api.blobPostPut(REPO, digest, bytes);
      await checkAndDelete(digest, bytes);
    });
  }

  describe('bad digests: the bytes do not hash to the digest → 400, nothing stored', () => {
    const corrupt = () => {
      const { digest, bytes } = randomBlob(minChunk * 3 - 5, algo);
      return { digest, bytes: Buffer.concat([bytes, Buffer.from('oh no')]) };
    };
    const cases: Array<[string, (digest: string, bytes: Uint8Array) => Promise<unknown>]> = [
      ['bad digest post only', (d, b) => api.blobPostOnly(REPO, d, b, true)],
      ['bad digest post+put', (d, b) => api.blobPostPut(REPO, d, b, true)],
      ['bad digest chunked', (d, b) => api.blobPatchChunked(REPO, d, b, { bad: true })],
      ['bad digest chunked and put chunk', (d, b) => api.blobPatchChunked(REPO, d, b, { bad: true })],
      ['bad digest stream', (d, b) => api.blobPatchStream(REPO, d, b, true)],
    ];
    for (const [name, push] of cases) {
      it(name, async () => {
        const { digest, bytes } = corrupt();
        await push(digest, bytes);
        expect((await api.send('HEAD', `/v2/${REPO}/blobs/${digest}`)).status).toBe(404);
      });
    }
  });
});
