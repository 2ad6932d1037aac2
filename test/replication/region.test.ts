// Replication to another Cirrus region (DESIGN §6), on the AWS adapters: two registries, each over
// a table on dynalite and a bucket on Ceph RGW. Blob bytes go from bucket to bucket by server-side
// copy (CopyObject; UploadPartCopy ranges for a layer above the single-copy limit, lowered here
// so a 3 MiB layer takes the multipart path for real), never through this process; the index at
// the destination is written through the core's use cases, in the order of a push.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import type { ObjectStore, Table } from '../../core/ports/index.ts';
import { keys } from '../../core/registry/keys.ts';
import { ReplicationRules, type NewRule, type Regions, type ReplicationInput } from '../../core/replication/index.ts';
import { DynamoDbTable } from '../../core/storage/dynamodb/dynamodb-table.ts';
import { S3ObjectStore } from '../../core/storage/s3/s3-object-store.ts';
import { runReplicationWorkflow } from '../../bin/replication-workflow.ts';
import { createTestApp, descriptorOf, EMPTY_DESCRIPTOR, EMPTY_JSON, manifestBytes, ociManifest, sha256, type TestApp } from '../support/app.ts';
import { rgwS3Client, sharedDynamoClient } from '../support/aws-servers.ts';
import { imageOf, layer, push } from '../gc/support/content.ts';
import { replicationDeps, storedBlob, tagDigest } from './support/served.ts';
import { pushRule } from './support/rules.ts';

const MiB = 1024 * 1024;

const rule = pushRule;

