// Online GC under fire: pushers keep re-pushing manifests whose blobs have just become
// unreferenced (and old enough to go) while the GC state machine runs again and again, and a
// puller keeps pulling tags that never move. Afterwards every tag is pulled and every blob
// verified against its digest, and after two more runs the store holds exactly what the tags
// reach. Both backends.
//
// Time: the registry and GC share a clock the test moves 20 minutes forward between rounds
// (the grace period is 10 minutes), only while no push is in flight: a push is assumed to take
// less than the grace period, which is the one assumption the sweep's safety rests on.
import { describe, expect, it } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import { keys } from '../../core/registry/index.ts';
import { runGcWorkflow } from '../../bin/gc-workflow.ts';
import { sha256 } from '../support/app.ts';
import { allObjectKeys, expectPullable, imageOf, layer, partitions, pushImage, type Image } from './support/content.ts';
import { BACKENDS, Clock, openStore, registryOver, type RegistryOverStore, type Store } from './support/stores.ts';

const SIZES = {
  embedded: { repos: 3, pushers: 4, rounds: 6, opsPerRound: 10 },
  aws: { repos: 2, pushers: 3, rounds: 5, opsPerRound: 8 },
};
const GRACE_SECONDS = 600;
const ROUND_JUMP_MS = 20 * 60_000;

interface Stats {
  gcRuns: number;
  deletedDuringRace: { manifests: number; blobs: number };
  pushes: number;
  refusals: number;
  repushes: number;
  pulls: number;
}

