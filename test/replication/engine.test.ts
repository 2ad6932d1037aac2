// The replication workflow (the checked-in state machine, run by aws-local-stepfunctions with the
// functions/replication-* handlers) between two registries in this process: the source over its
// ports, the destination over HTTP through the distribution-API client.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import {
  DistributionClient,
  RemoteEndpoint,
  RemoteError,
  ReplicationRules,
  ReplicationStatus,
  type Endpoint,
  type NewRule,
  type ReplicationInput,
} from '../../core/replication/index.ts';
import { runReplicationWorkflow } from '../../bin/replication-workflow.ts';
import { createTestApp, descriptorOf, EMPTY_DESCRIPTOR, EMPTY_JSON, manifestBytes, ociManifest, sha256, type TestApp } from '../support/app.ts';
import { imageOf, indexOf, layer, push } from '../gc/support/content.ts';
import { replicationDeps, serveTestApp, storedBlob, tagDigest, type ServedApp } from './support/served.ts';
import { pushRule } from './support/rules.ts';

let source: TestApp;
let dest: ServedApp;

beforeAll(async () => {
  source = await createTestApp();
  dest = await serveTestApp({ minPartSize: 64 * 1024 });
});
afterAll(async () => {
  await source?.close();
  await dest?.close();
});

let ruleNames: string[] = [];
afterEach(async () => {
  const rules = new ReplicationRules(source.registry.deps);
  for (const name of ruleNames) await rules.remove(name);
  ruleNames = [];
});

async function addRule(name: string, extra: Partial<NewRule> = {}): Promise<void> {
  ruleNames.push(name);
  await new ReplicationRules(source.registry.deps).add(pushRule(name, dest.url, extra));
}

function run(input: ReplicationInput, deps = replicationDeps(source)) {
  return runReplicationWorkflow(deps, input, { retryIntervalMs: 20 });
}

