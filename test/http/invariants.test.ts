// DESIGN §2 invariants of the index, each proven at the registry level and read back through the Table.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import { keys } from '../../core/registry/keys.ts';
import {
  CONFIG_TYPE,
  createTestApp,
  descriptorOf,
  expectError,
  interceptTable,
  itemsOf,
  LAYER_TYPE,
  manifestBytes,
  ociIndex,
  ociManifest,
  sha256,
  type TestApp,
} from '../support/app.ts';

let clock = 1_000_000;
let fault: { put?: (sk: string) => boolean; delete?: (sk: string) => boolean } = {};
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({
    now: () => clock,
    wrapTable: (table) =>
      interceptTable(table, {
        put: (item) => {
          if (fault.put?.(item.sk)) throw new Error(`injected crash before writing ${item.pk} / ${item.sk}`);
        },
        delete: (_pk, sk) => {
          if (fault.delete?.(sk)) throw new Error(`injected crash before deleting ${sk}`);
        },
      }),
  });
});
afterAll(() => t.close());

const get = async (k: { pk: string; sk: string }) => t.table.get(k.pk, k.sk);

/** Pushes a config and a layer to `name`; returns an OCI manifest over them (not pushed). */
async function blobsFor(name: string) {
  const config = JSON.stringify({ nonce: randomBytes(4).toString('hex') });
  const layer = randomBytes(300);
  await t.client.pushBlob(name, config);
  await t.client.pushBlob(name, layer);
  return { config, layer, manifest: manifestBytes(ociManifest(descriptorOf(CONFIG_TYPE, config), [descriptorOf(LAYER_TYPE, layer)])) };
}

describe('a manifest is accepted only when everything it references is in that repository', () => {
  it('a blob pushed to A is not usable from B until mounted', async () => {
    const { config, layer, manifest } = await blobsFor('inv/a');
    await expectError(await t.client.putManifest('inv/b', 'v1', manifest), 400, 'MANIFEST_BLOB_UNKNOWN');
    for (const digest of [sha256(config), sha256(layer)]) {
      expect(await get(keys.link('inv/b', digest))).toBeUndefined();
      await expectError(await t.client.get(`/v2/inv/b/blobs/${digest}`), 404, 'BLOB_UNKNOWN');
      expect((await t.client.head(`/v2/inv/b/blobs/${digest}`)).status).toBe(404);
    }
    for (const digest of [sha256(config), sha256(layer)]) {
      expect((await t.client.send('POST', `/v2/inv/b/blobs/uploads/?mount=${digest}&from=inv/a`)).status).toBe(201);
    }
    expect((await t.client.putManifest('inv/b', 'v1', manifest)).status).toBe(201);
  });

  it('a child manifest stored in A does not satisfy an index pushed to B', async () => {
    const { manifest } = await blobsFor('inv/a');
    await t.client.pushManifest('inv/a', sha256(manifest), manifest);
    const index = ociIndex([descriptorOf(MediaType.ociManifest, manifest)]);
    await expectError(await t.client.putManifest('inv/c', 'multi', index), 400, 'MANIFEST_BLOB_UNKNOWN');
    expect(await get(keys.manifest('inv/c', sha256(manifest)))).toBeUndefined();
  });

  it('a failed PUT leaves no MANIFEST, TAG or REFERRER item, and no catalog entry for a new repository', async () => {
    const { config } = await blobsFor('inv/fresh');
    const subject = descriptorOf(MediaType.ociManifest, '{"s":1}');
    const doc = manifestBytes(ociManifest(descriptorOf(CONFIG_TYPE, config), [descriptorOf(LAYER_TYPE, randomBytes(9))], { subject }));
    await expectError(await t.client.putManifest('inv/fresh', 'v1', doc), 400, 'MANIFEST_BLOB_UNKNOWN');
    const items = await itemsOf(t.table, keys.repo('inv/fresh'));
    expect(items.every((i) => i.sk.startsWith(keys.linkPrefix)), items.map((i) => i.sk).join()).toBe(true);
    expect(await get(keys.catalog('inv/fresh'))).toBeUndefined();
    const catalog = (await (await t.client.get('/v2/_catalog')).json()) as { repositories: string[] };
    expect(catalog.repositories).not.toContain('inv/fresh');
    await expectError(await t.client.get('/v2/inv/fresh/tags/list'), 404, 'NAME_UNKNOWN');
  });
});

