/**
 * Replication counters per rule in Prometheus' text format, for the local host's /metrics (on
 * AWS the same figures are in each rule's status item and the task functions' log lines).
 */
import type { ReplicationResult } from './types.ts';

type Series = Map<string, number>;

const COUNTERS = {
  cirrus_replication_runs_total: 'Replication runs finished, by rule and result',
  cirrus_replication_items_total: 'Work items (tags, manifests, deletions) a run handled',
  cirrus_replication_manifests_total: 'Manifests copied to the destination',
  cirrus_replication_blobs_total: 'Blobs copied (or mounted) at the destination',
  cirrus_replication_bytes_total: 'Blob bytes sent to the destination',
  cirrus_replication_deletions_total: 'Tags and manifests deleted at the destination',
  cirrus_replication_failures_total: 'Work items that failed (after retries)',
} as const;

export class ReplicationMetrics {
  private readonly counters = new Map<keyof typeof COUNTERS, Series>(Object.keys(COUNTERS).map((k) => [k as keyof typeof COUNTERS, new Map()]));
  private readonly lag = new Map<string, number>();

  record(result: ReplicationResult): void {
    const rule = result.rule;
    const t = result.totals;
    this.inc('cirrus_replication_runs_total', `rule="${esc(rule)}",result="${result.ok ? 'ok' : 'failed'}"`, 1);
    this.inc('cirrus_replication_items_total', `rule="${esc(rule)}"`, t.items);
    this.inc('cirrus_replication_manifests_total', `rule="${esc(rule)}"`, t.manifests);
    this.inc('cirrus_replication_blobs_total', `rule="${esc(rule)}"`, t.blobs);
    this.inc('cirrus_replication_bytes_total', `rule="${esc(rule)}"`, t.bytes);
    this.inc('cirrus_replication_deletions_total', `rule="${esc(rule)}"`, t.deleted);
    this.inc('cirrus_replication_failures_total', `rule="${esc(rule)}"`, t.failed);
    const last = t.lags[t.lags.length - 1];
    if (last !== undefined) this.lag.set(`rule="${esc(rule)}"`, last / 1000);
  }

  get(name: keyof typeof COUNTERS, labels: string): number {
    return this.counters.get(name)?.get(labels) ?? 0;
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, series] of this.counters) {
      lines.push(`# HELP ${name} ${COUNTERS[name]}`, `# TYPE ${name} counter`);
      for (const [labels, value] of series) lines.push(`${name}{${labels}} ${value}`);
    }
    lines.push('# HELP cirrus_replication_lag_seconds Push acknowledged → tag visible at the destination, latest copy', '# TYPE cirrus_replication_lag_seconds gauge');
    for (const [labels, value] of this.lag) lines.push(`cirrus_replication_lag_seconds{${labels}} ${value}`);
    return `${lines.join('\n')}\n`;
  }

  private inc(name: keyof typeof COUNTERS, labels: string, by: number): void {
    const series = this.counters.get(name) as Series;
    series.set(labels, (series.get(labels) ?? 0) + by);
  }
}

function esc(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
