/**
 * Phase `manifests`: in each repository, deletes the manifests the mark did not reach, each only
 * under `lastRef < cutoff`. A push that re-puts a manifest after the mark began writes a fresh
 * lastRef, so the delete fails and the manifest stays; a push that comes after the delete
 * writes the item anew. The referrer entry of a deleted manifest goes next, under the same kind
 * of condition (a re-push rewrites it with a fresh lastRef). Referrer entries whose manifest is
 * gone (a crash between the two deletes) are swept in a second stage.
 *
 * No tag points at a manifest deleted here: every tag the mark read was kept (so marked) or
 * dropped by retention before this phase, and a tag written since came with a re-put manifest.
 * This phase runs before `blobs`, so no manifest item ever names a blob already deleted.
 */
import { afterPrefix, keys } from '../keys.ts';
import { forEachLimit, type GcContext } from './context.ts';

export interface ManifestsCursor {
  done?: string;
  repo?: string;
  stage?: 'manifests' | 'referrers';
  after?: string;
}

const PARALLEL = 16;

export async function sweepManifestsPage(ctx: GcContext, cursor: ManifestsCursor = {}): Promise<ManifestsCursor | undefined> {
  const { table } = ctx.deps;
  if (cursor.repo === undefined) {
    const page = await table.query(keys.catalogPartition, { after: cursor.done, limit: 1 });
    const repo = page.items[0]?.sk;
    return repo === undefined ? undefined : { done: cursor.done, repo, stage: 'manifests' };
  }
  const repo = cursor.repo;
  if (cursor.stage === 'referrers') {
    const page = await table.query(keys.repo(repo), { prefix: keys.referrersPrefix, after: cursor.after, limit: ctx.run.pageSize });
    await forEachLimit(page.items, PARALLEL, async (ref) => {
      const digest = ref.sk.slice(ref.sk.lastIndexOf('#') + 1);
      const manifest = keys.manifest(repo, digest);
      if (await table.get(manifest.pk, manifest.sk)) return;
      await dropReferrer(ctx, ref.pk, ref.sk, ref.attrs.lastRef, `${repo}@${digest}`);
    });
    return page.next !== undefined ? { ...cursor, after: page.next } : { done: repo };
  }
  const page = await table.query(keys.repo(repo), { prefix: keys.manifestPrefix, after: cursor.after, limit: ctx.run.pageSize });
  await forEachLimit(page.items, PARALLEL, async (item) => {
    const digest = afterPrefix(item.sk, keys.manifestPrefix);
    if (await ctx.isManifestMarked(repo, digest)) return;
    const id = `${repo}@${digest}`;
    // A body stored as a blob is counted when its blob goes.
    const bytes = typeof item.attrs.key === 'string' ? 0 : (item.attrs.size as number);
    if (ctx.run.dryRun ? !ctx.unreferenced(item.attrs.lastRef) : !(await ctx.deleteIfUnreferenced(item.pk, item.sk))) return;
    ctx.record('manifests', id, bytes);
    if (typeof item.attrs.subject === 'string') {
      const ref = keys.referrer(repo, item.attrs.subject, digest);
      await dropReferrer(ctx, ref.pk, ref.sk, undefined, id);
    }
  });
  return page.next !== undefined ? { ...cursor, after: page.next } : { ...cursor, stage: 'referrers', after: undefined };
}

async function dropReferrer(ctx: GcContext, pk: string, sk: string, lastRef: unknown, id: string): Promise<void> {
  if (ctx.run.dryRun) {
    if (ctx.unreferenced(lastRef)) ctx.record('referrers', id);
    return;
  }
  if (await ctx.deleteIfUnreferenced(pk, sk)) ctx.record('referrers', id);
}
