/**
 * Counters and a latency histogram in Prometheus' text exposition format (version 0.0.4), kept in
 * process memory: what the local host serves at /metrics. No dependency: the format is a few lines.
 */
import type { MetricsSink, RequestSample } from './metrics.ts';

type Labels = Record<string, string>;

class Counter {
  private readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    const entry = this.values.get(key);
    if (entry) entry.value += by;
    else this.values.set(key, { labels, value: by });
  }

  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels))?.value ?? 0;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.values.values()) lines.push(`${this.name}${formatLabels(labels)} ${value}`);
    return lines;
  }
}

class Histogram {
  private readonly series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let entry = this.series.get(key);
    if (!entry) this.series.set(key, (entry = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]!) entry.counts[i]! += 1;
    entry.sum += value;
    entry.count += 1;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const { labels, counts, sum, count } of this.series.values()) {
      this.buckets.forEach((le, i) => lines.push(`${this.name}_bucket${formatLabels({ ...labels, le: String(le) })} ${counts[i]}`));
      lines.push(`${this.name}_bucket${formatLabels({ ...labels, le: '+Inf' })} ${count}`);
      lines.push(`${this.name}_sum${formatLabels(labels)} ${sum}`);
      lines.push(`${this.name}_count${formatLabels(labels)} ${count}`);
    }
    return lines;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The registry's metrics; `record` is the sink the metrics middleware feeds. */
export class PrometheusMetrics implements MetricsSink {
  readonly requests = new Counter('cirrus_http_requests_total', 'Requests answered, by method, route and status.');
  readonly errors = new Counter('cirrus_errors_total', 'Failed requests, by OCI error code.');
  readonly redirects = new Counter('cirrus_blob_redirects_total', 'Blob GETs answered with a redirect to storage.');
  readonly uploadSessions = new Counter('cirrus_upload_sessions_started_total', 'Upload sessions opened.');
  readonly bytesCommitted = new Counter('cirrus_blob_bytes_committed_total', 'Bytes of blobs committed, by project (garbage collection not subtracted).');
  readonly latency = new Histogram('cirrus_http_request_duration_seconds', 'Time to answer, by route.', [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
  ]);

  record(sample: RequestSample): void {
    this.requests.inc({ method: sample.method, route: sample.route, status: String(sample.status) });
    this.latency.observe({ route: sample.route }, sample.ms / 1000);
    if (sample.code) this.errors.inc({ code: sample.code });
    if (sample.redirect) this.redirects.inc();
    if (sample.uploadStarted) this.uploadSessions.inc();
    if (sample.committed) this.bytesCommitted.inc({ project: sample.committed.project }, sample.committed.bytes);
  }

  render(): string {
    return `${[this.requests, this.errors, this.redirects, this.uploadSessions, this.bytesCommitted, this.latency].flatMap((m) => m.render()).join('\n')}\n`;
  }
}

function labelKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join('\u0000');
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`;
}
