/**
 * Replication rules (DESIGN §6), one item each in the table and read on every trigger, so a rule
 * added, paused or removed takes effect at once, without a restart.
 *
 * - `push`: this registry's repositories (and tags) matching the filters are copied to a remote
 *   registry over the distribution API, on push, on demand, by backfill, on a schedule, and by
 *   the periodic reconciliation.
 * - `pull`: a remote registry's repositories matching the filters are mirrored into this one, on a
 *   schedule or on demand.
 *
 * The remote's password lives in the rule item's `secret` attribute and leaves this module only
 * through `credentials()`, for the client that authenticates with it: listings, status and logs
 * never carry it.
 */
import type { Item, Table } from '../ports/table.ts';
import { ConditionFailedError } from '../ports/table.ts';
import { keys } from '../registry/keys.ts';
import { allItems } from '../registry/paging.ts';
import { isGlob, matchesAny } from '../registry/policies/globs.ts';
import { parseCron } from './cron.ts';
import { isRegionUrl, parseRegionUrl, regionUrl } from './region.ts';

export type Direction = 'push' | 'pull';

export interface ReplicationRule {
  name: string;
  direction: Direction;
  /** The destination of a push rule, the source of a pull rule: a registry's base URL. */
  remote: { url: string; username?: string; plainHttp: boolean };
  /** Repository globs (`*` any run of characters, `/` included; `?` one); the rule covers a repository matching one and no exclude. */
  repos: string[];
  excludeRepos: string[];
  tags: string[];
  excludeTags: string[];
  /** Prepended (with `/`) to repository names at the destination. */
  destPrefix?: string;
  /** Whether tag and manifest deletions follow (push rules); without it nothing is deleted at the destination. */
  deletes: boolean;
  /** Five-field cron (UTC) of scheduled runs. */
  schedule?: string;
  /** Push rules: replicate each matching write within seconds. */
  onPush: boolean;
  paused: boolean;
  createdAt: number;
  updatedAt: number;
}

export type NewRule = Omit<ReplicationRule, 'createdAt' | 'updatedAt' | 'paused'> & { password?: string };

export class RuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleError';
  }
}

const RULE_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const REPO_GLOB = /^[a-z0-9._/*?-]{1,255}$/;
const PREFIX = /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/;

export class ReplicationRules {
  constructor(private readonly deps: { table: Table; now: () => number }) {}

  /** Adds a rule; a rule of that name must not exist (remove it first). */
  async add(input: NewRule): Promise<ReplicationRule> {
    const rule = validate(input);
    const at = this.deps.now();
    const full: ReplicationRule = { ...rule, paused: false, createdAt: at, updatedAt: at };
    const { pk, sk } = keys.replicationRule(full.name);
    const attrs = { ...toAttrs(full), ...(input.password ? { secret: input.password } : {}) };
    try {
      await this.deps.table.put({ pk, sk, attrs }, { kind: 'absent' });
    } catch (error) {
      if (error instanceof ConditionFailedError) throw new RuleError(`a replication rule named ${full.name} exists already`);
      throw error;
    }
    return full;
  }

  async get(name: string): Promise<ReplicationRule | undefined> {
    const { pk, sk } = keys.replicationRule(name);
    const item = await this.deps.table.get(pk, sk);
    return item && fromItem(item);
  }

  async require(name: string): Promise<ReplicationRule> {
    const rule = await this.get(name);
    if (!rule) throw new RuleError(`no replication rule named ${name}`);
    return rule;
  }

  async list(): Promise<ReplicationRule[]> {
    const out: ReplicationRule[] = [];
    for await (const item of allItems(this.deps.table, keys.replicationRulePartition, { prefix: keys.replicationRulePrefix })) out.push(fromItem(item));
    return out;
  }

  /** The remote's credentials, for the client that signs in with them; never for display. */
  async credentials(name: string): Promise<{ username: string; password: string } | undefined> {
    const { pk, sk } = keys.replicationRule(name);
    const item = await this.deps.table.get(pk, sk);
    const username = item?.attrs.username;
    const password = item?.attrs.secret;
    return typeof username === 'string' && typeof password === 'string' ? { username, password } : undefined;
  }

  async setPaused(name: string, paused: boolean): Promise<ReplicationRule> {
    const { pk, sk } = keys.replicationRule(name);
    try {
      const item = await this.deps.table.update(pk, sk, { paused, updatedAt: this.deps.now() }, { kind: 'exists' });
      return fromItem(item);
    } catch (error) {
      if (error instanceof ConditionFailedError) throw new RuleError(`no replication rule named ${name}`);
      throw error;
    }
  }

  /** Removes the rule with its status and its open uploads' bookkeeping. */
  async remove(name: string): Promise<boolean> {
    const { pk, sk } = keys.replicationRule(name);
    const existed = (await this.deps.table.get(pk, sk)) !== undefined;
    await this.deps.table.delete(pk, sk);
    const partition = keys.replicationPartition(name);
    for await (const item of allItems(this.deps.table, partition)) await this.deps.table.delete(item.pk, item.sk);
    return existed;
  }
}

