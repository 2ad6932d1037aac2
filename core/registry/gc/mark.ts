/**
 * Phase `mark`: for each repository of the catalog, apply its retention rule to its tags (ranked
 * by pushedAt when it keeps the last N), mark every manifest a kept tag reaches (child manifests,
 * referrers, its body when stored as a blob) and every blob they name, and, as the rule says,
 * untagged manifests still within their retention. Tags the rule drops are deleted here (only
 * where they still have the pushedAt read, so a re-push wins), before any sweep runs.
 *
 * Work is cut into pages; the cursor says where to go on (repository, stage, sort key).
 */
import { ConditionFailedError, type Item } from '../../ports/table.ts';
import { afterPrefix, keys } from '../keys.ts';
import { matchesAny } from '../policies/globs.ts';
import { TagImmutability } from '../policies/immutability.ts';
import { prunesTags, RetentionRules, type RetentionRule } from '../policies/retention-rules.ts';
import { forEachLimit, type GcContext } from './context.ts';

export interface MarkCursor {
  /** The last repository finished (catalog order). */
  done?: string;
  repo?: string;
  stage?: 'rank' | 'tags' | 'untagged';
  after?: string;
  /** Ranked tags seen so far in the `tags` stage. */
  position?: number;
  /** The repository's rule as read when its turn began, so every page of it decides alike. */
  rule?: RetentionRule;
}

const PARALLEL = 16;

export async function markPage(ctx: GcContext, cursor: MarkCursor = {}): Promise<MarkCursor | undefined> {
  const { table } = ctx.deps;
  if (cursor.repo === undefined) {
    const page = await table.query(keys.catalogPartition, { after: cursor.done, limit: 1 });
    const repo = page.items[0]?.sk;
    if (repo === undefined) return undefined;
    const rule = await new RetentionRules(ctx.deps).ruleFor(repo);
    const plain: RetentionRule | undefined = rule && withoutScope(rule);
    return { done: cursor.done, repo, stage: plain?.keepLast !== undefined ? 'rank' : 'tags', ...(plain ? { rule: plain } : {}) };
  }
  const repo = cursor.repo;
  switch (cursor.stage) {
    case 'rank':
      return rankPage(ctx, cursor, repo);
    case 'untagged':
      return untaggedPage(ctx, cursor, repo);
    default:
      return tagsPage(ctx, cursor, repo);
  }
}

/** Writes one rank item per tag, so that one ordered query later reads the tags newest first. */
async function rankPage(ctx: GcContext, cursor: MarkCursor, repo: string): Promise<MarkCursor> {
  const { table } = ctx.deps;
  const page = await table.query(keys.repo(repo), { prefix: keys.tagPrefix, after: cursor.after, limit: ctx.run.pageSize });
  await forEachLimit(page.items, PARALLEL, async (tag) => {
    const name = afterPrefix(tag.sk, keys.tagPrefix);
    const pushedAt = typeof tag.attrs.pushedAt === 'number' ? tag.attrs.pushedAt : 0;
    const rank = keys.gcRank(ctx.run.runId, repo, pushedAt, name);
    await table.put({ pk: rank.pk, sk: rank.sk, attrs: { digest: tag.attrs.digest as string, pushedAt } });
  });
  if (page.next !== undefined) return { ...cursor, after: page.next };
  return { ...cursor, stage: 'tags', after: undefined, position: 0 };
}

async function tagsPage(ctx: GcContext, cursor: MarkCursor, repo: string): Promise<MarkCursor> {
  const { table } = ctx.deps;
  const { rule } = cursor;
  const ranked = rule?.keepLast !== undefined;
  const page = ranked
    ? await table.query(keys.gcRankPartition(ctx.run.runId, repo), { prefix: keys.gcRankPrefix(repo), after: cursor.after, limit: ctx.run.pageSize })
    : await table.query(keys.repo(repo), { prefix: keys.tagPrefix, after: cursor.after, limit: ctx.run.pageSize });
  const immutable = prunesTags(rule) ? await new TagImmutability(ctx.deps).checker(repo) : undefined;
  const position = cursor.position ?? 0;
  await forEachLimit(page.items, PARALLEL, async (item, i) => {
    const tag = ranked ? keys.gcRankTag(item.sk) : afterPrefix(item.sk, keys.tagPrefix);
    const digest = item.attrs.digest as string;
    if (keeps(rule, tag, position + i) || immutable?.(tag)) {
      await markFrom(ctx, repo, digest);
    } else {
      await dropTag(ctx, repo, tag, item);
    }
  });
  const next: MarkCursor = { ...cursor, position: position + page.items.length };
  if (page.next !== undefined) return { ...next, after: page.next };
  if (rule?.untaggedDays !== undefined) return { ...next, stage: 'untagged', after: undefined };
  return { done: repo };
}

