/**
 * The replication workflow's tasks, plain functions from JSON to JSON: the Lambda handlers in
 * functions/replication-* call them, and so do local runs of the same state machine (the local
 * host's triggers, `cirrus replication run`, the tests). The machine
 * (infra/constructs/replication-state-machine.ts) runs
 *   plan → for each item of the page (inline Map): copy → plan again while a cursor comes back → finish.
 * Plan reads the rule afresh each time (a paused or removed rule stops at the next page) and walks
 * what the rule covers a page at a time; copy does one item; every step is idempotent.
 */
import { randomBytes } from 'node:crypto';
import type { AuditSink } from '../auth/audit.ts';
import { RegistryError } from '../errors/index.ts';
import type { RegistryDeps } from '../registry/deps.ts';
import { Registry } from '../registry/registry.ts';
import { COSIGN_TAG, ItemCopy, refOf } from './copy.ts';
import { DistributionClient, RemoteError } from './distribution-client.ts';
import { LocalEndpoint, RemoteEndpoint, type Endpoint } from './endpoints.ts';
import { cronMatches, parseCron } from './cron.ts';
import { isRegionUrl, parseRegionUrl, RegionEndpoint, type Regions } from './region.ts';
import { coversRepository, coversTag, destinationRepository, ReplicationRules, type ReplicationRule } from './rules.ts';
import { ReplicationStatus } from './status.ts';
import { keys } from '../registry/keys.ts';
import {
  addReports,
  emptyTotals,
  TRIGGERS,
  type Change,
  type ItemReport,
  type ReplicationInput,
  type ReplicationResult,
  type ReplicationRun,
  type StreamRecord,
  type Totals,
  type WorkItem,
} from './types.ts';

export interface ReplicationDeps extends RegistryDeps {
  audit?: AuditSink;
  /** The remote side of a rule; tests may wrap it (faults, chunk sizes). */
  remote?: (rule: ReplicationRule, client: DistributionClient) => Endpoint;
  /** How this host reaches other Cirrus regions (rules to `cirrus-region://…`); absent, such rules fail. */
  regions?: Regions;
}

/** Thrown for a failure worth retrying (the remote is down or overloaded): the state machine retries it with back-off. */
export class ReplicationRetryable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplicationRetryable';
  }
}

export interface WalkCursor {
  /** A run over every rule: the rule being walked (rules in name order). */
  rule?: string;
  /** The last repository listed (the walk continues after it). */
  repoAfter?: string;
  /** The repository whose tags are being walked. */
  repo?: string;
  tagAfter?: string;
}

export interface PlanState extends Partial<ReplicationInput> {
  run?: ReplicationRun;
  cursor?: WalkCursor;
  totals?: Totals;
  /** A run over every rule: each rule's own totals, for its status. */
  byRule?: Record<string, Totals>;
  /** The previous page's item reports (the Map's output). */
  results?: Array<ItemReport | FailedItem>;
}

export interface PlanOutput {
  run: ReplicationRun;
  items: WorkItem[];
  cursor?: WalkCursor;
  totals: Totals;
  byRule?: Record<string, Totals>;
}

/** What the state machine's Catch makes of an item whose retries ran out. */
export interface FailedItem {
  outcome: 'failed';
  item: WorkItem;
  cause?: string;
}

const DEFAULT_PAGE = 25;
const MAX_CHANGES = 1000;

