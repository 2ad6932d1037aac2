/**
 * Phase `uploads`: sessions that expired more than a grace period ago, and whose write lease
 * is not live, are taken over (a conditional write on their version, so a request that touched
 * the session since loses nothing: the sweep backs off), then their multipart upload is aborted,
 * their staged chunks and uncommitted bytes deleted, their PART/STAGE items removed and the
 * session item last, so a crash leaves it findable by the next run. Bytes a session committed
 * before it died (tagged with their digest and named by that digest's BLOB item) are a blob:
 * they stay. Partitions of sessions already gone (a crash mid-removal) are emptied too.
 */
import { randomInt } from 'node:crypto';
import { ConditionFailedError, type Item } from '../../ports/table.ts';
import { keys } from '../keys.ts';
import { forEachLimit, type GcContext } from './context.ts';

export interface UploadsCursor {
  after?: string;
}

const PARALLEL = 8;

export async function sweepUploadsPage(ctx: GcContext, cursor: UploadsCursor = {}): Promise<UploadsCursor | undefined> {
  const { table } = ctx.deps;
  if (!table.scanPartitions) throw new Error('this table cannot list partitions: GC needs scanPartitions');
  const page = await table.scanPartitions(keys.uploadPartitionPrefix, { limit: ctx.run.pageSize, after: cursor.after });
  await forEachLimit(page.keys, PARALLEL, (pk) => sweepSession(ctx, pk.slice(keys.uploadPartitionPrefix.length)));
  return page.next !== undefined ? { after: page.next } : undefined;
}

async function sweepSession(ctx: GcContext, uuid: string): Promise<void> {
  const { table, now, settings } = ctx.deps;
  const { pk, sk } = keys.upload(uuid);
  const session = await table.get(pk, sk);
  if (!session) return removeRemnants(ctx, uuid);
  const a = session.attrs;
  const at = now();
  const expired = (a.expiresAt as number) + ctx.run.graceMs <= at;
  const leased = typeof a.writer === 'string' && at - ((a.writerAt as number | undefined) ?? 0) < settings.writeLeaseMs;
  if (!expired || leased) return;
  const bytes = typeof a.offset === 'number' ? a.offset : 0;
  if (ctx.run.dryRun) return ctx.record('uploads', uuid, bytes);
  const writer = `gc:${ctx.run.runId}`;
  try {
    await table.update(pk, sk, { writer, writerAt: at, version: randomInt(2 ** 47) }, { kind: 'equals', attr: 'version', value: a.version as number });
  } catch (error) {
    if (error instanceof ConditionFailedError) return;
    throw error;
  }
  await discardBytes(ctx, uuid, session);
  await removeChildren(ctx, uuid);
  try {
    await table.delete(pk, sk, { kind: 'equals', attr: 'writer', value: writer });
  } catch (error) {
    if (!(error instanceof ConditionFailedError)) throw error;
  }
  ctx.record('uploads', uuid, bytes);
}

async function discardBytes(ctx: GcContext, uuid: string, session: Item): Promise<void> {
  const { table, objects } = ctx.deps;
  const key = session.attrs.key as string;
  const multipartId = session.attrs.multipartId;
  if (typeof multipartId === 'string') await objects.abortMultipart(key, multipartId);
  await deleteStaged(ctx, uuid);
  const head = await objects.head(key);
  if (!head) return;
  const digest = head.tags?.digest;
  if (digest !== undefined) {
    const blob = keys.blob(digest);
    // Committed before the session could be removed: these bytes are a blob now.
    if ((await table.get(blob.pk, blob.sk))?.attrs.key === key) return;
  }
  await objects.delete(key);
}

async function deleteStaged(ctx: GcContext, uuid: string): Promise<number> {
  const { objects } = ctx.deps;
  const prefix = keys.stagedObjectsOf(uuid);
  let deleted = 0;
  for (;;) {
    const page = await objects.list(prefix, { limit: 1000 });
    if (page.keys.length === 0) return deleted;
    await forEachLimit(page.keys, PARALLEL, (key) => objects.delete(key));
    deleted += page.keys.length;
  }
}

async function removeChildren(ctx: GcContext, uuid: string): Promise<number> {
  const { table } = ctx.deps;
  const partition = keys.uploadPartition(uuid);
  const session = keys.upload(uuid).sk;
  let deleted = 0;
  let after: string | undefined;
  do {
    const page = await table.query(partition, { after, limit: ctx.run.pageSize });
    const children = page.items.filter((i) => i.sk !== session);
    await forEachLimit(children, PARALLEL, (i) => table.delete(i.pk, i.sk));
    deleted += children.length;
    after = page.next;
  } while (after !== undefined);
  return deleted;
}

/** PART/STAGE items (and staged chunks) of a session whose item is gone: a crash while it was removed. */
async function removeRemnants(ctx: GcContext, uuid: string): Promise<void> {
  // Usually the session just finished normally after the scan listed it: nothing left to remove.
  if (ctx.run.dryRun) return;
  const removed = (await deleteStaged(ctx, uuid)) + (await removeChildren(ctx, uuid));
  if (removed > 0) ctx.record('uploads', uuid, 0);
}
