/**
 * Replication inside the local host: the triggers that start the replication state machine (the
 * checked-in definition, run in process by aws-local-stepfunctions, as bin/replication-workflow.ts
 * does for the CLI). On AWS the same roles fall to DynamoDB Streams (on push) and EventBridge
 * (schedules, reconciliation) starting executions of the deployed machine.
 *
 * - on push: the index's change stream (a wrapped Table) is debounced, matched against the rules
 *   read afresh from the table, and each matching rule runs on the batch: within a second;
 * - schedule: each rule's cron, checked every few seconds;
 * - reconciliation: every push rule walks source and destination periodically (hourly by default),
 *   repairing any change lost between a write and its trigger (e.g. one made while the host was down);
 * - retry: items that failed after the machine's own retries run again with growing back-off.
 *
 * One run per rule at a time; what arrives meanwhile is merged into the next run.
 */
import { Audit } from '../core/auth/index.ts';
import { localReplicationEnv, parseEnv } from '../core/config/env.ts';
import type { Logger } from '../core/http/index.ts';
import type { Table } from '../core/ports/index.ts';
import {
  cronMatches,
  itemsOfChanges,
  parseCron,
  ReplicationMetrics,
  ReplicationRules,
  watchChanges,
  type Change,
  type ReplicationDeps,
  type ReplicationInput,
  type ReplicationResult,
  type WorkItem,
} from '../core/replication/index.ts';
import type { RegistryDeps } from '../core/registry/index.ts';


export type ReplicationHostConfig = Readonly<{
  enabled: boolean;
  debounceMs: number;
  reconcileMs: number;
  retryIntervalMs?: number;
  tickMs: number;
}>;

export function readReplicationConfig(env: NodeJS.ProcessEnv = process.env): ReplicationHostConfig {
  const e = parseEnv(localReplicationEnv, env);
  return Object.freeze({
    enabled: e.CIRRUS_REPLICATION === 'on',
    debounceMs: e.CIRRUS_REPLICATION_DEBOUNCE_MS,
    reconcileMs: e.CIRRUS_REPLICATION_RECONCILE_SECONDS * 1000,
    ...(e.CIRRUS_REPLICATION_RETRY_MS !== undefined ? { retryIntervalMs: e.CIRRUS_REPLICATION_RETRY_MS } : {}),
    tickMs: e.CIRRUS_REPLICATION_TICK_MS,
  });
}

const MAX_BACKOFF_MS = 5 * 60_000;
const FIRST_BACKOFF_MS = 1_000;

export interface ReplicationHost {
  /** The table to build the registry over: its tag and manifest writes trigger replication. */
  table: Table;
  metrics: ReplicationMetrics;
  /** Runs a rule now (the same queue as the triggers). */
  trigger(input: ReplicationInput): Promise<ReplicationResult | undefined>;
  stop(): Promise<void>;
}