export function replicationTasks(deps: ReplicationDeps) {
  const rules = new ReplicationRules(deps);
  const status = new ReplicationStatus(deps);
  const registry = new Registry(deps);
  const mountHints = new Map<string, string>();
  const inFlight = new Map<string, Promise<unknown>>();

  // One client per rule version in this process: its tokens serve every item of a run (a warm Lambda's too).
  const clients = new Map<string, DistributionClient>();
  async function clientOf(rule: ReplicationRule): Promise<DistributionClient> {
    const key = `${rule.name}@${rule.createdAt}`;
    let client = clients.get(key);
    if (!client) {
      client = new DistributionClient(rule.remote.url, await rules.credentials(rule.name));
      if (clients.size > 100) clients.clear();
      clients.set(key, client);
    }
    return client;
  }

  // One destination registry per region rule version, as one client per remote rule.
  const regionEndpoints = new Map<string, RegionEndpoint>();
  function regionOf(rule: ReplicationRule): RegionEndpoint {
    const key = `${rule.name}@${rule.createdAt}`;
    let endpoint = regionEndpoints.get(key);
    if (!endpoint) {
      const target = parseRegionUrl(rule.remote.url);
      if (!target) throw new Error(`rule ${rule.name}: not a region: ${rule.remote.url}`);
      if (!deps.regions) throw new Error(`rule ${rule.name}: this host reaches no other region (${rule.remote.url})`);
      endpoint = new RegionEndpoint(target, deps.regions.open(target), deps, { registry, bucket: deps.regions.sourceBucket });
      if (regionEndpoints.size > 100) regionEndpoints.clear();
      regionEndpoints.set(key, endpoint);
    }
    return endpoint;
  }

  async function sides(rule: ReplicationRule): Promise<{ source: Endpoint; destination: Endpoint; remote: Endpoint }> {
    if (isRegionUrl(rule.remote.url)) {
      const region = regionOf(rule);
      return { source: new LocalEndpoint(registry), destination: region, remote: region };
    }
    const client = await clientOf(rule);
    const remote = deps.remote ? deps.remote(rule, client) : new RemoteEndpoint(client);
    const local = new LocalEndpoint(registry);
    return rule.direction === 'push' ? { source: local, destination: remote, remote } : { source: remote, destination: local, remote };
  }

  return {
    async plan(input: PlanState | StreamRecord[]): Promise<PlanOutput> {
      // An EventBridge Pipe from the table's stream starts the machine with the batch of records itself.
      const state: PlanState = Array.isArray(input) ? { rule: ANY, trigger: 'push', records: input } : input;
      const run = state.run ?? openRun(state, deps.now());
      const reports = (state.results ?? []).map(normalise);
      const totals = addReports(state.totals ?? emptyTotals(), reports);
      const out = (items: WorkItem[], cursor?: WalkCursor): PlanOutput => ({
        run,
        items,
        ...(cursor ? { cursor } : {}),
        totals,
        ...(run.rule === ANY ? { byRule: byRule(state.byRule, reports) } : {}),
      });
      const first = !state.run;
      const changes = first ? (state.changes ?? (state.records ? changesOfRecords(state.records, deps.now()) : undefined)) : undefined;
      if (run.rule !== ANY) {
        const rule = await rules.get(run.rule);
        // A rule paused or removed mid-run stops at the next page.
        if (!rule || rule.paused) return out([]);
        if (changes) return out(itemsOfChanges(rule, changes));
        if (run.trigger === 'push' || state.changes || state.records) return out([]);
        const { source, destination } = await sides(rule);
        const page = await walk(rule, run, source, destination, state.cursor ?? {});
        return out(page.items, page.cursor);
      }
      // Every rule that applies: pushes go to push rules that trigger on push; a schedule to the rules
      // whose cron names this minute; a reconciliation (or run, backfill) to every push rule.
      const all = (await rules.list()).filter((r) => !r.paused && applies(r, run, state.time ?? new Date(run.startedAt).toISOString()));
      if (changes) return out(all.flatMap((r) => itemsOfChanges(r, changes).map((item) => ({ ...item, rule: r.name }))));
      if (run.trigger === 'push') return out([]);
      let cursor: WalkCursor = state.cursor ?? {};
      const items: WorkItem[] = [];
      for (const rule of all) {
        if (cursor.rule !== undefined && rule.name < cursor.rule) continue;
        if (cursor.rule !== rule.name) cursor = { rule: rule.name };
        const { source, destination } = await sides(rule);
        const page = await walk(rule, run, source, destination, cursor);
        items.push(...page.items.map((item) => ({ ...item, rule: rule.name })));
        if (page.cursor) return out(items, { ...page.cursor, rule: rule.name });
        cursor = {};
        if (items.length >= run.pageSize) {
          const next = all[all.indexOf(rule) + 1];
          return out(items, next ? { rule: next.name } : undefined);
        }
      }
      return out(items);
    },

    async copy(input: { run: ReplicationRun; item: WorkItem }): Promise<ItemReport> {
      const { run, item } = input;
      const name = item.rule ?? run.rule;
      const tagged = (report: ItemReport): ItemReport => (item.rule ? { ...report, rule: item.rule } : report);
      const rule = await rules.get(name);
      if (!rule || rule.paused) return tagged({ ref: refOf(item), outcome: 'skipped', reason: rule ? 'the rule is paused' : 'the rule is gone', manifests: 0, blobs: 0, bytes: 0, mounted: 0, resumedBytes: 0 });
      const { source, destination } = await sides(rule);
      const copy = new ItemCopy({ rule, run, source, destination, table: deps.table, audit: deps.audit, now: deps.now, mountHints, inFlight }, item);
      try {
        return tagged(await copy.run());
      } catch (error) {
        const reason = reasonOf(error);
        if (isTransient(error)) throw new ReplicationRetryable(reason);
        return tagged({ ...copy.report, outcome: 'failed', reason });
      }
    },

    async finish(state: { run: ReplicationRun; totals?: Totals; byRule?: Record<string, Totals>; results?: Array<ItemReport | FailedItem> }): Promise<ReplicationResult> {
      const reports = (state.results ?? []).map(normalise);
      const totals = addReports(state.totals ?? emptyTotals(), reports);
      const resultOf = (rule: string, t: Totals): ReplicationResult => ({
        runId: state.run.runId,
        rule,
        trigger: state.run.trigger,
        startedAt: new Date(state.run.startedAt).toISOString(),
        finishedAt: new Date(deps.now()).toISOString(),
        ok: t.failed === 0,
        totals: t,
      });
      if (state.run.rule !== ANY) {
        if (await rules.get(state.run.rule)) await status.record(resultOf(state.run.rule, totals));
      } else {
        // Each rule's status gets its own part of a run over every rule.
        for (const [rule, t] of Object.entries(byRule(state.byRule, reports))) if (await rules.get(rule)) await status.record(resultOf(rule, t));
      }
      return resultOf(state.run.rule, totals);
    },
  };
}

