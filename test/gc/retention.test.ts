// Retention rules applied by GC (the state machine, both backends): keep the last N tags by
// pushedAt, keep tags matching globs, keep untagged manifests D days; a repository's rule over its
// project's; immutable tags always kept; dry runs delete nothing; a tag re-pushed while GC runs
// is not deleted.
import { afterEach, describe, expect, it } from 'vitest';
import { runGcWorkflow } from '../../bin/gc-workflow.ts';
import type { Table } from '../../core/ports/index.ts';
import { keys } from '../../core/registry/index.ts';
import { RetentionRules, TagImmutability } from '../../core/registry/policies/index.ts';
import type { GcInput } from '../../core/registry/gc/index.ts';
import { expectPullable, imageOf, layer, manifestStored, push, type Image } from './support/content.ts';
import { BACKENDS, Clock, openStore, registryOver, type Store } from './support/stores.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe.each(BACKENDS)('retention on the %s backend', (kind) => {
  let store: Store | undefined;
  afterEach(async () => {
    await store?.close();
    store = undefined;
  });

  async function setup(wrapGcTable?: (table: Table) => Table) {
    store = await openStore(kind);
    const clock = new Clock();
    const r = registryOver(store, clock);
    const rules = new RetentionRules(r.deps);
    const gcDeps = wrapGcTable ? { ...r.deps, table: wrapGcTable(r.deps.table) } : r.deps;
    const gc = (input: GcInput = {}) => runGcWorkflow(gcDeps, { gracePeriodSeconds: 3600, pageSize: 2, ...input });
    /** Pushes one image per tag, a minute apart, so pushedAt orders them. */
    const pushTags = async (name: string, tags: string[]) => {
      const images = new Map<string, Image>();
      for (const tag of tags) {
        images.set(tag, await push(r.client, imageOf(name, [layer()]), tag));
        clock.advance(MINUTE);
      }
      return images;
    };
    const tagsOf = async (name: string) => ((await (await r.client.get(`/v2/${name}/tags/list`)).json()) as { tags: string[] }).tags.sort();
    return { store, clock, r, rules, gc, pushTags, tagsOf };
  }

  it('keeps the last N tags by pushedAt; GC then collects the manifests the others left', async () => {
    const { store, clock, r, rules, gc, pushTags, tagsOf } = await setup();
    const images = await pushTags('keep/last', ['t1', 't2', 't3', 't4']);
    // Re-pushing t1 makes it the newest.
    await push(r.client, images.get('t1') as Image, 't1');
    await rules.set({ repository: 'keep/last' }, { keepLast: 2 });
    clock.advance(2 * HOUR);
    const result = await gc();
    expect(result.report.examples.tags.sort()).toEqual(['keep/last:t2', 'keep/last:t3']);
    expect(await tagsOf('keep/last')).toEqual(['t1', 't4']);
    expect(result.report.deleted.manifests.count).toBe(2);
    expect(await manifestStored(store.table, 'keep/last', (images.get('t2') as Image).digest)).toBe(false);
    await expectPullable(r, store, images.get('t1') as Image, 't1');
    await expectPullable(r, store, images.get('t4') as Image, 't4');
  });

  it('keeps tags matching the globs as well as the last N; a repository rule replaces its project rule', async () => {
    const { clock, rules, gc, pushTags, tagsOf } = await setup();
    await pushTags('proj/app', ['release-1', 'dev-1', 'release-2', 'v1.0', 'dev-2']);
    await pushTags('proj/special', ['a', 'b', 'c', 'd']);
    await pushTags('other/app', ['x', 'y']);
    await rules.set({ project: 'proj' }, { keepLast: 1, keepTags: ['release-*', 'v?.*'] });
    await rules.set({ repository: 'proj/special' }, { keepLast: 3 });
    clock.advance(2 * HOUR);
    await gc();
    expect(await tagsOf('proj/app')).toEqual(['dev-2', 'release-1', 'release-2', 'v1.0']);
    expect(await tagsOf('proj/special')).toEqual(['b', 'c', 'd']);
    expect(await tagsOf('other/app')).toEqual(['x', 'y']);
  });

  it('keeps untagged manifests for D days when the rule says so, and none without it', async () => {
    const { store, clock, r, rules, gc } = await setup();
    const old = await push(r.client, imageOf('untagged/kept', [layer()]), 'tmp');
    await r.client.delete('/v2/untagged/kept/manifests/tmp');
    const oldElsewhere = await push(r.client, imageOf('untagged/none', [layer()]), 'tmp');
    await r.client.delete('/v2/untagged/none/manifests/tmp');
    clock.advance(5 * DAY);
    const recent = await push(r.client, imageOf('untagged/kept', [layer()]), 'tmp');
    await r.client.delete('/v2/untagged/kept/manifests/tmp');
    clock.advance(4 * DAY);
    await rules.set({ project: 'untagged' }, { untaggedDays: 7 });
    await rules.set({ repository: 'untagged/none' }, { keepLast: 10 });
    await gc();
    expect(await manifestStored(store.table, 'untagged/kept', old.digest)).toBe(false);
    expect(await manifestStored(store.table, 'untagged/none', oldElsewhere.digest)).toBe(false);
    await expectPullable(r, store, recent);
  });

  it('never drops an immutable tag', async () => {
    const { clock, rules, gc, pushTags, tagsOf, r } = await setup();
    await new TagImmutability(r.deps).set('locked', { immutable: ['v*'] });
    await pushTags('locked/app', ['v1', 'v2', 'nightly-1', 'nightly-2']);
    await rules.set({ project: 'locked' }, { keepLast: 1 });
    clock.advance(2 * HOUR);
    await gc();
    expect(await tagsOf('locked/app')).toEqual(['nightly-2', 'v1', 'v2']);
  });

  it('a dry run reports the tags it would drop and the manifests that would go with them, and changes nothing', async () => {
    const { clock, rules, gc, pushTags, tagsOf } = await setup();
    const images = await pushTags('dry/app', ['a', 'b', 'c']);
    await rules.set({ repository: 'dry/app' }, { keepLast: 1 });
    clock.advance(2 * HOUR);
    const dry = await gc({ dryRun: true });
    expect(dry.report.examples.tags.sort()).toEqual(['dry/app:a', 'dry/app:b']);
    expect(dry.report.examples.manifests.sort()).toEqual(['a', 'b'].map((t) => `dry/app@${(images.get(t) as Image).digest}`).sort());
    expect(dry.report.deleted.blobs.count).toBe(4);
    expect(await tagsOf('dry/app')).toEqual(['a', 'b', 'c']);
    const real = await gc();
    expect(real.report.deleted).toEqual(dry.report.deleted);
  });

  it('does not drop a tag pushed again while GC was deciding', async () => {
    let repushed = false;
    let repush: (() => Promise<void>) | undefined;
    const ctx = await setup((table) => ({
      ...bind(table),
      // Just before GC deletes the tag, a client pushes it again: the delete's pushedAt condition fails.
      delete: async (pk, sk, condition) => {
        if (!repushed && sk === keys.tag('race/tag', 'old').sk && repush) {
          repushed = true;
          await repush();
        }
        return table.delete(pk, sk, condition);
      },
    }));
    const images = await ctx.pushTags('race/tag', ['old', 'new']);
    repush = async () => void (await push(ctx.r.client, images.get('old') as Image, 'old'));
    await ctx.rules.set({ repository: 'race/tag' }, { keepLast: 1 });
    ctx.clock.advance(2 * HOUR);
    const result = await ctx.gc();
    expect(repushed).toBe(true);
    expect(result.report.deleted.tags.count).toBe(0);
    expect(await ctx.tagsOf('race/tag')).toEqual(['new', 'old']);
    await expectPullable(ctx.r, ctx.store, images.get('old') as Image, 'old');
  });
});

function bind(table: Table): Table {
  return {
    get: (pk, sk) => table.get(pk, sk),
    put: (item, condition) => table.put(item, condition),
    update: (pk, sk, set, condition) => table.update(pk, sk, set, condition),
    delete: (pk, sk, condition) => table.delete(pk, sk, condition),
    query: (pk, options) => table.query(pk, options),
    scanPartitions: (prefix, options) => table.scanPartitions!(prefix, options),
  };
}