/** Whether the rule covers a repository (of this registry for push rules, of the remote for pull rules). */
export function coversRepository(rule: Pick<ReplicationRule, 'repos' | 'excludeRepos'>, repository: string): boolean {
  return matchesAny(rule.repos, repository) && !matchesAny(rule.excludeRepos, repository);
}

export function coversTag(rule: Pick<ReplicationRule, 'tags' | 'excludeTags'>, tag: string): boolean {
  return matchesAny(rule.tags, tag) && !matchesAny(rule.excludeTags, tag);
}

/** The repository's name on the other side: the destination prefix, then the name. */
export function destinationRepository(rule: Pick<ReplicationRule, 'destPrefix'>, repository: string): string {
  return rule.destPrefix ? `${rule.destPrefix}/${repository}` : repository;
}

/** A rule as shown by list and status: everything but the secret (which is never read into a rule). */
export function describeRule(rule: ReplicationRule): string {
  const arrow = rule.direction === 'push' ? `→ ${rule.remote.url}` : `← ${rule.remote.url}`;
  const filters = [
    `repos ${rule.repos.join(',')}`,
    rule.excludeRepos.length ? `except ${rule.excludeRepos.join(',')}` : '',
    `tags ${rule.tags.join(',')}`,
    rule.excludeTags.length ? `except ${rule.excludeTags.join(',')}` : '',
    rule.destPrefix ? `into ${rule.destPrefix}/` : '',
  ].filter(Boolean);
  return `${arrow} ${filters.join(' ')}`;
}

function validate(input: NewRule): Omit<ReplicationRule, 'createdAt' | 'updatedAt' | 'paused'> {
  if (!RULE_NAME.test(input.name)) throw new RuleError(`rule name ${JSON.stringify(input.name)}: lowercase letters, digits, . _ - (up to 63)`);
  const url = isRegionUrl(input.remote.url) ? regionTarget(input) : remoteUrl(input.remote.url, input.remote.plainHttp);
  for (const glob of [...input.repos, ...input.excludeRepos]) {
    if (!REPO_GLOB.test(glob)) throw new RuleError(`not a repository glob: ${JSON.stringify(glob)} (lowercase letters, digits, . _ - /, and the wildcards * ?)`);
  }
  for (const glob of [...input.tags, ...input.excludeTags]) {
    if (!isGlob(glob)) throw new RuleError(`not a tag glob: ${JSON.stringify(glob)} (letters, digits, . _ - and the wildcards * ?)`);
  }
  if (input.destPrefix !== undefined && !PREFIX.test(input.destPrefix)) throw new RuleError(`--dest-prefix ${JSON.stringify(input.destPrefix)} is no repository path`);
  if (input.schedule !== undefined) parseCronOrThrow(input.schedule);
  if (input.direction === 'pull') {
    if (input.repos.length === 0) throw new RuleError('a pull rule names the repositories to mirror (--repos)');
    if (input.schedule === undefined) throw new RuleError('a pull rule runs on a schedule (--schedule)');
    if (input.deletes) throw new RuleError('a pull rule never deletes (--deletes is for push rules)');
  }
  if (input.password !== undefined && !input.remote.username) throw new RuleError('a password needs a --username');
  return {
    name: input.name,
    direction: input.direction,
    remote: { url, plainHttp: input.remote.plainHttp, ...(input.remote.username ? { username: input.remote.username } : {}) },
    repos: input.repos.length ? input.repos : ['*'],
    excludeRepos: input.excludeRepos,
    tags: input.tags.length ? input.tags : ['*'],
    excludeTags: input.excludeTags,
    ...(input.destPrefix ? { destPrefix: input.destPrefix } : {}),
    deletes: input.deletes,
    ...(input.schedule ? { schedule: input.schedule } : {}),
    onPush: input.direction === 'push' && input.onPush,
  };
}