describe('replication to another registry over the distribution API', () => {
  it('copies an index, its children, their blobs and a referrer; the tag last; counted in status and audited', async () => {
    const a = await push(source.client, imageOf('eng/app', [layer(), layer()]), 'a-child');
    const b = await push(source.client, imageOf('eng/app', [layer()]), 'b-child');
    const index = indexOf('eng/app', [a, b]);
    expect((await source.client.putManifest('eng/app', 'v1', index.bytes, MediaType.ociIndex)).status).toBe(201);
    await source.client.pushBlob('eng/app', EMPTY_JSON);
    const sbomLayer = layer(300);
    await source.client.pushBlob('eng/app', sbomLayer);
    const referrer = manifestBytes(
      ociManifest(EMPTY_DESCRIPTOR, [descriptorOf('application/spdx+json', sbomLayer)], {
        artifactType: 'application/spdx+json',
        subject: { mediaType: MediaType.ociIndex, digest: index.digest, size: index.bytes.byteLength },
      }),
    );
    expect((await source.client.putManifest('eng/app', sha256(referrer), referrer, MediaType.ociManifest)).status).toBe(201);

    await addRule('eng', { repos: ['eng/*'], tags: ['v*'] });
    const deps = replicationDeps(source);
    const result = await run({ rule: 'eng', trigger: 'run' }, deps);
    expect(result.ok, JSON.stringify(result.totals.failures)).toBe(true);
    expect(result.totals.outcomes).toEqual({ copied: 1 });
    // index, two children, the referrer
    expect(result.totals.manifests).toBe(4);
    expect(await tagDigest(dest, 'eng/app', 'v1')).toBe(index.digest);
    // Only v* tags: the children's own tags did not travel.
    expect(await tagDigest(dest, 'eng/app', 'a-child')).toBeUndefined();
    const got = await dest.registry.manifests.get('eng/app', index.digest);
    expect(Buffer.from(got!.body).equals(Buffer.from(index.bytes))).toBe(true);
    for (const blob of [a.config, ...a.layers, b.config, ...b.layers, sbomLayer]) {
      expect(sha256((await storedBlob(dest, 'eng/app', sha256(blob)))!)).toBe(sha256(blob));
    }
    const referrers = await dest.registry.manifests.referrers('eng/app', index.digest, undefined);
    expect(referrers.map((r) => r.digest)).toEqual([sha256(referrer)]);

    const status = await new ReplicationStatus(source.registry.deps).get('eng');
    expect(status.lastRun).toMatchObject({ ok: true, trigger: 'run', manifests: 4 });
    expect(status.totals.bytes).toBe(result.totals.bytes);
    expect(deps.events.map((e) => e.action)).toContain('replication.tag.put');
    expect(deps.events.every((e) => e.who === 'replication:eng')).toBe(true);

    // Run again: nothing moves.
    const again = await run({ rule: 'eng', trigger: 'run' });
    expect(again.totals.outcomes).toEqual({ 'in-sync': 1 });
    expect(again.totals.bytes).toBe(0);
  });

  it('follows the filters: repositories and tags, included and excluded, into a destination prefix', async () => {
    await push(source.client, imageOf('filt/keep', [layer()]), 'v1');
    await push(source.client, imageOf('filt/keep', [layer()]), 'v1-rc');
    await push(source.client, imageOf('filt/keep', [layer()]), 'dev');
    await push(source.client, imageOf('filt/skip', [layer()]), 'v1');
    await addRule('filt', { repos: ['filt/*'], excludeRepos: ['filt/skip'], tags: ['v*'], excludeTags: ['*-rc'], destPrefix: 'mirror' });
    const result = await run({ rule: 'filt', trigger: 'backfill' });
    expect(result.ok).toBe(true);
    expect((await dest.registry.tags.list('mirror/filt/keep', 100, undefined)).entries).toEqual(['v1']);
    expect((await dest.registry.tags.list('mirror/filt/skip', 100, undefined)).entries).toEqual([]);
  });

  it('on push: changes the rule covers are copied; deletions follow only with --deletes', async () => {
    const image = await push(source.client, imageOf('del/app', [layer()]), 'v1');
    await addRule('keep', { repos: ['del/*'] });
    const at = Date.now();
    expect((await run({ rule: 'keep', changes: [{ repository: 'del/app', kind: 'tag', id: 'v1', op: 'put', at }] })).totals.outcomes).toEqual({ copied: 1 });
    expect(await tagDigest(dest, 'del/app', 'v1')).toBe(image.digest);

    expect((await source.client.delete('/v2/del/app/manifests/v1')).status).toBe(202);
    const kept = await run({ rule: 'keep', changes: [{ repository: 'del/app', kind: 'tag', id: 'v1', op: 'delete', at }] });
    expect(kept.totals.outcomes).toEqual({ skipped: 1 });
    expect(await tagDigest(dest, 'del/app', 'v1')).toBe(image.digest);
    // Reconciliation without --deletes leaves it too.
    await run({ rule: 'keep', trigger: 'reconcile' });
    expect(await tagDigest(dest, 'del/app', 'v1')).toBe(image.digest);

    await addRule('mirror', { repos: ['del/*'], deletes: true });
    const deleted = await run({ rule: 'mirror', changes: [{ repository: 'del/app', kind: 'tag', id: 'v1', op: 'delete', at }] });
    expect(deleted.totals.outcomes).toEqual({ deleted: 1 });
    expect(await tagDigest(dest, 'del/app', 'v1')).toBeUndefined();

    // A tag deleted while no trigger saw it: the reconciliation deletes it at the destination.
    await push(source.client, image, 'v2');
    await run({ rule: 'mirror', trigger: 'run' });
    expect(await tagDigest(dest, 'del/app', 'v2')).toBe(image.digest);
    expect((await source.client.delete('/v2/del/app/manifests/v2')).status).toBe(202);
    const reconciled = await run({ rule: 'mirror', trigger: 'reconcile' });
    expect(reconciled.totals.deleted).toBe(1);
    expect(await tagDigest(dest, 'del/app', 'v2')).toBeUndefined();
  });

  it('an older copy never moves a tag back: the tag moved during the copy is left to the newer copy', async () => {
    const first = await push(source.client, imageOf('race/app', [layer()]), 'v1');
    const second = imageOf('race/app', [layer()]);
    await addRule('race', { repos: ['race/*'] });
    let moved = false;
    // The source tag moves while the first copy writes the manifest, before it writes the tag.
    const remote = (_rule: unknown, client: DistributionClient): Endpoint => {
      const inner = new RemoteEndpoint(client);
      return Object.assign(Object.create(inner) as Endpoint, {
        putManifest: async (repo: string, reference: string, m: { digest: string; mediaType: string; bytes: Uint8Array }) => {
          if (!moved && reference === first.digest) {
            moved = true;
            await push(source.client, second, 'v1');
          }
          return inner.putManifest(repo, reference, m);
        },
      });
    };
    const older = await run({ rule: 'race', changes: [{ repository: 'race/app', kind: 'tag', id: 'v1', op: 'put', at: Date.now() }] }, replicationDeps(source, { remote }));
    expect(older.totals.outcomes).toEqual({ superseded: 1 });
    expect(await tagDigest(dest, 'race/app', 'v1')).toBeUndefined();
    const newer = await run({ rule: 'race', changes: [{ repository: 'race/app', kind: 'tag', id: 'v1', op: 'put', at: Date.now() }] });
    expect(newer.totals.outcomes).toEqual({ copied: 1 });
    expect(await tagDigest(dest, 'race/app', 'v1')).toBe(second.digest);
    // Two copies at once of a tag moved twice: it ends at the newest.
    const third = await push(source.client, imageOf('race/app', [layer()]), 'v1');
    const changes = [{ repository: 'race/app', kind: 'tag' as const, id: 'v1', op: 'put' as const, at: Date.now() }];
    const fourth = imageOf('race/app', [layer()]);
    const racing = run({ rule: 'race', changes });
    await push(source.client, fourth, 'v1');
    await Promise.all([racing, run({ rule: 'race', changes })]);
    expect(third.digest).not.toBe(fourth.digest);
    expect(await tagDigest(dest, 'race/app', 'v1')).toBe(fourth.digest);
  });

  it('a copy killed in the middle of a large blob resumes from the destination offset', async () => {
    const big = layer(1024 * 1024 + 123);
    const image = await push(source.client, imageOf('big/app', [big]), 'v1');
    await addRule('big', { repos: ['big/*'] });
    let patches = 0;
    let killed = false;
    const remote = (_rule: unknown, client: DistributionClient): Endpoint => {
      // 64 KiB chunks; the connection dies after the 5th, once.
      const wrapped = Object.create(client) as DistributionClient;
      wrapped.patchUpload = async (repo, location, chunk, start) => {
        if (++patches === 6 && !killed) {
          killed = true;
          throw new RemoteError('PATCH: connection reset (injected)', 0);
        }
        return client.patchUpload(repo, location, chunk, start);
      };
      return new RemoteEndpoint(wrapped, 64 * 1024);
    };
    const result = await run({ rule: 'big', trigger: 'run' }, replicationDeps(source, { remote }));
    expect(result.ok, JSON.stringify(result.totals.failures)).toBe(true);
    expect(killed).toBe(true);
    // The config went first (one PATCH), then four chunks of the layer before the cut.
    expect(result.totals.resumedBytes).toBe(4 * 64 * 1024);
    // The config arrived before the cut: the retry finds it there.
    expect(result.totals.bytes).toBe(big.byteLength - 4 * 64 * 1024);
    expect(sha256((await storedBlob(dest, 'big/app', sha256(big)))!)).toBe(sha256(big));
    expect(await tagDigest(dest, 'big/app', 'v1')).toBe(image.digest);
  });

  it('a destination that is down: retried with back-off, failure in status, no dangling tag; converges when back', async () => {
    const image = await push(source.client, imageOf('down/app', [layer(), layer()]), 'v1');
    await addRule('down', { repos: ['down/*'] });
    await dest.pause();
    let attempts = 0;
    const deps = replicationDeps(source, {
      remote: (_rule, client) => {
        const inner = new RemoteEndpoint(client);
        return Object.assign(Object.create(inner) as Endpoint, {
          resolveTag: (repo: string, tag: string) => {
            attempts++;
            return inner.resolveTag(repo, tag);
          },
        });
      },
    });
    const failed = await run({ rule: 'down', trigger: 'run' }, deps).finally(() => dest.listen());
    expect(failed.ok).toBe(false);
    // The first try and four retries.
    expect(attempts).toBe(5);
    expect(failed.totals.failures[0]?.reason).toMatch(/ECONNREFUSED|connect/);
    expect(failed.totals.retry).toEqual([{ repo: 'down/app', tag: 'v1', op: 'put' }]);
    const status = await new ReplicationStatus(source.registry.deps).get('down');
    expect(status.lastRun?.ok).toBe(false);
    expect(status.failures[0]?.ref).toBe('down/app:v1');
    expect(await tagDigest(dest, 'down/app', 'v1')).toBeUndefined();

    const healed = await run({ rule: 'down', trigger: 'reconcile' });
    expect(healed.ok).toBe(true);
    expect(await tagDigest(dest, 'down/app', 'v1')).toBe(image.digest);
    expect((await new ReplicationStatus(source.registry.deps).get('down')).lastRun?.ok).toBe(true);
  });

  it('a refusal of the destination (an immutable tag) is reported, not forced', async () => {
    await push(source.client, imageOf('imm/app', [layer()]), 'v1');
    const other = await push(dest.client, imageOf('imm/app', [layer()]), 'v1');
    const { TagImmutability } = await import('../../core/registry/policies/index.ts');
    await new TagImmutability(dest.registry.deps).set('imm', {});
    await addRule('imm', { repos: ['imm/*'] });
    const result = await run({ rule: 'imm', trigger: 'run' });
    expect(result.ok).toBe(false);
    expect(result.totals.failures[0]?.reason).toMatch(/403 DENIED/);
    expect(await tagDigest(dest, 'imm/app', 'v1')).toBe(other.digest);
  });

  it('backfills many manifests, a page at a time', async () => {
    const shared = layer();
    for (let i = 0; i < 60; i++) await push(source.client, imageOf(`many/r${i % 3}`, [shared]), `t${i}`);
    await addRule('many', { repos: ['many/*'] });
    const result = await run({ rule: 'many', trigger: 'backfill', pageSize: 7 });
    expect(result.ok, JSON.stringify(result.totals.failures)).toBe(true);
    expect(result.totals.outcomes).toEqual({ copied: 60 });
    for (let r = 0; r < 3; r++) expect((await dest.registry.tags.list(`many/r${r}`, 100, undefined)).entries).toHaveLength(20);
  });

  it('a run over every rule (as AWS starts them): stream records to push rules, a schedule minute, reconciliation', async () => {
    const a = await push(source.client, imageOf('any/a', [layer()]), 'v1');
    const b = await push(source.client, imageOf('any/b', [layer()]), 'v1');
    await addRule('any-a', { repos: ['any/a'] });
    await addRule('any-b', { repos: ['any/b'], onPush: false, schedule: '30 4 * * *' });
    // DynamoDB stream records of the TAG items, as the Pipe delivers them.
    const records = [
      { eventName: 'MODIFY' as const, dynamodb: { Keys: { pk: { S: 'REPO#any/a' }, sk: { S: 'TAG#v1' } }, NewImage: { pushedAt: { N: String(Date.now()) } } } },
      { eventName: 'MODIFY' as const, dynamodb: { Keys: { pk: { S: 'REPO#any/b' }, sk: { S: 'TAG#v1' } }, NewImage: { pushedAt: { N: String(Date.now()) } } } },
    ];
    const pushed = await run({ rule: '*', trigger: 'push', records });
    expect(pushed.totals.outcomes).toEqual({ copied: 1 });
    expect(await tagDigest(dest, 'any/a', 'v1')).toBe(a.digest);
    // any-b does not trigger on push; its cron names 04:30 only.
    expect(await tagDigest(dest, 'any/b', 'v1')).toBeUndefined();
    await run({ rule: '*', trigger: 'schedule', time: '2026-12-08T04:31:00Z' });
    expect(await tagDigest(dest, 'any/b', 'v1')).toBeUndefined();
    const scheduled = await run({ rule: '*', trigger: 'schedule', time: '2026-12-08T04:30:00Z' });
    expect(scheduled.ok).toBe(true);
    expect(await tagDigest(dest, 'any/b', 'v1')).toBe(b.digest);
    // Each rule's status has its own part of the run.
    const statuses = new ReplicationStatus(source.registry.deps);
    expect((await statuses.get('any-a')).lastRun).toMatchObject({ trigger: 'push', manifests: 1 });
    expect((await statuses.get('any-b')).lastRun).toMatchObject({ trigger: 'schedule', manifests: 1 });
    const reconciled = await run({ rule: '*', trigger: 'reconcile', pageSize: 1 });
    expect(reconciled.ok).toBe(true);
    expect(reconciled.totals.outcomes['in-sync']).toBeGreaterThanOrEqual(2);
  });

  it('a remote that refuses large bodies (413, as Cirrus behind Lambda does over 4 MiB) gets smaller chunks', async () => {
    const big = layer(5 * 1024 * 1024 + 7);
    const image = await push(source.client, imageOf('cap/app', [big]), 'v1');
    await addRule('cap', { repos: ['cap/*'] });
    const sizes: number[] = [];
    const remote = (_rule: unknown, client: DistributionClient): Endpoint => {
      const wrapped = Object.create(client) as DistributionClient;
      wrapped.patchUpload = async (repo, location, chunk, start) => {
        if (chunk.byteLength > 4 * 1024 * 1024) throw new RemoteError('PATCH: 413 SIZE_INVALID', 413, 'SIZE_INVALID');
        sizes.push(chunk.byteLength);
        return client.patchUpload(repo, location, chunk, start);
      };
      return new RemoteEndpoint(wrapped);
    };
    const result = await run({ rule: 'cap', trigger: 'run' }, replicationDeps(source, { remote }));
    expect(result.ok, JSON.stringify(result.totals.failures)).toBe(true);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(sha256((await storedBlob(dest, 'cap/app', sha256(big)))!)).toBe(sha256(big));
    expect(await tagDigest(dest, 'cap/app', 'v1')).toBe(image.digest);
  });
});
