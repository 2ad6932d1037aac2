// Tag immutability over HTTP: per project, tags matching its globs (except its exceptions) can be
// pushed once and re-pushed with the same digest, but moving or deleting them is DENIED (403,
// an OCI error body); two racing pushes of different manifests to a new immutable tag cannot both win.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import { TagImmutability } from '../../core/registry/policies/index.ts';
import { createTestApp, expectError, type TestApp } from '../support/app.ts';
import { imageOf, layer, pushImage } from './support/content.ts';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
  const rules = new TagImmutability(t.registry.deps);
  await rules.set('prod', { except: ['latest', 'dev-*'] });
  await rules.set('library', { immutable: ['v*'] });
});
afterAll(() => t.close());

const put = (name: string, image: { bytes: Uint8Array }, query = '') => t.client.send('PUT', `/v2/${name}/manifests/${query}`, {
  headers: { 'Content-Type': MediaType.ociManifest },
  body: image.bytes,
});

describe('immutable tags', () => {
  it('refuses to move an immutable tag with 403 DENIED; the tag keeps its manifest', async () => {
    const first = imageOf('prod/api', [layer()]);
    expect((await pushImage(t.client, first, 'v1')).status).toBe(201);
    const second = imageOf('prod/api', [layer()]);
    const error = await expectError(await pushImage(t.client, second, 'v1'), 403, 'DENIED');
    expect(error.message).toMatch(/immutable/);
    expect(error.detail).toEqual({ name: 'prod/api', tag: 'v1' });
    const head = await t.client.head('/v2/prod/api/manifests/v1');
    expect(head.headers.get('docker-content-digest')).toBe(first.digest);
  });

  it('accepts a re-push of the same digest to an immutable tag', async () => {
    const image = imageOf('prod/same', [layer()]);
    expect((await pushImage(t.client, image, 'v1')).status).toBe(201);
    expect((await pushImage(t.client, image, 'v1')).status).toBe(201);
    expect((await put('prod/same', image, `${image.digest}?tag=v1`)).status).toBe(201);
  });

  it('lets the exceptions (latest, dev-*) move, and other projects follow their own rule', async () => {
    for (const tag of ['latest', 'dev-7']) {
      expect((await pushImage(t.client, imageOf('prod/web', [layer()]), tag)).status).toBe(201);
      const moved = imageOf('prod/web', [layer()]);
      expect((await pushImage(t.client, moved, tag)).status).toBe(201);
      expect((await t.client.head(`/v2/prod/web/manifests/${tag}`)).headers.get('docker-content-digest')).toBe(moved.digest);
    }
    // library: only v* is immutable; a one-segment name belongs to library.
    expect((await pushImage(t.client, imageOf('nginx', [layer()]), 'stable')).status).toBe(201);
    expect((await pushImage(t.client, imageOf('nginx', [layer()]), 'stable')).status).toBe(201);
    expect((await pushImage(t.client, imageOf('nginx', [layer()]), 'v2')).status).toBe(201);
    await expectError(await pushImage(t.client, imageOf('nginx', [layer()]), 'v2'), 403, 'DENIED');
    // No rule: mutable.
    expect((await pushImage(t.client, imageOf('free/app', [layer()]), 'v1')).status).toBe(201);
    expect((await pushImage(t.client, imageOf('free/app', [layer()]), 'v1')).status).toBe(201);
  });

  it('refuses a multi-tag push that would move one immutable tag, before moving any tag', async () => {
    const first = imageOf('prod/multi', [layer()]);
    expect((await pushImage(t.client, first, 'latest')).status).toBe(201);
    expect((await put('prod/multi', first, `${first.digest}?tag=v3`)).status).toBe(201);
    const second = imageOf('prod/multi', [layer()]);
    expect((await pushImage(t.client, second, 'scratch')).status).toBe(201);
    await expectError(await put('prod/multi', second, `${second.digest}?tag=latest&tag=v3`), 403, 'DENIED');
    expect((await t.client.head('/v2/prod/multi/manifests/latest')).headers.get('docker-content-digest')).toBe(first.digest);
  });

  it('refuses to delete an immutable tag, or the manifest it points at', async () => {
    const image = imageOf('prod/keep', [layer()]);
    expect((await pushImage(t.client, image, 'v1')).status).toBe(201);
    await expectError(await t.client.delete('/v2/prod/keep/manifests/v1'), 403, 'DENIED');
    await expectError(await t.client.delete(`/v2/prod/keep/manifests/${image.digest}`), 403, 'DENIED');
    expect((await t.client.head('/v2/prod/keep/manifests/v1')).status).toBe(200);
    // A mutable tag still deletes.
    expect((await pushImage(t.client, imageOf('prod/keep', [layer()]), 'latest')).status).toBe(201);
    expect((await t.client.delete('/v2/prod/keep/manifests/latest')).status).toBe(202);
  });

  it('two racing pushes of different manifests to a new immutable tag: exactly one wins', async () => {
    for (let round = 0; round < 10; round++) {
      const name = `prod/race${round}`;
      const images = [imageOf(name, [layer()]), imageOf(name, [layer()])];
      for (const image of images) expect((await pushImage(t.client, image, image.digest)).status).toBe(201);
      const results = await Promise.all(images.map((image) => put(name, image, `${image.digest}?tag=v1`)));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).toEqual([201, 403]);
      const winner = images[results.findIndex((r) => r.status === 201)]!;
      expect((await t.client.head(`/v2/${name}/manifests/v1`)).headers.get('docker-content-digest')).toBe(winner.digest);
    }
  });
});
