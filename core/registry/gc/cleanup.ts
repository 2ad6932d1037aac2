/**
 * Phase `cleanup`: removes this run's mark items and its RUN item, then those of runs that
 * stopped without cleaning up (a failed execution) once they are older than any run could last.
 */
import { afterPrefix, keys } from '../keys.ts';
import { forEachLimit, type GcContext } from './context.ts';

export interface CleanupCursor {
  run: string;
  shard: number;
}

/** A run older than this is dead: Lambda tasks are minutes long and the machine loops at most thousands of times. */
export const STALE_RUN_MS = 3 * 86_400_000;

export async function cleanupPage(ctx: GcContext, cursor: CleanupCursor = { run: ctx.run.runId, shard: 0 }): Promise<CleanupCursor | undefined> {
  const { table } = ctx.deps;
  const shards = keys.gcShards(cursor.run);
  const partition = shards[cursor.shard];
  if (partition !== undefined) {
    // Always the first page: what was read is deleted, so the next query starts where this one ended.
    const page = await table.query(partition, { limit: ctx.run.pageSize });
    await forEachLimit(page.items, 16, (item) => table.delete(item.pk, item.sk));
    return page.items.length > 0 ? cursor : { run: cursor.run, shard: cursor.shard + 1 };
  }
  const run = keys.gcRun(cursor.run);
  await table.delete(run.pk, run.sk);
  const stale = await staleRun(ctx);
  return stale === undefined ? undefined : { run: stale, shard: 0 };
}

async function staleRun(ctx: GcContext): Promise<string | undefined> {
  let after: string | undefined;
  do {
    const page = await ctx.deps.table.query(keys.gcPartition, { prefix: keys.gcRunPrefix, after, limit: 100 });
    for (const item of page.items) {
      const runId = afterPrefix(item.sk, keys.gcRunPrefix);
      if (runId !== ctx.run.runId && (item.attrs.markStart as number) < ctx.run.markStart - STALE_RUN_MS) return runId;
    }
    after = page.next;
  } while (after !== undefined);
  return undefined;
}
