/**
 * Per-rule status: the last run, cumulative counters, recent failures with their reasons, and
 * lag samples (push acknowledged at the source → tag visible at the destination). One item per
 * rule, updated once per run under a version condition, so concurrent runs never lose counts.
 */
import { ConditionFailedError, type Attributes, type Table } from '../ports/table.ts';
import { keys } from '../registry/keys.ts';
import type { Counters, ReplicationResult } from './types.ts';

export interface RuleStatus {
  rule: string;
  lastRun?: {
    runId: string;
    trigger: string;
    startedAt: string;
    finishedAt: string;
    ok: boolean;
    items: number;
    manifests: number;
    blobs: number;
    bytes: number;
    failed: number;
  };
  /** Everything the rule copied since it was added. */
  totals: Counters;
  /** The latest failures, newest first (up to 20). */
  failures: Array<{ at: string; ref: string; reason: string }>;
  lastSuccessAt?: string;
  /** Lag samples of the latest pushes (ms), newest last (up to 200). */
  lags: number[];
  lag?: { last: number; p50: number; p99: number; samples: number };
}

const LAG_SAMPLES = 200;
const FAILURES = 20;

export class ReplicationStatus {
  constructor(private readonly deps: { table: Table; now: () => number }) {}

  async get(rule: string): Promise<RuleStatus> {
    const { pk, sk } = keys.replicationStatus(rule);
    const item = await this.deps.table.get(pk, sk);
    const status = (item?.attrs.status as unknown as Omit<RuleStatus, 'rule' | 'lag'> | undefined) ?? { totals: zero(), failures: [], lags: [] };
    return { rule, ...status, lag: lagOf(status.lags) };
  }

  async record(result: ReplicationResult): Promise<RuleStatus> {
    const { pk, sk } = keys.replicationStatus(result.rule);
    for (let attempt = 0; ; attempt++) {
      const item = await this.deps.table.get(pk, sk);
      const version = (item?.attrs.version as number | undefined) ?? 0;
      const before = (item?.attrs.status as unknown as Omit<RuleStatus, 'rule' | 'lag'> | undefined) ?? { totals: zero(), failures: [], lags: [] };
      const t = result.totals;
      const totals = zero();
      for (const k of Object.keys(totals) as Array<keyof Counters>) totals[k] = (before.totals[k] ?? 0) + (t[k] ?? 0);
      const failures = [...t.failures.map((f) => ({ at: result.finishedAt, ...f })), ...before.failures].slice(0, FAILURES);
      const status: Omit<RuleStatus, 'rule' | 'lag'> = {
        lastRun: {
          runId: result.runId,
          trigger: result.trigger,
          startedAt: result.startedAt,
          finishedAt: result.finishedAt,
          ok: result.ok,
          items: t.items,
          manifests: t.manifests,
          blobs: t.blobs,
          bytes: t.bytes,
          failed: t.failed,
        },
        totals,
        failures,
        ...(result.ok ? { lastSuccessAt: result.finishedAt } : before.lastSuccessAt ? { lastSuccessAt: before.lastSuccessAt } : {}),
        lags: [...before.lags, ...t.lags].slice(-LAG_SAMPLES),
      };
      const attrs: Attributes = { status: status as unknown as Attributes, version: version + 1 };
      try {
        if (item) await this.deps.table.put({ pk, sk, attrs }, { kind: 'equals', attr: 'version', value: version });
        else await this.deps.table.put({ pk, sk, attrs }, { kind: 'absent' });
        return { rule: result.rule, ...status, lag: lagOf(status.lags) };
      } catch (error) {
        if (!(error instanceof ConditionFailedError) || attempt > 20) throw error;
      }
    }
  }
}

function zero(): Counters {
  return { items: 0, manifests: 0, blobs: 0, bytes: 0, mounted: 0, resumedBytes: 0, deleted: 0, failed: 0 };
}

function lagOf(lags: number[]): RuleStatus['lag'] {
  if (lags.length === 0) return undefined;
  const sorted = [...lags].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { last: lags[lags.length - 1] as number, p50: at(0.5), p99: at(0.99), samples: lags.length };
}
