/**
 * What a replication run carries from task to task: plain JSON, a few KB per page of work, far
 * below Step Functions' 256 KB state limit. Never content, never credentials.
 */

export const TRIGGERS = ['push', 'run', 'backfill', 'schedule', 'reconcile'] as const;
export type Trigger = (typeof TRIGGERS)[number];

/** One change of a repository (a tag or manifest written or deleted), as the change stream reports it. */
export interface Change {
  repository: string;
  kind: 'tag' | 'manifest';
  /** The tag, or the manifest's digest. */
  id: string;
  op: 'put' | 'delete';
  /** A manifest put: the manifest it is a referrer of. */
  subject?: string;
  /** When this registry acknowledged the write (ms). */
  at: number;
}

/** One unit of copy work: a tag (and everything it reaches), or a manifest by digest. */
export interface WorkItem {
  /** The rule, in a run over every rule (`rule: "*"`). */
  rule?: string;
  /** The repository at the source. */
  repo: string;
  tag?: string;
  digest?: string;
  op: 'put' | 'delete';
  /** When the source acknowledged the write that triggered this (push trigger): the start of the lag. */
  at?: number;
}

export interface ReplicationInput {
  /**
   * The rule to run, or `*`: every rule that applies (on AWS, the table's change stream and the
   * EventBridge schedules start such runs: push rules for changes, rules whose cron names this
   * minute for `schedule`, every push rule for `reconcile`).
   */
  rule: string;
  trigger?: Trigger;
  /** Push trigger: the changes to replicate (else the run walks everything the rule covers). */
  changes?: Change[];
  /** Push trigger on AWS: DynamoDB stream records of the table, made into changes by the plan task. */
  records?: StreamRecord[];
  /** Schedule trigger: the minute to match crons against (ISO time; EventBridge's `$.time`), default now. */
  time?: string;
  /** Work items per Map iteration batch (default 25). */
  pageSize?: number;
}

export interface ReplicationRun {
  runId: string;
  rule: string;
  trigger: Trigger;
  /** `backfill` copies everything and checks every blob; `sync` skips what the destination already shows. */
  mode: 'sync' | 'backfill';
  startedAt: number;
  pageSize: number;
}

/** The part of a DynamoDB Streams record (as Lambda and EventBridge Pipes deliver it) the plan reads. */
export interface StreamRecord {
  eventName?: 'INSERT' | 'MODIFY' | 'REMOVE';
  dynamodb?: {
    Keys?: Record<string, { S?: string }>;
    NewImage?: Record<string, { S?: string; N?: string }>;
    ApproximateCreationDateTime?: number;
  };
}

export type Outcome = 'copied' | 'in-sync' | 'superseded' | 'deleted' | 'skipped' | 'failed';

export interface ItemReport {
  /** The rule, in a run over every rule. */
  rule?: string;
  /** repository:tag or repository@digest, at the source. */
  ref: string;
  outcome: Outcome;
  manifests: number;
  blobs: number;
  bytes: number;
  mounted: number;
  /** Bytes an interrupted upload already held when this copy resumed it. */
  resumedBytes: number;
  /** Push acknowledged at the source → tag visible at the destination (push trigger only). */
  lagMs?: number;
  /** Why it failed or was skipped (never a credential). */
  reason?: string;
  /** A failed item, to retry later. */
  item?: WorkItem;
}

export interface Counters {
  items: number;
  manifests: number;
  blobs: number;
  bytes: number;
  mounted: number;
  resumedBytes: number;
  deleted: number;
  failed: number;
}

export interface Totals extends Counters {
  outcomes: Partial<Record<Outcome, number>>;
  /** Up to 20 failures of the run. */
  failures: Array<{ ref: string; reason: string }>;
  lags: number[];
  /** Failed items (up to 200), retried with back-off by the host that started the run. */
  retry: WorkItem[];
}

export const MAX_FAILURES = 20;

export function emptyTotals(): Totals {
  return { items: 0, manifests: 0, blobs: 0, bytes: 0, mounted: 0, resumedBytes: 0, deleted: 0, failed: 0, outcomes: {}, failures: [], lags: [], retry: [] };
}

export function addReports(totals: Totals, reports: ItemReport[]): Totals {
  const out: Totals = { ...totals, outcomes: { ...totals.outcomes }, failures: [...totals.failures], lags: [...totals.lags], retry: [...totals.retry] };
  for (const r of reports) {
    out.items += 1;
    out.manifests += r.manifests;
    out.blobs += r.blobs;
    out.bytes += r.bytes;
    out.mounted += r.mounted;
    out.resumedBytes += r.resumedBytes;
    if (r.outcome === 'deleted') out.deleted += 1;
    if (r.outcome === 'failed') {
      out.failed += 1;
      if (out.failures.length < MAX_FAILURES) out.failures.push({ ref: r.ref, reason: r.reason ?? 'unknown' });
      if (r.item && out.retry.length < 200) out.retry.push(r.item);
    }
    out.outcomes[r.outcome] = (out.outcomes[r.outcome] ?? 0) + 1;
    if (r.lagMs !== undefined && out.lags.length < 1000) out.lags.push(r.lagMs);
  }
  return out;
}

export interface ReplicationResult {
  runId: string;
  rule: string;
  trigger: Trigger;
  startedAt: string;
  finishedAt: string;
  ok: boolean;
  totals: Totals;
}