describe('the tag is written last', () => {
  it('a crash before the TAG write leaves the manifest (by digest) and no tag; a retry succeeds', async () => {
    const { manifest } = await blobsFor('inv/crash');
    fault = { put: (sk) => sk.startsWith(keys.tagPrefix) };
    try {
      await expectError(await t.client.putManifest('inv/crash', 'v1', manifest), 500, 'UNKNOWN');
    } finally {
      fault = {};
    }
    expect(await get(keys.manifest('inv/crash', sha256(manifest)))).toBeDefined();
    expect(await get(keys.tag('inv/crash', 'v1'))).toBeUndefined();
    await expectError(await t.client.get('/v2/inv/crash/manifests/v1'), 404, 'MANIFEST_UNKNOWN');
    expect((await t.client.putManifest('inv/crash', 'v1', manifest)).status).toBe(201);
    expect((await get(keys.tag('inv/crash', 'v1')))?.attrs.digest).toBe(sha256(manifest));
  });

  it('a crash while moving a tag leaves it on the old manifest', async () => {
    const first = await blobsFor('inv/move');
    const second = await blobsFor('inv/move');
    await t.client.pushManifest('inv/move', 'latest', first.manifest);
    fault = { put: (sk) => sk === `${keys.tagPrefix}latest` };
    try {
      await expectError(await t.client.putManifest('inv/move', 'latest', second.manifest), 500, 'UNKNOWN');
    } finally {
      fault = {};
    }
    const res = await t.client.get('/v2/inv/move/manifests/latest');
    expect(res.headers.get('docker-content-digest')).toBe(sha256(first.manifest));
  });

  it('a crash while deleting a manifest never leaves a tag pointing at a missing manifest', async () => {
    const { manifest } = await blobsFor('inv/delete');
    await t.client.pushManifest('inv/delete', 'a', manifest);
    await t.client.pushManifest('inv/delete', 'b', manifest);
    fault = { delete: (sk) => sk.startsWith(keys.manifestPrefix) };
    try {
      await expectError(await t.client.delete(`/v2/inv/delete/manifests/${sha256(manifest)}`), 500, 'UNKNOWN');
    } finally {
      fault = {};
    }
    for (const tag of await itemsOf(t.table, keys.repo('inv/delete'), keys.tagPrefix)) {
      expect(await get(keys.manifest('inv/delete', tag.attrs.digest as string))).toBeDefined();
    }
    expect((await t.client.delete(`/v2/inv/delete/manifests/${sha256(manifest)}`)).status).toBe(202);
  });
});

describe('lastRef and pushedAt', () => {
  it('a manifest PUT stamps lastRef on every blob it references, and pushedAt on its tags', async () => {
    clock = 2_000_000;
    const { config, layer, manifest } = await blobsFor('inv/stamp');
    expect((await get(keys.blob(sha256(layer))))?.attrs.lastRef).toBe(2_000_000);
    clock = 3_000_000;
    await t.client.pushManifest('inv/stamp', 'v1', manifest);
    for (const digest of [sha256(config), sha256(layer)]) {
      expect((await get(keys.blob(digest)))?.attrs.lastRef).toBeGreaterThanOrEqual(3_000_000);
    }
    expect((await get(keys.manifest('inv/stamp', sha256(manifest))))?.attrs.lastRef).toBeGreaterThanOrEqual(3_000_000);
    expect((await get(keys.tag('inv/stamp', 'v1')))?.attrs.pushedAt).toBeGreaterThanOrEqual(3_000_000);
  });

  it('an index PUT stamps lastRef on every child manifest', async () => {
    clock = 4_000_000;
    const a = await blobsFor('inv/stamp');
    const b = await blobsFor('inv/stamp');
    await t.client.pushManifest('inv/stamp', sha256(a.manifest), a.manifest);
    await t.client.pushManifest('inv/stamp', sha256(b.manifest), b.manifest);
    clock = 5_000_000;
    const index = ociIndex([descriptorOf(MediaType.ociManifest, a.manifest), descriptorOf(MediaType.ociManifest, b.manifest)]);
    await t.client.pushManifest('inv/stamp', 'multi', index);
    for (const child of [a.manifest, b.manifest]) {
      expect((await get(keys.manifest('inv/stamp', sha256(child))))?.attrs.lastRef).toBeGreaterThanOrEqual(5_000_000);
    }
    expect((await get(keys.tag('inv/stamp', 'multi')))?.attrs.pushedAt).toBeGreaterThanOrEqual(5_000_000);
  });
});
