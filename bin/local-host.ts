/**
 * `npm start`: the registry as one Node process over the embedded store. The same app as on
 * Lambda; this file only wires configuration, the store and an HTTP server.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { createRegistryApp, jsonLogger, silentLogger } from '../core/http/index.ts';
import { defaultSettings, Registry } from '../core/registry/index.ts';
import { SIGNED_PATH_PREFIX } from '../core/storage/fs/signed-url.ts';
import { readConfig } from './config.ts';
import { openEmbeddedStore } from './embedded-store.ts';
import { serveSignedObject } from './serve-signed-object.ts';

const config = readConfig();
const log = jsonLogger();
const store = await openEmbeddedStore(config.dataDir);
const registry = new Registry({
  table: store.table,
  objects: store.objects,
  settings: { ...defaultSettings, hashMode: config.hashMode, uploadTtlSeconds: config.uploadTtlSeconds },
  now: Date.now,
});
const app = createRegistryApp({
  registry,
  log: config.logRequests ? log : silentLogger,
  http: { publicUrl: config.publicUrl, lambdaLimits: config.lambdaLimits },
});
const handle = getRequestListener(app.fetch);

const server = createServer((req, res) => {
  if (req.url?.startsWith(SIGNED_PATH_PREFIX)) {
    const started = performance.now();
    void serveSignedObject(req, res, store.objects, store.signingSecret).then((status) => {
      if (config.logRequests) log.info('request', { method: req.method, path: '/_objects/…', status, ms: Math.round(performance.now() - started) });
    });
    return;
  }
  void handle(req, res);
});
// Slow-header clients must not hold connections forever; upload bodies may legitimately take long.
server.headersTimeout = 30_000;
server.requestTimeout = 0;
server.keepAliveTimeout = 65_000;

server.listen(config.port, config.host, () => {
  const { port } = server.address() as AddressInfo;
  log.info('listening', { url: `http://${config.host}:${port}`, dataDir: config.dataDir, backend: config.backend });
});

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
  await store.table.close();
  log.info('stopped', {});
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
