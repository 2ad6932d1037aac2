/**
 * Phase `orphans`: objects that no index item names and no live session owns: bytes whose
 * BLOB item was swept by a run that stopped before deleting them, bytes of an upload that died
 * between storing and indexing (once its session is gone), staged chunks left the same way.
 * The object store keeps no age the port exposes, so age is kept here: an orphan is noted
 * (`GC / ORPHAN#<key>`, seenAt) the first time a run finds it and deleted by the first run a
 * grace period later that still finds it orphaned. Listing objects is for maintenance only.
 *
 * An object under blobs/<uuid> is live while its session exists (the session is removed only
 * after the blob is indexed) or while the BLOB item of the digest it is tagged with names it;
 * the session is read first, so a commit racing this check is seen. Legacy manifest bodies
 * under manifests/ are not touched.
 */
import { ConditionFailedError } from '../../ports/table.ts';
import { afterPrefix, keys } from '../keys.ts';
import { forEachLimit, type GcContext } from './context.ts';

export interface OrphansCursor {
  stage: 'blobs' | 'staging' | 'notes';
  after?: string;
}

const PARALLEL = 16;

export async function sweepOrphansPage(ctx: GcContext, cursor: OrphansCursor = { stage: 'blobs' }): Promise<OrphansCursor | undefined> {
  if (cursor.stage === 'notes') return notesPage(ctx, cursor);
  const prefix = cursor.stage === 'blobs' ? keys.blobObjectPrefix : keys.stagedObjectPrefix;
  // Listing pages are larger (S3 returns up to 1,000 keys for one request): a listing is the costly part.
  const page = await ctx.deps.objects.list(prefix, { limit: Math.min(1000, ctx.run.pageSize * 10), after: cursor.after });
  await forEachLimit(page.keys, PARALLEL, async (key) => {
    const size = await orphanSize(ctx, key);
    if (size !== undefined) await sighted(ctx, key, size);
  });
  if (page.next !== undefined) return { stage: cursor.stage, after: page.next };
  return cursor.stage === 'blobs' ? { stage: 'staging' } : { stage: 'notes' };
}

/** The object's size when it is an orphan, undefined when something owns it (or it is gone). */
async function orphanSize(ctx: GcContext, key: string): Promise<number | undefined> {
  const { table, objects } = ctx.deps;
  const uuid = keys.uploadOfObject(key);
  if (uuid === undefined) return undefined;
  const session = keys.upload(uuid);
  if (await table.get(session.pk, session.sk)) return undefined;
  const head = await objects.head(key);
  if (!head) return undefined;
  const digest = head.tags?.digest;
  if (digest !== undefined && key.startsWith(keys.blobObjectPrefix)) {
    const blob = keys.blob(digest);
    if ((await table.get(blob.pk, blob.sk))?.attrs.key === key) return undefined;
  }
  return head.size;
}

async function sighted(ctx: GcContext, key: string, size: number): Promise<void> {
  const { table, objects, now } = ctx.deps;
  const note = keys.orphan(key);
  const seen = await table.get(note.pk, note.sk);
  const seenAt = seen?.attrs.seenAt;
  if (typeof seenAt !== 'number') {
    if (!ctx.run.dryRun) await table.put({ pk: note.pk, sk: note.sk, attrs: { seenAt: now() } });
    return;
  }
  if (seenAt > now() - ctx.run.graceMs) return;
  if (ctx.run.dryRun) return ctx.record('orphans', key, size);
  await objects.delete(key);
  ctx.record('orphans', key, size);
  await table.delete(note.pk, note.sk, { kind: 'equals', attr: 'seenAt', value: seenAt }).catch((error: unknown) => {
    if (!(error instanceof ConditionFailedError)) throw error;
  });
}

/** Notes of objects that are gone (deleted above, or by their owner after all) are dropped. */
async function notesPage(ctx: GcContext, cursor: OrphansCursor): Promise<OrphansCursor | undefined> {
  const { table } = ctx.deps;
  const page = await table.query(keys.gcPartition, { prefix: keys.orphanPrefix, after: cursor.after, limit: ctx.run.pageSize });
  if (!ctx.run.dryRun) {
    await forEachLimit(page.items, PARALLEL, async (note) => {
      const key = afterPrefix(note.sk, keys.orphanPrefix);
      if ((await orphanSize(ctx, key)) === undefined) await table.delete(note.pk, note.sk);
    });
  }
  return page.next !== undefined ? { stage: 'notes', after: page.next } : undefined;
}