/** Untagged manifests within `untaggedDays` of their last push or reference are roots too. */
async function untaggedPage(ctx: GcContext, cursor: MarkCursor, repo: string): Promise<MarkCursor> {
  const { table } = ctx.deps;
  const since = ctx.run.markStart - (cursor.rule?.untaggedDays ?? 0) * 86_400_000;
  const page = await table.query(keys.repo(repo), { prefix: keys.manifestPrefix, after: cursor.after, limit: ctx.run.pageSize });
  await forEachLimit(page.items, PARALLEL, async (item) => {
    if (typeof item.attrs.lastRef === 'number' && item.attrs.lastRef >= since) {
      await markFrom(ctx, repo, afterPrefix(item.sk, keys.manifestPrefix));
    }
  });
  if (page.next !== undefined) return { ...cursor, after: page.next };
  return { done: repo };
}

function keeps(rule: RetentionRule | undefined, tag: string, rank: number): boolean {
  if (!prunesTags(rule)) return true;
  if (rule!.keepLast !== undefined && rank < rule!.keepLast) return true;
  return rule!.keepTags !== undefined && matchesAny(rule!.keepTags, tag);
}

/** Deletes a tag retention drops, unless it was pushed again since it was read. */
async function dropTag(ctx: GcContext, repo: string, tag: string, read: Item): Promise<void> {
  const id = `${repo}:${tag}`;
  if (ctx.run.dryRun) return ctx.record('tags', id);
  const { pk, sk } = keys.tag(repo, tag);
  try {
    await ctx.deps.table.delete(pk, sk, { kind: 'equals', attr: 'pushedAt', value: read.attrs.pushedAt as number });
    ctx.record('tags', id);
  } catch (error) {
    // Pushed again (its manifest was stamped then, so it is safe unmarked) or deleted already.
    if (!(error instanceof ConditionFailedError)) throw error;
  }
}

/**
 * Marks the manifest and everything it reaches in `repo`: blobs (and its own body when stored as
 * a blob), child manifests and referrers. A manifest already marked is not walked again, so a
 * shared base or a tag-heavy repository costs one walk per manifest; that is safe because marks
 * are written in post-order: a manifest's mark goes only after everything it reaches is marked,
 * so a walk cut short (a task that failed, retried from its cursor) is walked again, never
 * trusted half done. Missing items are skipped: what a push writes after the mark began is
 * protected by its lastRef, not by the mark.
 */
export async function markFrom(ctx: GcContext, repo: string, root: string): Promise<void> {
  const { table } = ctx.deps;
  if (await ctx.isManifestMarked(repo, root)) return;
  // Only this walk's manifests (an index, its children, their referrers): small.
  const seen = new Set([root]);
  const stack: Array<{ digest: string; expanded: boolean }> = [{ digest: root, expanded: false }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { digest: string; expanded: boolean };
    if (top.expanded) {
      stack.pop();
      await ctx.markManifest(repo, top.digest);
      continue;
    }
    top.expanded = true;
    const { pk, sk } = keys.manifest(repo, top.digest);
    const item = await table.get(pk, sk);
    if (!item) continue;
    const blobs = [...((item.attrs.blobs as string[] | undefined) ?? [])];
    if (typeof item.attrs.key === 'string') blobs.push(top.digest);
    await forEachLimit(blobs, PARALLEL, (blob) => ctx.markBlob(blob));
    const next = [...((item.attrs.manifests as string[] | undefined) ?? [])];
    const referrers = keys.referrerPrefix(top.digest);
    let after: string | undefined;
    do {
      const page = await table.query(keys.repo(repo), { prefix: referrers, after, limit: ctx.run.pageSize });
      for (const ref of page.items) next.push(afterPrefix(ref.sk, referrers));
      after = page.next;
    } while (after !== undefined);
    for (const digest of next) {
      if (seen.has(digest)) continue;
      seen.add(digest);
      if (!(await ctx.isManifestMarked(repo, digest))) stack.push({ digest, expanded: false });
    }
  }
}

function withoutScope(rule: RetentionRule & { scope?: unknown; updatedAt?: unknown }): RetentionRule {
  const out: RetentionRule = {};
  if (rule.keepLast !== undefined) out.keepLast = rule.keepLast;
  if (rule.keepTags !== undefined) out.keepTags = rule.keepTags;
  if (rule.untaggedDays !== undefined) out.untaggedDays = rule.untaggedDays;
  return out;
}
