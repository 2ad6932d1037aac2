/**
 * Retention rules, per project or per repository (a repository's rule replaces its project's):
 * - `keepLast`: keep the N most recently pushed tags (by `pushedAt`);
 * - `keepTags`: keep tags matching any of these globs;
 * - `untaggedDays`: keep untagged manifests pushed (or referenced) within the last D days.
 * A tag is kept when either tag rule keeps it; with neither set, every tag is kept. Untagged
 * manifests are kept only as `untaggedDays` says; without it they go at the next GC (after its
 * grace period). Immutable tags are always kept. Retention deletes tags; GC then collects what
 * nothing reaches any more.
 */
import type { Item } from '../../ports/table.ts';
import type { RegistryDeps } from '../deps.ts';
import { afterPrefix, keys } from '../keys.ts';
import { allItems } from '../paging.ts';
import { isGlob } from './globs.ts';
import { projectOfRepository } from './scope.ts';

export interface RetentionRule {
  keepLast?: number;
  keepTags?: string[];
  untaggedDays?: number;
}

export type RetentionScope = { project: string } | { repository: string };

export interface ScopedRetentionRule extends RetentionRule {
  scope: RetentionScope;
  updatedAt: number;
}

export const MAX_KEEP_LAST = 100_000;

export class RetentionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetentionError';
  }
}

type Deps = Pick<RegistryDeps, 'table' | 'now'>;

export class RetentionRules {
  constructor(private readonly deps: Deps) {}

  async set(scope: RetentionScope, rule: RetentionRule): Promise<ScopedRetentionRule> {
    checkRule(rule);
    const { pk, sk } = keys.retention(scope);
    const updatedAt = this.deps.now();
    const attrs: Item['attrs'] = { updatedAt };
    if (rule.keepLast !== undefined) attrs.keepLast = rule.keepLast;
    if (rule.keepTags !== undefined) attrs.keepTags = rule.keepTags;
    if (rule.untaggedDays !== undefined) attrs.untaggedDays = rule.untaggedDays;
    await this.deps.table.put({ pk, sk, attrs });
    return { ...rule, scope, updatedAt };
  }

  async get(scope: RetentionScope): Promise<ScopedRetentionRule | undefined> {
    const { pk, sk } = keys.retention(scope);
    const item = await this.deps.table.get(pk, sk);
    return item && fromItem(item);
  }

  async clear(scope: RetentionScope): Promise<boolean> {
    const { pk, sk } = keys.retention(scope);
    const existed = (await this.deps.table.get(pk, sk)) !== undefined;
    await this.deps.table.delete(pk, sk);
    return existed;
  }

  /** The rule that applies to a repository: its own, else its project's, else none. */
  async ruleFor(repository: string): Promise<ScopedRetentionRule | undefined> {
    return (await this.get({ repository })) ?? (await this.get({ project: projectOfRepository(repository) }));
  }

  async list(): Promise<ScopedRetentionRule[]> {
    const out: ScopedRetentionRule[] = [];
    for await (const item of allItems(this.deps.table, keys.retentionPartition)) out.push(fromItem(item));
    return out;
  }
}

function checkRule(rule: RetentionRule): void {
  if (rule.keepLast !== undefined && !(Number.isInteger(rule.keepLast) && rule.keepLast >= 0 && rule.keepLast <= MAX_KEEP_LAST)) {
    throw new RetentionError(`keepLast must be an integer in 0..${MAX_KEEP_LAST}`);
  }
  for (const pattern of rule.keepTags ?? []) {
    if (!isGlob(pattern)) throw new RetentionError(`not a tag glob: ${JSON.stringify(pattern)} (letters, digits, . _ - and the wildcards * ?)`);
  }
  if (rule.untaggedDays !== undefined && !(Number.isFinite(rule.untaggedDays) && rule.untaggedDays >= 0)) {
    throw new RetentionError('untaggedDays must be a number of days, 0 or more');
  }
}

function fromItem(item: Item): ScopedRetentionRule {
  const a = item.attrs;
  const scope: RetentionScope = item.sk.startsWith('PROJECT#')
    ? { project: afterPrefix(item.sk, 'PROJECT#') }
    : { repository: afterPrefix(item.sk, 'REPO#') };
  const rule: ScopedRetentionRule = { scope, updatedAt: a.updatedAt as number };
  if (typeof a.keepLast === 'number') rule.keepLast = a.keepLast;
  if (Array.isArray(a.keepTags)) rule.keepTags = a.keepTags as string[];
  if (typeof a.untaggedDays === 'number') rule.untaggedDays = a.untaggedDays;
  return rule;
}

/** Whether the rule removes any tag at all (a rule of only `untaggedDays` keeps every tag). */
export function prunesTags(rule: RetentionRule | undefined): boolean {
  return rule !== undefined && (rule.keepLast !== undefined || rule.keepTags !== undefined);
}
