/**
 * What a GC run carries from task to task. Everything here is plain JSON: it travels through
 * Step Functions state (a few KB, far below its 256 KB limit), never the registry's contents.
 */

/** The phases, in the order they must run: sweeping manifests before blobs means no manifest item ever names a blob already gone. */
export const PHASES = ['mark', 'manifests', 'blobs', 'uploads', 'orphans', 'cleanup'] as const;
export type Phase = (typeof PHASES)[number];

export interface GcInput {
  /** Report what would go, delete nothing. */
  dryRun?: boolean;
  /** What was referenced, pushed or seen within this long before the mark began is kept (default 24 h). */
  gracePeriodSeconds?: number;
  /** Items read per query page (default 100). */
  pageSize?: number;
  /** Pages per task invocation before it hands back a cursor (default 200; a time budget applies too). */
  pagesPerTask?: number;
}

export interface GcRun {
  runId: string;
  /** When the mark began (ms). */
  markStart: number;
  /** markStart minus the grace period: only what was last referenced before this may go. */
  cutoff: number;
  graceMs: number;
  dryRun: boolean;
  pageSize: number;
  pagesPerTask: number;
}

export interface Counter {
  count: number;
  bytes: number;
}

export const REPORT_KINDS = ['tags', 'manifests', 'referrers', 'blobs', 'links', 'uploads', 'orphans'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];

export interface GcReport {
  /** Deleted, or in a dry run what would be deleted. */
  deleted: Record<ReportKind, Counter>;
  /** Up to EXAMPLES per kind: repository:tag, repository@digest, digest, upload uuid, object key. */
  examples: Record<ReportKind, string[]>;
}

export const EXAMPLES = 20;

/** One deletion (or would-be deletion), for logs. */
export interface GcEvent {
  runId: string;
  dryRun: boolean;
  kind: ReportKind;
  id: string;
  bytes: number;
}

export function emptyReport(): GcReport {
  const deleted = {} as Record<ReportKind, Counter>;
  const examples = {} as Record<ReportKind, string[]>;
  for (const kind of REPORT_KINDS) {
    deleted[kind] = { count: 0, bytes: 0 };
    examples[kind] = [];
  }
  return { deleted, examples };
}

export function mergeReports(reports: GcReport[]): GcReport {
  const out = emptyReport();
  for (const report of reports) {
    for (const kind of REPORT_KINDS) {
      out.deleted[kind].count += report.deleted[kind]?.count ?? 0;
      out.deleted[kind].bytes += report.deleted[kind]?.bytes ?? 0;
      for (const e of report.examples[kind] ?? []) if (out.examples[kind].length < EXAMPLES) out.examples[kind].push(e);
    }
  }
  return out;
}

export function bytesFreed(report: GcReport): number {
  return REPORT_KINDS.reduce((sum, kind) => sum + report.deleted[kind].bytes, 0);
}