export type ReplicationTasks = ReturnType<typeof replicationTasks>;

/** The rule name of a run over every rule that applies. */
export const ANY = '*';

function applies(rule: ReplicationRule, run: ReplicationRun, time: string): boolean {
  switch (run.trigger) {
    case 'push':
      return rule.direction === 'push' && rule.onPush;
    case 'schedule': {
      const minute = Math.floor(Date.parse(time) / 60_000) * 60_000;
      return rule.schedule !== undefined && Number.isFinite(minute) && cronMatches(parseCron(rule.schedule), minute);
    }
    case 'reconcile':
      return rule.direction === 'push';
    default:
      return true;
  }
}

function byRule(before: Record<string, Totals> | undefined, reports: ItemReport[]): Record<string, Totals> {
  const out: Record<string, Totals> = { ...before };
  for (const report of reports) {
    if (!report.rule) continue;
    out[report.rule] = addReports(out[report.rule] ?? emptyTotals(), [report]);
  }
  return out;
}

/** The table's change stream (DynamoDB Streams records, as Lambda or EventBridge Pipes deliver them) as changes. */
export function changesOfRecords(records: StreamRecord[], now: number): Change[] {
  const out: Change[] = [];
  for (const record of records) {
    const k = record.dynamodb?.Keys;
    const what = k?.pk?.S !== undefined && k.sk?.S !== undefined ? keys.repositoryItemOf(k.pk.S, k.sk.S) : undefined;
    if (!what) continue;
    const image = record.dynamodb?.NewImage;
    const pushedAt = Number(image?.pushedAt?.N);
    const created = record.dynamodb?.ApproximateCreationDateTime;
    const at = Number.isFinite(pushedAt) ? pushedAt : created !== undefined ? created * 1000 : now;
    const subject = image?.subject?.S;
    out.push({ repository: what.repository, kind: what.kind, id: what.id, op: record.eventName === 'REMOVE' ? 'delete' : 'put', at, ...(subject ? { subject } : {}) });
  }
  return out;
}

function openRun(input: Partial<ReplicationInput>, now: number): ReplicationRun {
  if (typeof input.rule !== 'string' || input.rule === '') throw new TypeError('replication input names a rule');
  const trigger = input.trigger ?? (input.changes || input.records ? 'push' : 'run');
  if (!TRIGGERS.includes(trigger)) throw new TypeError(`unknown trigger ${JSON.stringify(trigger)}`);
  if (input.changes && input.changes.length > MAX_CHANGES) throw new RangeError(`at most ${MAX_CHANGES} changes per run`);
  const pageSize = input.pageSize ?? DEFAULT_PAGE;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 200) throw new RangeError('pageSize must be 1..200');
  return {
    runId: `${new Date(now).toISOString().replace(/[-:.]/g, '')}-${randomBytes(3).toString('hex')}`,
    rule: input.rule,
    trigger,
    mode: trigger === 'backfill' ? 'backfill' : 'sync',
    startedAt: now,
    pageSize,
  };
}

