// The chunked push of the spec's redesigned conformance suite (main branch) behind Lambda's body
// cap (CIRRUS_LAMBDA_LIMITS=1: the AWS topology without an upload service): the suite sizes its
// chunks by OCI-Chunk-Min-Length, so what is announced must fit under the cap.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAMBDA_BODY_LIMIT } from '../../core/http/lambda-limits.ts';
import { startLocalHost, type RunningRegistry } from '../support/local-host.ts';
import { randomBlob, UpstreamApi } from './upstream-api.ts';

const REPO = 'conformance/lambda';

let host: RunningRegistry;
let api: UpstreamApi;
beforeAll(async () => {
  host = await startLocalHost({ env: { CIRRUS_LAMBDA_LIMITS: '1' } });
  api = new UpstreamApi(host.url);
});
afterAll(() => host?.stop());

describe('chunked push behind the Lambda body cap', () => {
  let min = 0;

  it('POST announces an OCI-Chunk-Min-Length no larger than the body cap', async () => {
    const { res } = await api.startSession(REPO, { headers: { 'Content-Length': '0' }, body: new Uint8Array(0) });
    min = Number(res.headers.get('oci-chunk-min-length'));
    expect(min).toBeGreaterThan(0);
    expect(min).toBeLessThanOrEqual(LAMBDA_BODY_LIMIT);
  });

  for (const [name, opts] of [
    ['chunked multi', {}],
    ['chunked out-of-order and put chunk', { outOfOrder: true, putLastChunk: true }],
  ] as const) {
    it(`${name}: three chunks of that size → 201, the blob whole`, async () => {
      const { digest, bytes } = randomBlob(min * 3 - 5);
      await api.blobPatchChunked(REPO, digest, bytes, opts);
      await api.blobGetExists(REPO, digest, bytes);
      await api.blobDelete(REPO, digest);
    });
  }
});