export function startReplicationHost(deps: RegistryDeps & Pick<ReplicationDeps, 'regions'>, config: ReplicationHostConfig, log: Logger): ReplicationHost {
  const metrics = new ReplicationMetrics();
  if (!config.enabled) return { table: deps.table, metrics, trigger: async () => undefined, stop: async () => {} };
  let pending: Change[] = [];
  let flushTimer: NodeJS.Timeout | undefined;
  const table = watchChanges(deps.table, (change) => {
    pending.push(change);
    flushTimer ??= setTimeout(() => void flush(), config.debounceMs);
  });
  const audit = new Audit({ table, now: deps.now, log: (event) => log.info('audit', { ...event }) });
  const replicationDeps: ReplicationDeps = { ...deps, table, audit };
  const rules = new ReplicationRules(replicationDeps);

  const running = new Map<string, Promise<void>>();
  const queued = new Map<string, { input: ReplicationInput; waiters: Array<(r: ReplicationResult | undefined) => void> }>();
  const backoff = new Map<string, { attempts: number; timer?: NodeJS.Timeout }>();
  const lastScheduled = new Map<string, number>();
  const lastReconciled = new Map<string, number>();
  const startedAt = deps.now();
  let stopping = false;

  async function flush(): Promise<void> {
    flushTimer = undefined;
    const changes = pending;
    pending = [];
    if (changes.length === 0 || stopping) return;
    try {
      for (const rule of await rules.list()) {
        if (rule.paused || !rule.onPush || rule.direction !== 'push') continue;
        const covered = changes.filter((c) => itemsOfChanges(rule, [c]).length > 0);
        if (covered.length > 0) void enqueue({ rule: rule.name, trigger: 'push', changes: covered });
      }
    } catch (error) {
      log.error('replication-trigger-failed', { error: messageOf(error) });
    }
  }

  function enqueue(input: ReplicationInput): Promise<ReplicationResult | undefined> {
    return new Promise((resolve) => {
      const next = queued.get(input.rule);
      if (next) {
        next.input = merge(next.input, input);
        next.waiters.push(resolve);
      } else {
        queued.set(input.rule, { input, waiters: [resolve] });
      }
      if (!running.has(input.rule)) startNext(input.rule);
    });
  }

  function startNext(rule: string): void {
    const next = queued.get(rule);
    if (!next || stopping) return;
    queued.delete(rule);
    const done = execute(next.input).then((result) => {
      for (const w of next.waiters) w(result);
    });
    running.set(rule, done);
    void done.finally(() => {
      running.delete(rule);
      startNext(rule);
    });
  }

  async function execute(input: ReplicationInput): Promise<ReplicationResult | undefined> {
    try {
      // Loaded on the first run: a host without rules never pays for the interpreter.
      const { runReplicationWorkflow } = await import('./replication-workflow.ts');
      const result = await runReplicationWorkflow(replicationDeps, input, config.retryIntervalMs !== undefined ? { retryIntervalMs: config.retryIntervalMs } : {});
      metrics.record(result);
      const { totals } = result;
      log.info('replication', {
        rule: result.rule,
        runId: result.runId,
        trigger: result.trigger,
        ok: result.ok,
        items: totals.items,
        manifests: totals.manifests,
        blobs: totals.blobs,
        bytes: totals.bytes,
        failed: totals.failed,
        ...(totals.failures[0] ? { failure: totals.failures[0] } : {}),
      });
      scheduleRetry(result);
      return result;
    } catch (error) {
      log.error('replication-failed', { rule: input.rule, trigger: input.trigger, error: messageOf(error) });
      return undefined;
    }
  }

  /** Items that failed after the machine's retries run again, 1 s, 2 s, 4 s… up to 5 min later; a success resets the back-off. */
  function scheduleRetry(result: ReplicationResult): void {
    const state = backoff.get(result.rule) ?? { attempts: 0 };
    if (result.totals.retry.length === 0) {
      if (result.ok) backoff.delete(result.rule);
      return;
    }
    if (state.timer) return;
    const delay = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** state.attempts);
    state.attempts += 1;
    const changes = result.totals.retry.map(changeOf);
    state.timer = setTimeout(() => {
      state.timer = undefined;
      void enqueue({ rule: result.rule, trigger: 'push', changes });
    }, delay);
    backoff.set(result.rule, state);
  }

  async function tick(): Promise<void> {
    if (stopping) return;
    const now = deps.now();
    const minute = Math.floor(now / 60_000);
    try {
      for (const rule of await rules.list()) {
        if (rule.paused) continue;
        if (rule.schedule && lastScheduled.get(rule.name) !== minute && cronMatches(parseCron(rule.schedule), minute * 60_000)) {
          lastScheduled.set(rule.name, minute);
          void enqueue({ rule: rule.name, trigger: 'schedule' });
        }
        if (rule.direction === 'push' && now - (lastReconciled.get(rule.name) ?? Math.max(startedAt, rule.createdAt)) >= config.reconcileMs) {
          lastReconciled.set(rule.name, now);
          void enqueue({ rule: rule.name, trigger: 'reconcile' });
        }
      }
    } catch (error) {
      log.error('replication-schedule-failed', { error: messageOf(error) });
    }
  }
  const ticker = setInterval(() => void tick(), config.tickMs);
  ticker.unref();

  return {
    table,
    metrics,
    trigger: (input) => enqueue(input),
    async stop() {
      stopping = true;
      clearInterval(ticker);
      if (flushTimer) clearTimeout(flushTimer);
      for (const state of backoff.values()) if (state.timer) clearTimeout(state.timer);
      // Runs in flight finish their current items; whatever they leave, reconciliation repairs.
      await Promise.race([Promise.allSettled([...running.values()]), new Promise((r) => setTimeout(r, 5_000).unref())]);
    },
  };
}

/** Two queued inputs for one rule: a walk covers push changes; push changes add up. */
function merge(a: ReplicationInput, b: ReplicationInput): ReplicationInput {
  const rank = (i: ReplicationInput) => (i.trigger === 'backfill' ? 3 : i.changes ? 1 : 2);
  if (a.changes && b.changes) return { ...a, changes: [...a.changes, ...b.changes].slice(-1000) };
  return rank(a) >= rank(b) ? a : b;
}

function changeOf(item: WorkItem): Change {
  return {
    repository: item.repo,
    kind: item.tag !== undefined ? 'tag' : 'manifest',
    id: item.tag ?? (item.digest as string),
    op: item.op,
    at: item.at ?? Date.now(),
    // A retried manifest put is a referrer (the only kind pushed by digest that travels alone).
    ...(item.tag === undefined && item.op === 'put' ? { subject: 'retry' } : {}),
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
