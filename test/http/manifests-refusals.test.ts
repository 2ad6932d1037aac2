import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType, MAX_MANIFEST_BYTES } from '../../core/oci/index.ts';
import {
  CONFIG_TYPE,
  createTestApp,
  descriptorOf,
  expectError,
  LAYER_TYPE,
  manifestBytes,
  ociIndex,
  ociManifest,
  sha256,
  type TestApp,
} from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

async function config(name: string) {
  const bytes = JSON.stringify({ os: 'linux', nonce: randomBytes(4).toString('hex') });
  await t.client.pushBlob(name, bytes);
  return descriptorOf(CONFIG_TYPE, bytes);
}

describe('PUT /v2/<name>/manifests/<reference> refusals', () => {
  it('answers 413 SIZE_INVALID to a manifest over 4 MiB (declared length)', async () => {
    const body = new Uint8Array(MAX_MANIFEST_BYTES + 1).fill(0x20);
    await expectError(await t.client.putManifest('ref/big', 'v1', body, MediaType.ociManifest), 413, 'SIZE_INVALID');
  });

  it('answers 413 SIZE_INVALID to a manifest over 4 MiB sent without a length', async () => {
    const body = new Uint8Array(MAX_MANIFEST_BYTES + 1).fill(0x20);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < body.byteLength; at += 1 << 20) controller.enqueue(body.subarray(at, at + (1 << 20)));
        controller.close();
      },
    });
    const res = await t.client.send('PUT', '/v2/ref/big/manifests/v1', { headers: { 'Content-Type': MediaType.ociManifest }, body: stream });
    await expectError(res, 413, 'SIZE_INVALID');
    expect((await t.client.head('/v2/ref/big/manifests/v1')).status).toBe(404);
  });

  it('answers 400 MANIFEST_BLOB_UNKNOWN when a layer is missing, naming it', async () => {
    const missing = descriptorOf(LAYER_TYPE, randomBytes(50));
    const doc = ociManifest(await config('ref/blob'), [missing]);
    const error = await expectError(await t.client.putManifest('ref/blob', 'v1', doc), 400, 'MANIFEST_BLOB_UNKNOWN');
    expect(error.detail).toEqual({ missing: [missing.digest], count: 1 });
    expect((await t.client.head('/v2/ref/blob/manifests/v1')).status).toBe(404);
  });

  it('answers 400 MANIFEST_BLOB_UNKNOWN when the config is missing', async () => {
    const layer = randomBytes(40);
    await t.client.pushBlob('ref/blob', layer);
    const doc = ociManifest(descriptorOf(CONFIG_TYPE, '{"missing":true}'), [descriptorOf(LAYER_TYPE, layer)]);
    await expectError(await t.client.putManifest('ref/blob', 'v2', doc), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  it('answers 400 MANIFEST_BLOB_UNKNOWN for an index with a missing child', async () => {
    const present = manifestBytes(ociManifest(await config('ref/index'), []));
    await t.client.pushManifest('ref/index', sha256(present), present);
    const absent = descriptorOf(MediaType.ociManifest, manifestBytes(ociManifest(await config('ref/index'), [])));
    const index = ociIndex([descriptorOf(MediaType.ociManifest, present), absent]);
    const error = await expectError(await t.client.putManifest('ref/index', 'multi', index), 400, 'MANIFEST_BLOB_UNKNOWN');
    expect(error.detail).toEqual({ missing: [absent.digest], count: 1 });
  });

  it.each([
    ['not JSON', '{"schemaVersion": 2,'],
    ['a JSON array', '[]'],
    ['schemaVersion 3', JSON.stringify({ schemaVersion: 3, mediaType: MediaType.ociManifest, config: {}, layers: [] })],
    ['a layer without a digest', JSON.stringify(ociManifest(descriptorOf(CONFIG_TYPE, '{}'), [{ mediaType: LAYER_TYPE, size: 1 } as never]))],
    ['a repeated key', `{"schemaVersion":2,"schemaVersion":2,"mediaType":"${MediaType.ociManifest}","config":{},"layers":[]}`],
    ['a Docker schema 1 manifest', JSON.stringify({ schemaVersion: 1, name: 'x', tag: 'y', fsLayers: [] })],
  ])('answers 400 MANIFEST_INVALID to %s', async (_, body) => {
    await expectError(await t.client.putManifest('ref/invalid', 'v1', body, MediaType.ociManifest), 400, 'MANIFEST_INVALID');
  });

  it('answers 400 MANIFEST_INVALID when mediaType contradicts Content-Type', async () => {
    const doc = ociManifest(await config('ref/invalid'), []);
    await expectError(await t.client.putManifest('ref/invalid', 'v1', doc, MediaType.dockerManifest), 400, 'MANIFEST_INVALID');
  });

  it('answers 400 DIGEST_INVALID when the digest in the path does not match the body', async () => {
    const doc = manifestBytes(ociManifest(await config('ref/digest'), []));
    const error = await expectError(await t.client.putManifest('ref/digest', sha256('other'), doc), 400, 'DIGEST_INVALID');
    expect(error.detail).toEqual({ expected: sha256('other'), computed: sha256(doc) });
    expect((await t.client.head(`/v2/ref/digest/manifests/${sha256(doc)}`)).status).toBe(404);
  });

  it('answers 400 DIGEST_INVALID to a malformed digest reference (sha256:totallywrong)', async () => {
    const doc = ociManifest(await config('ref/digest'), []);
    await expectError(await t.client.putManifest('ref/digest', 'sha256:totallywrong', doc), 400, 'DIGEST_INVALID');
  });

  it('answers 400 MANIFEST_INVALID to a malformed tag (path or ?tag=)', async () => {
    const doc = manifestBytes(ociManifest(await config('ref/tag'), []));
    await expectError(await t.client.putManifest('ref/tag', '-leading-dash', doc), 400, 'MANIFEST_INVALID');
    const res = await t.client.send('PUT', `/v2/ref/tag/manifests/${sha256(doc)}?tag=${'x'.repeat(129)}`, {
      headers: { 'Content-Type': MediaType.ociManifest },
      body: doc,
    });
    await expectError(res, 400, 'MANIFEST_INVALID');
  });
});
