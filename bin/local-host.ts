/**
 * `npm start`: the registry as one Node process over the embedded store. The same app as on
 * Lambda; this file only wires configuration, the store and an HTTP server.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { createRegistryApp, jsonLogger, PROMETHEUS_CONTENT_TYPE, PrometheusMetrics, silentLogger } from '../core/http/index.ts';
import { createViewerRequestHandler } from '../edge/viewer-request/handler.ts';
import { defaultSettings, Registry } from '../core/registry/index.ts';
import { SIGNED_PATH_PREFIX } from '../core/storage/fs/signed-url.ts';
import { setUpAuth } from './auth-host.ts';
import { passEdge } from './edge-host.ts';
import { headersCheckIntervalMs, readConfig } from './config.ts';
import { openBackend } from './backend.ts';
import { readReplicationConfig, startReplicationHost } from './replication-host.ts';
import { answerClientErrors, malformedRequest } from '../core/http/node-client-errors.ts';
import { toFetchResponse } from '../core/errors/index.ts';

const config = readConfig();
const log = jsonLogger();
const store = await openBackend(config);
const metrics = new PrometheusMetrics();
const settings = { ...defaultSettings, hashMode: config.hashMode, uploadTtlSeconds: config.uploadTtlSeconds };
// Replication's triggers watch the index's tag and manifest writes: the registry writes through its table.
const replication = startReplicationHost({ table: store.table, objects: store.objects, settings, now: Date.now, ...(store.regions ? { regions: store.regions } : {}) }, readReplicationConfig(), log);
const registry = new Registry({ table: replication.table, objects: store.objects, settings, now: Date.now });
const auth = await setUpAuth(config, store.table, log);
const app = createRegistryApp({
  registry,
  log: config.logRequests ? log : silentLogger,
  http: { publicUrl: config.publicUrl, lambdaLimits: config.lambdaLimits, bodyIdleMs: config.bodyIdleMs },
  auth,
  metrics,
});
// A request Node parsed but the adapter cannot turn into a URL (no or a malformed Host) gets the OCI body too.
const handle = getRequestListener(app.fetch, { errorHandler: (error) => toFetchResponse(malformedRequest(error)) });
// The edge handler in front, as CloudFront runs it: same token checks and body limits, denials logged.
const edge = createViewerRequestHandler(
  {
    auth: auth ? { service: auth.settings.service, issuer: auth.settings.issuer, publicKeys: [JSON.stringify(auth.deps.key.publicJwk)] } : false,
    bodyLimit: config.lambdaLimits ? 'all' : 'none',
    publicUrl: config.publicUrl,
    scheme: 'http',
  },
  { log },
);

// Host is checked by the adapter above, which answers with an OCI error; Node's own check answers a bare 400.
const server = createServer({ requireHostHeader: false, connectionsCheckingInterval: headersCheckIntervalMs(config.headersTimeoutMs) }, (req, res) => {
  if (req.method === 'PATCH' || req.method === 'PUT' || req.method === 'POST') collectAfterLargeBody(req, res);
  if (store.serveSigned && req.url?.startsWith(SIGNED_PATH_PREFIX)) {
    const started = performance.now();
    void store.serveSigned(req, res).then((status) => {
      if (config.logRequests) log.info('request', { method: req.method, path: '/_objects/…', status, ms: Math.round(performance.now() - started) });
    });
    return;
  }
  if (req.url === '/metrics' && req.method === 'GET') {
    res.writeHead(200, { 'Content-Type': PROMETHEUS_CONTENT_TYPE }).end(metrics.render() + replication.metrics.render());
    return;
  }
  if (req.url?.includes('\\')) req.url = escapeBackslashes(req.url);
  void passEdge(edge, req, res).then((pass) => (pass ? handle(req, res) : undefined));
});
answerClientErrors(server, log);
// Slow-header clients must not hold connections forever; upload bodies may legitimately take long.
server.headersTimeout = config.headersTimeoutMs;
server.requestTimeout = 0;
server.keepAliveTimeout = 65_000;

server.listen(config.port, config.host, () => {
  const { port } = server.address() as AddressInfo;
  log.info('listening', { url: `http://${config.host}:${port}`, dataDir: config.dataDir, backend: config.backend, auth: config.auth.enabled });
});

/**
 * A large request body leaves its socket chunks behind, some promoted to V8's old generation with
 * their 64 KiB backing stores, which only a full GC frees (and V8 starts one late, counting
 * external memory loosely): RSS grew by about 8 MB with every 1 GiB push, measured over three.
 * One full GC when such a request ends (cheap on a heap of about 10 MB) brings each push back to the
 * same peak. Needs --expose-gc (package.json's start script); without it, nothing happens.
 */
const LARGE_BODY_BYTES = 64 * 1024 * 1024;
function collectAfterLargeBody(req: IncomingMessage, res: ServerResponse): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  const before = req.socket.bytesRead;
  res.once('close', () => {
    if (req.socket.bytesRead - before >= LARGE_BODY_BYTES) gc();
  });
}

/**
 * URL parsing reads `\` in a path as `/`, so the Node adapter refuses such a request with a bare 400.
 * Escaped, it stays the literal character the client sent, and the app answers the name, digest or
 * tag that holds it with its own OCI error.
 */
function escapeBackslashes(url: string): string {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  return path.replaceAll('\\', '%5C') + (query < 0 ? '' : url.slice(query));
}

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info('stopping', { signal });
  // Finish in-flight requests (each commits its writes before answering), then close the index.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const deadline = setTimeout(() => server.closeAllConnections(), 10_000);
  deadline.unref();
  await closed;
  await replication.stop();
  await store.close();
  log.info('stopped', {});
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