describe.each(BACKENDS)('online GC racing pushers on the %s backend', (kind) => {
  it('never leaves a tag → manifest → missing blob, and collects everything else', { timeout: 600_000 }, async () => {
    const size = SIZES[kind];
    const store = await openStore(kind);
    const clock = new Clock();
    const r = registryOver(store, clock);
    const stats: Stats = { gcRuns: 0, deletedDuringRace: { manifests: 0, blobs: 0 }, pushes: 0, refusals: 0, repushes: 0, pulls: 0 };
    try {
      const repos = Array.from({ length: size.repos }, (_, i) => `race/r${i}`);
      const bases = new Map(repos.map((name) => [name, layer(300)]));
      // Layers of every image pushed so far: new images reuse them, garbage or not.
      const pool: Uint8Array[] = [];
      const stable: Image[] = [];
      for (const name of repos) {
        const image = imageOf(name, [bases.get(name) as Uint8Array, layer()]);
        expect((await pushImage(r.client, image, 'stable')).status).toBe(201);
        stable.push(image);
        pool.push(...image.layers);
      }
      const pushers = Array.from({ length: size.pushers }, (_, id) => new Pusher(id, r, repos, bases, pool, stats));

      let racing = true;
      const gcLoop = (async () => {
        while (racing) {
          const result = await runGcWorkflow(r.deps, { gracePeriodSeconds: GRACE_SECONDS, pageSize: 7, pagesPerTask: 3 });
          stats.gcRuns += 1;
          stats.deletedDuringRace.manifests += result.report.deleted.manifests.count;
          stats.deletedDuringRace.blobs += result.report.deleted.blobs.count;
        }
      })();
      const pullLoop = (async () => {
        while (racing) {
          for (const image of stable) await expectPullable(r, store, image, 'stable');
          stats.pulls += stable.length;
        }
      })();
      try {
        for (let round = 0; round < size.rounds; round++) {
          const runsBefore = stats.gcRuns;
          await Promise.all(pushers.map((p) => p.round(size.opsPerRound)));
          // On a loaded machine a GC run can outlast a round: keep pushing until one has finished
          // inside this round, so every round really races at least one whole run.
          while (stats.gcRuns === runsBefore) await pushers[0]!.round(1);
          // Between rounds, with no push in flight: what was left behind becomes old enough to go.
          clock.advance(ROUND_JUMP_MS);
        }
      } finally {
        racing = false;
        await Promise.all([gcLoop, pullLoop]);
      }

      const tagged = [...stable.map((image) => ['stable', image] as const), ...pushers.flatMap((p) => [...p.tags])];
      const verify = async () => {
        for (const name of repos) {
          const listed = (await (await r.client.get(`/v2/${name}/tags/list`)).json()) as { tags: string[] };
          expect(listed.tags.sort()).toEqual(tagged.filter(([, image]) => image.name === name).map(([tag]) => tag).sort());
        }
        for (const [tag, image] of tagged) await expectPullable(r, store, image, tag);
      };
      await verify();

      // Two more runs, a grace period apart (orphans go on their second sighting): only what tags reach remains.
      clock.advance(ROUND_JUMP_MS);
      await runGcWorkflow(r.deps, { gracePeriodSeconds: GRACE_SECONDS });
      clock.advance(ROUND_JUMP_MS);
      await runGcWorkflow(r.deps, { gracePeriodSeconds: GRACE_SECONDS });
      await verify();
      const images = new Map(tagged.map(([, image]) => [`${image.name}@${image.digest}`, image]));
      const blobs = new Set([...images.values()].flatMap((image) => [image.config, ...image.layers].map((b) => sha256(b))));
      expect(await partitions(store.table, keys.blobPartitionPrefix)).toEqual([...blobs].map((d) => keys.blob(d).pk).sort());
      expect(await allObjectKeys(store, 'blobs/')).toHaveLength(blobs.size);
      for (const name of repos) {
        const manifests = (await store.table.query(keys.repo(name), { prefix: keys.manifestPrefix })).items.map((i) => `${name}@${i.sk.slice(keys.manifestPrefix.length)}`);
        expect(manifests.sort()).toEqual([...images.keys()].filter((k) => k.startsWith(`${name}@`)).sort());
      }
      expect(await partitions(store.table, keys.uploadPartitionPrefix)).toEqual([]);
      expect(await partitions(store.table, 'GC#')).toEqual([]);

      console.log(`[${kind}] race: ${JSON.stringify({ ...size, ...stats, tagsAtEnd: tagged.length, blobsAtEnd: blobs.size })}`);
      expect(stats.gcRuns).toBeGreaterThan(size.rounds);
      expect(stats.deletedDuringRace.blobs).toBeGreaterThan(0);
      expect(stats.deletedDuringRace.manifests).toBeGreaterThan(0);
      expect(stats.repushes).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });
});

/** One pusher: owns its tags, moves them, untags, and re-pushes what it left untagged earlier. */
class Pusher {
  readonly tags = new Map<string, Image>();
  private readonly untagged: Image[] = [];
  private next = 0;

  constructor(
    private readonly id: number,
    private readonly r: RegistryOverStore,
    private readonly repos: string[],
    private readonly bases: Map<string, Uint8Array>,
    private readonly pool: Uint8Array[],
    private readonly stats: Stats,
  ) {}

  async round(ops: number): Promise<void> {
    for (let i = 0; i < ops; i++) {
      const dice = Math.random();
      if (this.untagged.length > 0 && dice < 0.45) await this.repush();
      else if (this.tags.size > 0 && dice < 0.6) await this.untag();
      else await this.move();
    }
  }

  /** A new image (its repository's base, often a layer of an older image, a fresh one) under a tag of ours, moving it if it existed. */
  private async move(): Promise<void> {
    const tag = this.tags.size < 4 || Math.random() < 0.2 ? `p${this.id}-${this.next++}` : pick([...this.tags.keys()]);
    const previous = this.tags.get(tag);
    const name = previous?.name ?? pick(this.repos);
    const layers = [this.bases.get(name) as Uint8Array, ...(Math.random() < 0.6 ? [pick(this.pool)] : []), layer()];
    const image = imageOf(name, [...new Set(layers)]);
    await this.pushUntilAccepted(image, tag, true);
    this.pool.push(...image.layers);
    if (this.pool.length > 300) this.pool.splice(0, this.pool.length - 300);
    if (previous) this.untagged.push(previous);
  }

  /** PUT an image's manifest again as it is: its blobs were left unreferenced, and may be going right now. */
  private async repush(): Promise<void> {
    const image = this.untagged.splice(Math.floor(Math.random() * this.untagged.length), 1)[0] as Image;
    const tag = `p${this.id}-${this.next++}`;
    this.stats.repushes += 1;
    await this.pushUntilAccepted(image, tag, false);
  }

  private async untag(): Promise<void> {
    const tag = pick([...this.tags.keys()]);
    const image = this.tags.get(tag) as Image;
    const res = await this.r.client.delete(`/v2/${image.name}/manifests/${tag}`);
    expect(res.status).toBe(202);
    this.tags.delete(tag);
    this.untagged.push(image);
  }

  /** The manifest PUT may be refused while GC removes a blob it names: then upload what is missing and PUT again. */
  private async pushUntilAccepted(image: Image, tag: string, uploadFirst: boolean): Promise<void> {
    let res = uploadFirst ? await pushImage(this.r.client, image, tag, { onlyMissing: true }) : await this.r.client.putManifest(image.name, tag, image.bytes, MediaType.ociManifest);
    for (let attempt = 0; res.status !== 201; attempt++) {
      const body = (await res.json()) as { errors: Array<{ code: string }> };
      expect(`${res.status} ${body.errors[0]?.code}`).toBe('400 MANIFEST_BLOB_UNKNOWN');
      expect(attempt).toBeLessThan(10);
      this.stats.refusals += 1;
      res = await pushImage(this.r.client, image, tag, { onlyMissing: true });
    }
    this.stats.pushes += 1;
    this.tags.set(tag, image);
  }
}

function pick<T>(items: T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}
