/**
 * Metrics as CloudWatch Embedded Metric Format: one JSON log line per request, which CloudWatch
 * Logs turns into metrics for a Lambda function's log group (no PutMetricData call, no extra
 * permission, nothing to flush). Dimensions stay few and bounded: Service; Service+Route;
 * Service+Code (OCI error codes); Service+Project (only on a blob commit).
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
 */
import type { MetricsSink, RequestSample } from './metrics.ts';

export const DEFAULT_METRICS_NAMESPACE = 'Cirrus';

export interface EmfOptions {
  namespace?: string;
  /** The Service dimension: which host wrote the line (registry, upload-service). */
  service: string;
  write?: (line: string) => void;
  now?: () => number;
}

export function emfSink(options: EmfOptions): MetricsSink {
  const namespace = options.namespace ?? DEFAULT_METRICS_NAMESPACE;
  const write = options.write ?? ((line: string) => process.stdout.write(line));
  const now = options.now ?? Date.now;
  return {
    record(sample: RequestSample) {
      const directives: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> = [
        {
          Namespace: namespace,
          Dimensions: [['Service'], ['Service', 'Route']],
          Metrics: [
            { Name: 'Requests', Unit: 'Count' },
            { Name: 'Latency', Unit: 'Milliseconds' },
            { Name: 'ServerErrors', Unit: 'Count' },
            { Name: 'ClientErrors', Unit: 'Count' },
            { Name: 'Redirects', Unit: 'Count' },
            { Name: 'UploadSessions', Unit: 'Count' },
          ],
        },
      ];
      const doc: Record<string, unknown> = {
        Service: options.service,
        Route: sample.route,
        Method: sample.method,
        Status: sample.status,
        requestId: sample.requestId,
        Requests: 1,
        Latency: sample.ms,
        ServerErrors: sample.status >= 500 ? 1 : 0,
        ClientErrors: sample.status >= 400 && sample.status < 500 ? 1 : 0,
        Redirects: sample.redirect ? 1 : 0,
        UploadSessions: sample.uploadStarted ? 1 : 0,
      };
      if (sample.code) {
        directives.push({ Namespace: namespace, Dimensions: [['Service', 'Code']], Metrics: [{ Name: 'Errors', Unit: 'Count' }] });
        doc.Code = sample.code;
        doc.Errors = 1;
      }
      if (sample.committed) {
        directives.push({ Namespace: namespace, Dimensions: [['Service', 'Project']], Metrics: [{ Name: 'BytesCommitted', Unit: 'Bytes' }] });
        doc.Project = sample.committed.project;
        doc.BytesCommitted = sample.committed.bytes;
      }
      write(`${JSON.stringify({ _aws: { Timestamp: now(), CloudWatchMetrics: directives }, ...doc })}\n`);
    },
  };
}