/** Another Cirrus region: reached through its stores, so a push rule only, without credentials. */
function regionTarget(input: NewRule): string {
  const target = parseRegionUrl(input.remote.url);
  if (!target) throw new RuleError(`not a region: ${input.remote.url} (cirrus-region://<table>/<bucket>[?region=<aws-region>])`);
  if (input.direction !== 'push') throw new RuleError('another region is a destination: a push rule');
  if (input.remote.username || input.password) throw new RuleError('another region is reached with this registry\'s own role: no --username');
  return regionUrl(target);
}

/** https anywhere; plain http only to loopback, or when the rule says so (`--plain-http`). */
function remoteUrl(text: string, plainHttp: boolean): string {
  let url: URL;
  try {
    url = new URL(text.includes('://') ? text : `https://${text}`);
  } catch {
    throw new RuleError(`not a registry URL: ${JSON.stringify(text)}`);
  }
  if (url.username || url.password) throw new RuleError('put credentials in --username and --password-stdin, not in the URL');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RuleError(`a registry URL is https:// (or http:// with --plain-http): ${text}`);
  if (url.protocol === 'http:' && !plainHttp && !isLoopback(url.hostname)) {
    throw new RuleError(`plain http to ${url.hostname}: credentials and content would travel in the clear; pass --plain-http if you mean it`);
  }
  if (url.pathname !== '/' && url.pathname !== '') throw new RuleError(`a registry URL has no path: ${text}`);
  return `${url.protocol}//${url.host}`;
}

export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || hostname === '::1' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function parseCronOrThrow(expression: string): void {
  try {
    parseCron(expression);
  } catch (error) {
    throw new RuleError(`--schedule: ${(error as Error).message}`);
  }
}

function toAttrs(rule: ReplicationRule) {
  return {
    direction: rule.direction,
    url: rule.remote.url,
    plainHttp: rule.remote.plainHttp,
    ...(rule.remote.username ? { username: rule.remote.username } : {}),
    repos: rule.repos,
    excludeRepos: rule.excludeRepos,
    tags: rule.tags,
    excludeTags: rule.excludeTags,
    ...(rule.destPrefix ? { destPrefix: rule.destPrefix } : {}),
    deletes: rule.deletes,
    ...(rule.schedule ? { schedule: rule.schedule } : {}),
    onPush: rule.onPush,
    paused: rule.paused,
    createdAt: rule.createdAt,
    updatedAt: rule.updatedAt,
  };
}

function fromItem(item: Item): ReplicationRule {
  const a = item.attrs;
  const username = typeof a.username === 'string' ? a.username : undefined;
  return {
    name: item.sk.slice(keys.replicationRulePrefix.length),
    direction: a.direction as Direction,
    remote: { url: a.url as string, plainHttp: a.plainHttp === true, ...(username ? { username } : {}) },
    repos: a.repos as string[],
    excludeRepos: (a.excludeRepos as string[] | undefined) ?? [],
    tags: a.tags as string[],
    excludeTags: (a.excludeTags as string[] | undefined) ?? [],
    ...(typeof a.destPrefix === 'string' ? { destPrefix: a.destPrefix } : {}),
    deletes: a.deletes === true,
    ...(typeof a.schedule === 'string' ? { schedule: a.schedule } : {}),
    onPush: a.onPush === true,
    paused: a.paused === true,
    createdAt: a.createdAt as number,
    updatedAt: a.updatedAt as number,
  };
}
