// What one GC run collects and what it keeps, run as the state machine (the checked-in ASL under
// aws-local-stepfunctions, Task states bound to the functions/gc-* handlers), on both backends.
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import { keys } from '../../core/registry/index.ts';
import type { GcInput } from '../../core/registry/gc/index.ts';
import { runGcWorkflow } from '../../bin/gc-workflow.ts';
import { descriptorOf, EMPTY_DESCRIPTOR, EMPTY_JSON, manifestBytes, ociManifest, sha256 } from '../support/app.ts';
import { allObjectKeys, blobIndexed, expectPullable, imageOf, indexOf, layer, manifestStored, partitions, push } from './support/content.ts';
import { BACKENDS, Clock, openStore, registryOver, type RegistryOverStore, type Store } from './support/stores.ts';

const HOUR = 3_600_000;

describe.each(BACKENDS)('GC on the %s backend', (kind) => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  async function setup(settings = {}) {
    store = await openStore(kind, { minPartSize: 1024 });
    const clock = new Clock();
    const r = registryOver(store, clock, settings);
    const gc = (input: GcInput = {}) => runGcWorkflow(r.deps, { gracePeriodSeconds: 3600, pageSize: 3, ...input });
    return { store, clock, r, gc };
  }

  /** a (tag a) and b (tag b) share a base layer; then b is moved to c, leaving b's manifest untagged. */
  async function movedTag(r: RegistryOverStore) {
    const base = layer();
    const a = await push(r.client, imageOf('app/web', [base, layer()]), 'a');
    const b = await push(r.client, imageOf('app/web', [base, layer()]), 'b');
    const c = await push(r.client, imageOf('app/web', [layer()]), 'b');
    return { base, a, b, c };
  }

  it('collects an untagged manifest and the blobs only it reached; keeps what tags reach', async () => {
    const { store, clock, r, gc } = await setup();
    const { base, a, b, c } = await movedTag(r);
    clock.advance(2 * HOUR);
    const result = await gc();
    expect(result.dryRun).toBe(false);
    expect(result.report.deleted.manifests.count).toBe(1);
    expect(result.report.examples.manifests).toEqual([`app/web@${b.digest}`]);
    expect(result.report.deleted.blobs.count).toBe(2);
    expect(result.report.deleted.blobs.bytes).toBe(b.config.byteLength + (b.layers[1] as Uint8Array).byteLength);
    expect(result.report.deleted.links.count).toBe(2);
    expect(result.bytesFreed).toBe(result.report.deleted.blobs.bytes + b.bytes.byteLength);
    expect(await manifestStored(store.table, 'app/web', b.digest)).toBe(false);
    expect(await blobIndexed(store.table, sha256(b.config))).toBe(false);
    expect((await r.client.head(`/v2/app/web/blobs/${sha256(b.layers[1] as Uint8Array)}`)).status).toBe(404);
    expect(await blobIndexed(store.table, sha256(base))).toBe(true);
    await expectPullable(r, store, a, 'a');
    await expectPullable(r, store, c, 'b');
    // Bytes, BLOB items and LINKs left are exactly those of a and c.
    const live = new Set([a, c].flatMap((i) => [i.config, ...i.layers].map((x) => sha256(x))));
    expect(await partitions(store.table, keys.blobPartitionPrefix)).toEqual([...live].map((d) => keys.blob(d).pk).sort());
    expect((await allObjectKeys(store, 'blobs/')).length).toBe(live.size);
    expect((await store.table.query(keys.repo('app/web'), { prefix: keys.linkPrefix })).items.length).toBe(live.size);
    // A run leaves no marks behind.
    expect(await partitions(store.table, 'GC#')).toEqual([]);
    expect((await store.table.query(keys.gcPartition, { prefix: keys.gcRunPrefix })).items).toEqual([]);
  });

  it('a dry run reports what would go and the bytes freed, and deletes nothing', async () => {
    const { store, clock, r, gc } = await setup();
    const { b } = await movedTag(r);
    clock.advance(2 * HOUR);
    const dry = await gc({ dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.report.deleted.manifests.count).toBe(1);
    expect(dry.report.deleted.blobs.count).toBe(2);
    expect(dry.bytesFreed).toBe(b.bytes.byteLength + b.config.byteLength + (b.layers[1] as Uint8Array).byteLength);
    await expectPullable(r, store, b);
    const real = await gc();
    expect(real.report.deleted.manifests).toEqual(dry.report.deleted.manifests);
    expect(real.report.deleted.blobs).toEqual(dry.report.deleted.blobs);
    expect(real.bytesFreed).toBe(dry.bytesFreed);
  });

  it('keeps what was pushed or referenced within the grace period', async () => {
    const { store, clock, r, gc } = await setup();
    const { b } = await movedTag(r);
    clock.advance(30 * 60_000);
    const result = await gc();
    expect(result.report.deleted.manifests.count + result.report.deleted.blobs.count).toBe(0);
    await expectPullable(r, store, b);
  });

  it('keeps the children of a tagged index and the referrers of what it keeps; collects the referrers of what goes', async () => {
    const { store, clock, r, gc } = await setup();
    // Children pushed by digest: untagged, reachable only through the index.
    const amdImage = imageOf('multi/app', [layer()]);
    const amd = await push(r.client, amdImage, amdImage.digest);
    const armImage = imageOf('multi/app', [layer()]);
    const arm = await push(r.client, armImage, armImage.digest);
    const index = indexOf('multi/app', [amd, arm]);
    expect((await r.client.putManifest('multi/app', 'v1', index.bytes, MediaType.ociIndex)).status).toBe(201);
    const signature = await referrer(r, 'multi/app', index.bytes, MediaType.ociIndex);
    const orphanImage = await push(r.client, imageOf('multi/app', [layer()]), 'gone');
    await r.client.delete(`/v2/multi/app/manifests/gone`);
    const orphanSignature = await referrer(r, 'multi/app', orphanImage.bytes, MediaType.ociManifest);
    clock.advance(2 * HOUR);
    const result = await gc();
    expect(result.report.examples.manifests.sort()).toEqual([`multi/app@${orphanImage.digest}`, `multi/app@${orphanSignature}`].sort());
    expect(result.report.deleted.referrers.count).toBe(1);
    await expectPullable(r, store, amd);
    await expectPullable(r, store, arm);
    expect((await r.client.get(`/v2/multi/app/manifests/${signature}`)).status).toBe(200);
    const referrers = (await (await r.client.get(`/v2/multi/app/referrers/${index.digest}`)).json()) as { manifests: unknown[] };
    expect(referrers.manifests).toHaveLength(1);
    const gone = (await (await r.client.get(`/v2/multi/app/referrers/${orphanImage.digest}`)).json()) as { manifests: unknown[] };
    expect(gone.manifests).toHaveLength(0);
  });

  it('collects the body of a large manifest, stored as a blob, with the manifest, and keeps a tagged one', async () => {
    const { store, clock, r, gc } = await setup({ inlineManifestMax: 256 });
    const big = await push(r.client, imageOf('big/app', [layer()], { annotations: { filler: 'x'.repeat(2000) } }), 'v1');
    const dropped = await push(r.client, imageOf('big/app', [layer()], { annotations: { filler: 'y'.repeat(2000) } }), 'v2');
    await r.client.delete('/v2/big/app/manifests/v2');
    expect(await blobIndexed(store.table, dropped.digest)).toBe(true);
    clock.advance(2 * HOUR);
    const result = await gc();
    expect(result.report.examples.blobs).toContain(dropped.digest);
    expect(await blobIndexed(store.table, dropped.digest)).toBe(false);
    expect(await blobIndexed(store.table, big.digest)).toBe(true);
    await expectPullable(r, store, big, 'v1');
  });

  it('sweeps upload sessions that expired a grace period ago: multipart upload, staged chunks, items', async () => {
    const { store, clock, r, gc } = await setup();
    const min = store.objects.limits.minPartSize;
    const staged = await r.client.startUpload('up/app');
    expect((await r.client.patchChunk(staged.location, layer(100), 0)).status).toBe(202);
    const parted = await r.client.startUpload('up/app');
    expect((await r.client.patchChunk(parted.location, layer(min + 10), 0)).status).toBe(202);
    await r.client.startUpload('up/app');
    expect(await allObjectKeys(store, 'staging/')).toHaveLength(1);
    clock.advance(24 * HOUR + 30 * 60_000);
    // Expired, but not yet by the grace period: kept.
    expect((await gc()).report.deleted.uploads.count).toBe(0);
    clock.advance(HOUR);
    const fresh = await r.client.startUpload('up/app');
    const result = await gc();
    expect(result.report.deleted.uploads.count).toBe(3);
    expect(result.report.deleted.uploads.bytes).toBe(100 + min + 10);
    expect(await partitions(store.table, keys.uploadPartitionPrefix)).toEqual([keys.uploadPartition(fresh.uuid)]);
    expect(await allObjectKeys(store, 'staging/')).toEqual([]);
    expect(await allObjectKeys(store, 'blobs/')).toEqual([]);
  });

  it('deletes orphaned objects a grace period after a run first saw them, never live ones', async () => {
    const { store, clock, r, gc } = await setup();
    const image = await push(r.client, imageOf('orph/app', [layer()]), 'v1');
    const orphan = keys.blobObject(randomUUID());
    await store.objects.put(orphan, layer(321));
    const stagedOrphan = keys.stagedObject(randomUUID(), 0);
    await store.objects.put(stagedOrphan, layer(12));
    const pending = await r.client.startUpload('orph/app');
    await r.client.patchChunk(pending.location, layer(50), 0);
    const first = await gc({ gracePeriodSeconds: 600 });
    expect(first.report.deleted.orphans.count).toBe(0);
    expect((await store.table.query(keys.gcPartition, { prefix: keys.orphanPrefix })).items).toHaveLength(2);
    clock.advance(20 * 60_000);
    const second = await gc({ gracePeriodSeconds: 600 });
    expect(second.report.deleted.orphans.count).toBe(2);
    expect(second.report.deleted.orphans.bytes).toBe(321 + 12);
    expect(await store.objects.head(orphan)).toBeUndefined();
    expect(await store.objects.head(stagedOrphan)).toBeUndefined();
    expect((await store.table.query(keys.gcPartition, { prefix: keys.orphanPrefix })).items).toEqual([]);
    expect(await allObjectKeys(store, 'staging/')).toHaveLength(1);
    await expectPullable(r, store, image, 'v1');
  });

  it('gives the same result whatever the page size and the pages per task', async () => {
    const { store, clock, r, gc } = await setup();
    const kept = [];
    for (let i = 0; i < 4; i++) kept.push(await push(r.client, imageOf(`paged/r${i % 2}`, [layer(), layer()]), `t${i}`));
    // Two scratch images per repository: the first of each ends untagged.
    for (let i = 0; i < 4; i++) await push(r.client, imageOf(`paged/r${i % 2}`, [layer()]), 'scratch');
    clock.advance(2 * HOUR);
    const result = await gc({ pageSize: 1, pagesPerTask: 1 });
    expect(result.report.deleted.manifests.count).toBe(2);
    expect(result.report.deleted.blobs.count).toBe(4);
    for (const image of kept) await expectPullable(r, store, image);
    expect(await partitions(store.table, 'GC#')).toEqual([]);
  });

  it('a task that fails midway is retried from its cursor and loses nothing', async () => {
    const { store, clock, r } = await setup();
    const { a, b, c } = await movedTag(r);
    const index = indexOf('app/web', [a, c]);
    expect((await r.client.putManifest('app/web', 'multi', index.bytes, MediaType.ociIndex)).status).toBe(201);
    clock.advance(2 * HOUR);
    // One fault in the middle of marking (after some marks were written), one in the middle of sweeping.
    let markPuts = 0;
    let blobDeletes = 0;
    const faults: string[] = [];
    const table = store.table;
    const faulty: typeof table = {
      get: (pk, sk) => table.get(pk, sk),
      put: async (item, condition) => {
        if (item.pk.startsWith('GC#') && ++markPuts === 4) {
          faults.push(`put ${item.sk}`);
          throw new Error('injected fault while marking');
        }
        return table.put(item, condition);
      },
      update: (pk, sk, set, condition) => table.update(pk, sk, set, condition),
      delete: async (pk, sk, condition) => {
        if (sk === 'BLOB' && ++blobDeletes === 2) {
          faults.push(`delete ${pk}`);
          throw new Error('injected fault while sweeping');
        }
        return table.delete(pk, sk, condition);
      },
      query: (pk, options) => table.query(pk, options),
      scanPartitions: (prefix, options) => table.scanPartitions!(prefix, options),
    };
    const result = await runGcWorkflow({ ...r.deps, table: faulty }, { gracePeriodSeconds: 3600, pageSize: 2 });
    expect(faults).toHaveLength(2);
    expect(result.report.examples.manifests).toEqual([`app/web@${b.digest}`]);
    expect(await blobIndexed(store.table, sha256(b.config))).toBe(false);
    await expectPullable(r, store, a, 'a');
    await expectPullable(r, store, c, 'b');
    await expectPullable(r, store, a);
  });

  async function referrer(r: RegistryOverStore, name: string, subjectBytes: Uint8Array, subjectType: string): Promise<string> {
    await r.client.pushBlob(name, EMPTY_JSON);
    const payload = layer(40);
    await r.client.pushBlob(name, payload);
    const doc = ociManifest(EMPTY_DESCRIPTOR, [descriptorOf('application/vnd.example.sig', payload)], {
      artifactType: 'application/vnd.example.sig',
      subject: descriptorOf(subjectType, subjectBytes),
    });
    const res = await r.client.putManifest(name, sha256(manifestBytes(doc)), doc, MediaType.ociManifest);
    expect(res.status, await res.clone().text()).toBe(201);
    return sha256(manifestBytes(doc));
  }
});
