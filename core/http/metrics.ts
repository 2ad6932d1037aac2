/**
 * Request metrics, recorded once per request by one middleware and handed to a sink: Prometheus
 * text at /metrics on the local host (metrics-prometheus.ts), CloudWatch Embedded Metric Format log
 * lines on Lambda (metrics-emf.ts). The sample holds only what a response tells, plus the size of
 * a blob a request committed (one index read, only on a commit whose body length was not declared).
 */
import type { MiddlewareHandler } from 'hono';
import { projectOf } from '../auth/projects.ts';
import { RegistryError } from '../errors/index.ts';
import { matchRoute, type Route } from '../oci/index.ts';
import type { AppEnv } from './app-env.ts';
import { TOKEN_PATH } from './token-route.ts';

export type RouteLabel = Route['kind'] | 'token';

export interface RequestSample {
  method: string;
  route: RouteLabel;
  status: number;
  /** Milliseconds from the first middleware to the response. */
  ms: number;
  /** The OCI error code of a failed request; `HTTP_<status>` when no RegistryError said it. */
  code?: string;
  /** A blob GET answered with a redirect to storage. */
  redirect: boolean;
  /** An upload session was opened (POST … /blobs/uploads/ → 202). */
  uploadStarted: boolean;
  /** A blob's bytes were committed in a project by this request. */
  committed?: { project: string; bytes: number };
  requestId?: string;
}

export interface MetricsSink {
  record(sample: RequestSample): void;
}

export function recordMetrics(sink: MetricsSink): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const path = c.req.path;
    const route = path === TOKEN_PATH ? 'token' : matchRoute(path);
    const status = c.res.status;
    const method = c.req.method;
    const error = c.error;
    const code = error instanceof RegistryError ? error.code : error ? 'UNKNOWN' : status >= 400 ? `HTTP_${status}` : undefined;
    let committed: RequestSample['committed'];
    if (status === 201 && typeof route === 'object' && (route.kind === 'upload' || route.kind === 'upload-start')) {
      committed = await committedBlob(c, route.name, method, route.kind === 'upload-start').catch(() => undefined);
    }
    sink.record({
      method,
      route: typeof route === 'string' ? route : route.kind,
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
      code,
      redirect: status === 307 && typeof route === 'object' && route.kind === 'blob',
      uploadStarted: status === 202 && method === 'POST' && typeof route === 'object' && route.kind === 'upload-start',
      committed,
      requestId: c.var.requestId,
    });
  };
}

/** Bytes a 201 on an upload route stored: a monolithic body declares them; a session's close does not. */
async function committedBlob(
  c: Parameters<MiddlewareHandler<AppEnv>>[0],
  name: string,
  method: string,
  start: boolean,
): Promise<RequestSample['committed']> {
  // A mount links bytes already stored: nothing new.
  if (start && (method !== 'POST' || (c.req.query('mount') !== undefined && c.req.query('digest') === undefined))) return undefined;
  const digest = c.res.headers.get('docker-content-digest');
  if (!digest) return undefined;
  const declared = start ? c.req.header('content-length') : undefined;
  const bytes = declared !== undefined && /^\d{1,16}$/.test(declared) ? Number(declared) : (await c.var.deps.registry.blobs.stat(name, digest))?.size;
  return bytes === undefined ? undefined : { project: projectOf(name), bytes };
}