// Runs in the aws-rgw project only (vitest.config.ts): the region kind needs S3's server-side copy.
describe('replication to another Cirrus region (two tables, two buckets on Ceph RGW)', () => {
  let a: TestApp;
  let b: TestApp;
  let url: string;
  /** Every copy's parts, as the destination's copier answered. */
  const copies: Array<{ key: string; parts: number }> = [];
  /** The destination table's writes, in order (sort keys). */
  const writes: string[] = [];
  /** Reads of blob bytes at the source (there must be none: the bytes never come through here). */
  const blobReads: string[] = [];
  let regions: Regions;
  /** Set to make the destination's next BLOB index write fail (a crash after the copy, before its commit). */
  let failBlobCommit = false;
  let sourceObjects: ObjectStore;
  let clients: { s3: ReturnType<typeof rgwS3Client>; dynamo: ReturnType<typeof sharedDynamoClient> };

  beforeAll(async () => {
    clients = { s3: rgwS3Client(), dynamo: sharedDynamoClient() };
    a = await createTestApp();
    b = await createTestApp();
    const sourceBucket = (a.objects as S3ObjectStore).bucket;
    const destBucket = (b.objects as S3ObjectStore).bucket;
    // The test store names a table after its bucket.
    url = `cirrus-region://${destBucket}/${destBucket}`;
    regions = {
      sourceBucket,
      open: (target) => {
        const copier = new S3ObjectStore({ client: clients.s3, bucket: target.bucket, maxSingleCopy: 1 * MiB, copyPartSize: 1 * MiB });
        const objects = Object.assign(Object.create(copier) as S3ObjectStore, {
          copyFrom: async (...args: Parameters<S3ObjectStore['copyFrom']>) => {
            const out = await copier.copyFrom(...args);
            copies.push({ key: args[1], parts: out.parts });
            return out;
          },
        });
        const table = new DynamoDbTable({ client: clients.dynamo, tableName: target.table });
        const recorded = Object.assign(Object.create(table) as Table, {
          put: (item: Parameters<Table['put']>[0], condition?: Parameters<Table['put']>[1]) => {
            if (failBlobCommit && item.sk === 'BLOB') {
              failBlobCommit = false;
              return Promise.reject(new Error('injected: the process died after the copy, before the commit'));
            }
            writes.push(`${item.pk} ${item.sk}`);
            return table.put(item, condition);
          },
        });
        return { table: recorded, objects };
      },
    };
    sourceObjects = Object.assign(Object.create(a.objects) as ObjectStore, {
      get: (key: string, range?: Parameters<ObjectStore['get']>[1]) => {
        if (key.startsWith('blobs/')) blobReads.push(key);
        return a.objects.get(key, range);
      },
    });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    clients?.s3.destroy();
  });

  let ruleNames: string[] = [];
  afterEach(async () => {
    const rules = new ReplicationRules(a.registry.deps);
    for (const name of ruleNames) await rules.remove(name);
    ruleNames = [];
  });
  async function addRule(name: string, extra: Partial<NewRule> = {}): Promise<void> {
    ruleNames.push(name);
    await new ReplicationRules(a.registry.deps).add(rule(name, url, extra));
  }
  function run(input: ReplicationInput) {
    return runReplicationWorkflow(replicationDeps(a, { objects: sourceObjects, regions }), input, { retryIntervalMs: 20 });
  }

  it('copies blobs bucket to bucket (a large layer by UploadPartCopy), then the manifest, its referrer and the tag; byte-identical; idempotent', async () => {
    const big = layer(3 * MiB + 17);
    const small = layer(700);
    const image = await push(a.client, imageOf('eng/app', [big, small]), 'v1');
    await a.client.pushBlob('eng/app', EMPTY_JSON);
    const sbom = layer(300);
    await a.client.pushBlob('eng/app', sbom);
    const referrer = manifestBytes(
      ociManifest(EMPTY_DESCRIPTOR, [descriptorOf('application/spdx+json', sbom)], {
        artifactType: 'application/spdx+json',
        subject: { mediaType: MediaType.ociManifest, digest: image.digest, size: image.bytes.byteLength },
      }),
    );
    expect((await a.client.putManifest('eng/app', sha256(referrer), referrer, MediaType.ociManifest)).status).toBe(201);

    await addRule('region', { repos: ['eng/*'], tags: ['v*'] });
    const result = await run({ rule: 'region', trigger: 'run' });
    expect(result.ok, JSON.stringify(result.totals.failures)).toBe(true);
    expect(result.totals.outcomes).toEqual({ copied: 1 });
    expect(result.totals.manifests).toBe(2);
    expect(result.totals.blobs).toBe(5);
    expect(blobReads, 'no blob bytes read at the source').toEqual([]);
    // The big layer went in four UploadPartCopy ranges, the rest in one CopyObject each.
    expect(copies.map((c) => c.parts).sort()).toEqual([1, 1, 1, 1, 4]);

    // Byte-identical at the destination, under its own keys, tagged with their digests.
    expect(await tagDigest(b, 'eng/app', 'v1')).toBe(image.digest);
    const got = await b.client.get('/v2/eng/app/manifests/v1', { Accept: MediaType.ociManifest });
    expect(got.status).toBe(200);
    expect(sha256(new Uint8Array(await got.arrayBuffer()))).toBe(image.digest);
    for (const blob of [image.config, big, small, EMPTY_JSON, sbom]) {
      const digest = sha256(blob);
      expect(Buffer.from((await storedBlob(b, 'eng/app', digest))!).equals(Buffer.from(blob)), digest).toBe(true);
      const stored = await b.registry.blobs.global(digest);
      expect(stored!.key).toMatch(/^blobs\//);
      expect(copies.map((c) => c.key)).toContain(stored!.key);
      expect((await b.objects.head(stored!.key))?.tags).toEqual({ digest });
    }
    expect((await b.registry.manifests.referrers('eng/app', image.digest, undefined)).map((r) => r.digest)).toEqual([sha256(referrer)]);
    expect((await b.registry.catalog.list(10, undefined)).entries).toEqual(['eng/app']);

    // The order of a push at the destination: every BLOB before its LINK, all links before the
    // manifest, the manifest before its referrer, the tag last.
    const at = (item: string) => writes.indexOf(item);
    const tagWrite = at(`${keys.tag('eng/app', 'v1').pk} ${keys.tag('eng/app', 'v1').sk}`);
    const manifestWrite = at(`${keys.manifest('eng/app', image.digest).pk} ${keys.manifest('eng/app', image.digest).sk}`);
    expect(manifestWrite).toBeGreaterThan(-1);
    expect(tagWrite).toBe(writes.length - 1);
    for (const blob of [image.config, big, small]) {
      const digest = sha256(blob);
      const blobWrite = at(`${keys.blob(digest).pk} ${keys.blob(digest).sk}`);
      const linkWrite = at(`${keys.link('eng/app', digest).pk} ${keys.link('eng/app', digest).sk}`);
      expect(blobWrite).toBeGreaterThan(-1);
      expect(linkWrite).toBeGreaterThan(blobWrite);
      expect(manifestWrite).toBeGreaterThan(linkWrite);
    }
    const referrerWrite = at(`${keys.manifest('eng/app', sha256(referrer)).pk} ${keys.manifest('eng/app', sha256(referrer)).sk}`);
    expect(referrerWrite).toBeGreaterThan(manifestWrite);
    expect(tagWrite).toBeGreaterThan(referrerWrite);

    // Again, and again as a backfill (which checks every blob): nothing is copied twice.
    const objectsBefore = (await b.objects.list('blobs/')).keys.length;
    copies.length = 0;
    expect((await run({ rule: 'region', trigger: 'run' })).totals.outcomes).toEqual({ 'in-sync': 1 });
    const backfill = await run({ rule: 'region', trigger: 'backfill' });
    expect(backfill.ok).toBe(true);
    expect(backfill.totals.bytes).toBe(0);
    expect(copies).toEqual([]);
    expect((await b.objects.list('blobs/')).keys.length).toBe(objectsBefore);
  });

  it('a blob the region has already is linked there, not copied again; concurrent copies of one blob leave one object', async () => {
    const shared = layer(2 * MiB);
    const one = await push(a.client, imageOf('share/one', [shared]), 'v1');
    const two = await push(a.client, imageOf('share/two', [shared]), 'v1');
    await addRule('share-one', { repos: ['share/one'] });
    await addRule('share-two', { repos: ['share/two'] });
    copies.length = 0;
    expect((await run({ rule: 'share-one', trigger: 'run' })).ok).toBe(true);
    expect(copies.length).toBe(2);
    const second = await run({ rule: 'share-two', trigger: 'run' });
    expect(second.ok, JSON.stringify(second.totals.failures)).toBe(true);
    expect(second.totals.mounted).toBe(1);
    // Only the second config was copied.
    expect(copies.length).toBe(3);
    expect(await tagDigest(b, 'share/one', 'v1')).toBe(one.digest);
    expect(await tagDigest(b, 'share/two', 'v1')).toBe(two.digest);
    expect(Buffer.from((await storedBlob(b, 'share/two', sha256(shared)))!).equals(Buffer.from(shared))).toBe(true);

    // Two repositories at once, sharing a layer new to the region: both copy it, the first commit
    // wins and the other's object is deleted, so one object holds it.
    const twice = layer(MiB + 5);
    await push(a.client, imageOf('race/one', [twice]), 'v1');
    await push(a.client, imageOf('race/two', [twice]), 'v1');
    await addRule('race', { repos: ['race/*'] });
    const raced = await run({ rule: 'race', trigger: 'run' });
    expect(raced.ok, JSON.stringify(raced.totals.failures)).toBe(true);
    const stored = await b.registry.blobs.global(sha256(twice));
    const holding: string[] = [];
    for (const key of (await b.objects.list('blobs/')).keys) if ((await b.objects.head(key))?.tags?.digest === sha256(twice)) holding.push(key);
    expect(holding).toEqual([stored!.key]);
    for (const repo of ['race/one', 'race/two']) expect(Buffer.from((await storedBlob(b, repo, sha256(twice)))!).equals(Buffer.from(twice))).toBe(true);
  });

  it('a tag moved at the source moves at the destination; deletions follow only with --deletes', async () => {
    const first = await push(a.client, imageOf('del/app', [layer()]), 'v1');
    await addRule('keep', { repos: ['del/*'] });
    const at = Date.now();
    expect((await run({ rule: 'keep', changes: [{ repository: 'del/app', kind: 'tag', id: 'v1', op: 'put', at }] })).totals.outcomes).toEqual({ copied: 1 });
    expect(await tagDigest(b, 'del/app', 'v1')).toBe(first.digest);

    // The tag moves at the source: the copy moves it at the destination (pushedAt checked).
    const second = await push(a.client, imageOf('del/app', [layer()]), 'v1');
    expect((await run({ rule: 'keep', changes: [{ repository: 'del/app', kind: 'tag', id: 'v1', op: 'put', at }] })).totals.outcomes).toEqual({ copied: 1 });
    expect(await tagDigest(b, 'del/app', 'v1')).toBe(second.digest);

    expect((await a.client.delete('/v2/del/app/manifests/v1')).status).toBe(202);
    const kept = await run({ rule: 'keep', changes: [{ repository: 'del/app', kind: 'tag', id: 'v1', op: 'delete', at }] });
    expect(kept.totals.outcomes).toEqual({ skipped: 1 });
    expect(await tagDigest(b, 'del/app', 'v1')).toBe(second.digest);
    await run({ rule: 'keep', trigger: 'reconcile' });
    expect(await tagDigest(b, 'del/app', 'v1')).toBe(second.digest);

    await addRule('mirror', { repos: ['del/*'], deletes: true });
    const deleted = await run({ rule: 'mirror', changes: [{ repository: 'del/app', kind: 'tag', id: 'v1', op: 'delete', at }] });
    expect(deleted.totals.outcomes).toEqual({ deleted: 1 });
    expect(await tagDigest(b, 'del/app', 'v1')).toBeUndefined();
    // The manifest stays (deleting a tag never deletes content); GC at the destination decides.
    expect(await b.registry.manifests.stat('del/app', second.digest)).toBeDefined();
  });

  it('a copy that dies between the bytes and their commit leaves no visible trace but an unindexed object; the re-run converges', async () => {
    const image = await push(a.client, imageOf('crash/app', [layer(MiB + 3)]), 'v1');
    await addRule('crash', { repos: ['crash/*'] });
    failBlobCommit = true;
    copies.length = 0;
    const died = await run({ rule: 'crash', trigger: 'run' });
    expect(died.ok).toBe(false);
    expect(died.totals.failures[0]?.reason).toMatch(/injected/);
    expect(await tagDigest(b, 'crash/app', 'v1')).toBeUndefined();
    expect(await b.registry.manifests.stat('crash/app', image.digest)).toBeUndefined();
    const orphan = copies[0]!.key;
    expect(await b.objects.head(orphan)).toBeDefined();

    const again = await run({ rule: 'crash', trigger: 'run' });
    expect(again.ok, JSON.stringify(again.totals.failures)).toBe(true);
    expect(await tagDigest(b, 'crash/app', 'v1')).toBe(image.digest);
    // The first copy's object is indexed by nothing: garbage for GC's orphan sweep, never referenced.
    for (const blob of [image.config, ...image.layers]) expect((await b.registry.blobs.global(sha256(blob)))!.key).not.toBe(orphan);
  });

  it('a host that reaches no other region fails the run with a reason, and copies nothing', async () => {
    await push(a.client, imageOf('none/app', [layer()]), 'v1');
    await addRule('none', { repos: ['none/*'] });
    await expect(runReplicationWorkflow(replicationDeps(a), { rule: 'none', trigger: 'run' }, { retryIntervalMs: 20 })).rejects.toThrow(/reaches no other region/);
    expect(await tagDigest(b, 'none/app', 'v1')).toBeUndefined();
  });
});
