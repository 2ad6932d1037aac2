import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keys } from '../../core/registry/keys.ts';
import { createTestApp, expectError, itemsOf, sha256, type TestApp } from '../support/app.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

const tagsOf = async (name: string) => ((await (await t.client.get(`/v2/${name}/tags/list`)).json()) as { tags: string[] }).tags;

describe('DELETE /v2/<name>/manifests/<digest>', () => {
  it('answers 202; the manifest and every tag pointing at it are gone', async () => {
    const image = await t.client.pushImage('del/digest', 'a');
    await t.client.pushManifest('del/digest', 'b', image.bytes);
    const other = await t.client.pushImage('del/digest', 'c');
    expect((await t.client.delete(`/v2/del/digest/manifests/${image.digest}`)).status).toBe(202);
    await expectError(await t.client.get(`/v2/del/digest/manifests/${image.digest}`), 404, 'MANIFEST_UNKNOWN');
    await expectError(await t.client.get('/v2/del/digest/manifests/a'), 404, 'MANIFEST_UNKNOWN');
    expect((await t.client.head('/v2/del/digest/manifests/b')).status).toBe(404);
    expect(await tagsOf('del/digest')).toEqual(['c']);
    expect((await t.client.head(`/v2/del/digest/manifests/${other.digest}`)).status).toBe(200);
    const tagItems = await itemsOf(t.table, keys.repo('del/digest'), keys.tagPrefix);
    expect(tagItems.map((i) => i.attrs.digest)).toEqual([other.digest]);
  });

  it('keeps the blobs (they go with GC)', async () => {
    const image = await t.client.pushImage('del/blobs', 'v1');
    expect((await t.client.delete(`/v2/del/blobs/manifests/${image.digest}`)).status).toBe(202);
    expect((await t.client.head(`/v2/del/blobs/blobs/${sha256(image.config)}`)).status).toBe(200);
  });

  it('answers 404 MANIFEST_UNKNOWN for an unknown digest, and on a second delete', async () => {
    const image = await t.client.pushImage('del/twice', 'v1');
    expect((await t.client.delete(`/v2/del/twice/manifests/${image.digest}`)).status).toBe(202);
    await expectError(await t.client.delete(`/v2/del/twice/manifests/${image.digest}`), 404, 'MANIFEST_UNKNOWN');
  });

  it('answers 400 DIGEST_INVALID to a malformed digest', async () => {
    await expectError(await t.client.delete('/v2/del/twice/manifests/sha256:abc'), 400, 'DIGEST_INVALID');
  });
});

describe('DELETE /v2/<name>/manifests/<tag>', () => {
  it('answers 202; the tag is gone, the manifest stays reachable by digest and other tags', async () => {
    const image = await t.client.pushImage('del/tag', 'old');
    await t.client.pushManifest('del/tag', 'keep', image.bytes);
    expect((await t.client.delete('/v2/del/tag/manifests/old')).status).toBe(202);
    await expectError(await t.client.get('/v2/del/tag/manifests/old'), 404, 'MANIFEST_UNKNOWN');
    expect((await t.client.get(`/v2/del/tag/manifests/${image.digest}`)).status).toBe(200);
    expect((await t.client.get('/v2/del/tag/manifests/keep')).status).toBe(200);
    expect(await tagsOf('del/tag')).toEqual(['keep']);
  });

  it('answers 404 MANIFEST_UNKNOWN for an unknown tag', async () => {
    await expectError(await t.client.delete('/v2/del/tag/manifests/never'), 404, 'MANIFEST_UNKNOWN');
  });
});