/** The changes a push rule covers, one item per tag or manifest (the latest change of each wins). */
export function itemsOfChanges(rule: ReplicationRule, changes: Change[]): WorkItem[] {
  if (rule.direction !== 'push') return [];
  const byRef = new Map<string, WorkItem>();
  for (const change of changes) {
    if (!coversRepository(rule, change.repository)) continue;
    if (change.kind === 'tag') {
      // Signatures and attestations in cosign's tag scheme follow their subject, whatever the tag filter.
      if (!coversTag(rule, change.id) && !COSIGN_TAG.test(change.id)) continue;
      byRef.set(`${change.repository}:${change.id}`, { repo: change.repository, tag: change.id, op: change.op, at: change.at });
    } else if (change.op === 'delete' || change.subject) {
      // A manifest pushed by digest replicates with the tag that reaches it; a referrer (subject) follows at once.
      byRef.set(`${change.repository}@${change.id}`, { repo: change.repository, digest: change.id, op: change.op, at: change.at });
    }
  }
  return [...byRef.values()];
}

/**
 * One page of the walk over everything the rule covers: repositories in order, each one's tags
 * in order; after a repository's last tag, with `--deletes`, the destination's tags the source no
 * longer has (the reconciliation of deletions).
 */
async function walk(rule: ReplicationRule, run: ReplicationRun, source: Endpoint, destination: Endpoint, from: WalkCursor): Promise<{ items: WorkItem[]; cursor?: WalkCursor }> {
  const items: WorkItem[] = [];
  const cursor: WalkCursor = { ...from };
  while (items.length < run.pageSize) {
    if (cursor.repo === undefined) {
      const page = await source.listRepositories(100, cursor.repoAfter);
      const next = page.names.find((name) => coversRepository(rule, name));
      if (next !== undefined) {
        cursor.repo = next;
        cursor.repoAfter = next;
        delete cursor.tagAfter;
        continue;
      }
      if (page.next === undefined || page.names.length === 0) return { items };
      cursor.repoAfter = page.names[page.names.length - 1];
      continue;
    }
    const repo = cursor.repo;
    const page = await source.listTags(repo, run.pageSize - items.length, cursor.tagAfter);
    for (const tag of page.names) {
      // cosign tags are copied with the image they sign.
      if (coversTag(rule, tag) && !COSIGN_TAG.test(tag)) items.push({ repo, tag, op: 'put' });
    }
    if (page.next !== undefined && page.names.length > 0) {
      cursor.tagAfter = page.names[page.names.length - 1];
      continue;
    }
    if (rule.direction === 'push' && rule.deletes) items.push(...(await extraTags(rule, source, destination, repo)));
    delete cursor.repo;
    delete cursor.tagAfter;
  }
  return { items, cursor };
}

/** Tags the destination shows and the source no longer has, among those the rule covers. */
async function extraTags(rule: ReplicationRule, source: Endpoint, destination: Endpoint, repo: string): Promise<WorkItem[]> {
  const out: WorkItem[] = [];
  const destRepo = destinationRepository(rule, repo);
  let after: string | undefined;
  do {
    const page = await destination.listTags(destRepo, 1000, after);
    for (const tag of page.names) {
      if ((coversTag(rule, tag) || COSIGN_TAG.test(tag)) && !(await source.resolveTag(repo, tag))) out.push({ repo, tag, op: 'delete' });
    }
    after = page.next;
  } while (after !== undefined);
  return out;
}

function normalise(report: ItemReport | FailedItem): ItemReport {
  if ('ref' in report) return report;
  return {
    ref: refOf(report.item),
    outcome: 'failed',
    manifests: 0,
    blobs: 0,
    bytes: 0,
    mounted: 0,
    resumedBytes: 0,
    reason: causeOf(report.cause),
    item: report.item,
  };
}

/** A Lambda failure's Cause is its error as JSON; a local run's, the message. */
function causeOf(cause: string | undefined): string {
  if (!cause) return 'failed after retries';
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: string };
    return parsed.errorMessage ?? cause;
  } catch {
    return cause;
  }
}

function isTransient(error: unknown): boolean {
  if (error instanceof RemoteError) return error.transient;
  if (error instanceof RegistryError) return error.status >= 500;
  if (error instanceof TypeError) return true;
  // AWS SDK errors of another region's stores: throttling, 5xx, timeouts.
  return (error as { $retryable?: unknown } | undefined)?.$retryable !== undefined;
}

function reasonOf(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 500);
}
