/**
 * Phase `blobs`: every BLOB# partition (a scan: maintenance only) whose digest the mark did not
 * reach loses, in this order,
 *   1. its BLOB item, only under `lastRef < cutoff`;
 *   2. its bytes, once no index item names them (a crash here leaves an orphan object, which
 *      the `orphans` phase finds);
 *   3. its links: each LINK, then its reverse, each only under `linkedAt < cutoff`.
 *
 * Why a concurrent push cannot end with a tag → manifest → missing blob: a manifest PUT stamps
 * `lastRef` on every blob it names with an `exists` condition before it writes the manifest.
 * Stamped before step 1, the stamp (made after the mark began, so not before the cutoff) makes
 * step 1 fail and the blob stays; after step 1, the stamp fails and the PUT is refused
 * (MANIFEST_BLOB_UNKNOWN) before anything points at the blob. Bytes go only after their item,
 * and a new upload of the same digest gets new bytes under a new key and fresh links, which the
 * conditions of step 3 leave alone. (The one assumption: a manifest PUT, from its stamps to its
 * tag, takes less than the grace period, and clocks differ by less.)
 */
import { keys } from '../keys.ts';
import { forEachLimit, type GcContext } from './context.ts';

export interface BlobsCursor {
  after?: string;
}

const PARALLEL = 16;

export async function sweepBlobsPage(ctx: GcContext, cursor: BlobsCursor = {}): Promise<BlobsCursor | undefined> {
  const { table } = ctx.deps;
  if (!table.scanPartitions) throw new Error('this table cannot list partitions: GC needs scanPartitions');
  const page = await table.scanPartitions(keys.blobPartitionPrefix, { limit: ctx.run.pageSize, after: cursor.after });
  await forEachLimit(page.keys, PARALLEL, async (pk) => {
    const digest = pk.slice(keys.blobPartitionPrefix.length);
    if (await ctx.isBlobMarked(digest)) return;
    await sweepBlob(ctx, digest);
  });
  return page.next !== undefined ? { after: page.next } : undefined;
}

async function sweepBlob(ctx: GcContext, digest: string): Promise<void> {
  const { table, objects } = ctx.deps;
  const { pk, sk } = keys.blob(digest);
  const item = await table.get(pk, sk);
  if (item) {
    const size = item.attrs.size as number;
    if (ctx.run.dryRun ? !ctx.unreferenced(item.attrs.lastRef) : !(await ctx.deleteIfUnreferenced(pk, sk))) return;
    if (!ctx.run.dryRun) await objects.delete(item.attrs.key as string);
    ctx.record('blobs', digest, size);
  }
  // Links of a blob gone: just now, or earlier by a run that stopped before this step.
  let after: string | undefined;
  do {
    const page = await table.query(pk, { prefix: keys.blobRepoPrefix, after, limit: ctx.run.pageSize });
    for (const reverse of page.items) {
      const name = reverse.sk.slice(keys.blobRepoPrefix.length);
      const id = `${name}@${digest}`;
      if (ctx.run.dryRun) {
        if (ctx.unreferenced(reverse.attrs.linkedAt)) ctx.record('links', id);
        continue;
      }
      const link = keys.link(name, digest);
      // LINK first, its reverse last: the reverse is how a later run would find the LINK.
      const unlinked = await ctx.deleteIfUnreferenced(link.pk, link.sk, 'linkedAt');
      if ((await ctx.deleteIfUnreferenced(reverse.pk, reverse.sk, 'linkedAt')) || unlinked) ctx.record('links', id);
    }
    after = page.next;
  } while (after !== undefined);
}
