// Registries for replication tests: a test app served over HTTP on a loopback port (a remote
// for the distribution-API client), and reads of what a registry stores, straight from its ports.
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Audit, type AuditEvent } from '../../../core/auth/index.ts';
import type { ReplicationDeps } from '../../../core/replication/index.ts';
import { collect } from '../../../core/registry/streams.ts';
import { createTestApp, type TestApp, type TestAppOptions } from '../../support/app.ts';

export interface ServedApp extends TestApp {
  url: string;
  /** Stops answering (connections refused) until `listen()` again on the same port. */
  pause(): Promise<void>;
  listen(): Promise<void>;
}

export async function serveTestApp(options: TestAppOptions = {}): Promise<ServedApp> {
  const t = await createTestApp(options);
  let server: ReturnType<typeof serve> | undefined;
  let port = 0;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = serve({ fetch: t.app.fetch, hostname: '127.0.0.1', port }, (info: AddressInfo) => {
        port = info.port;
        resolve();
      });
    });
  const pause = () =>
    new Promise<void>((resolve) => {
      if (!server) return resolve();
      const s = server;
      server = undefined;
      (s as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      s.close(() => resolve());
    });
  await listen();
  return {
    ...t,
    url: `http://127.0.0.1:${port}`,
    pause,
    listen,
    close: async () => {
      await pause();
      await t.close();
    },
  };
}

/** The replication tasks' deps over a test app: its ports, plus an audit trail the test can read. */
export function replicationDeps(t: TestApp, extra: Partial<ReplicationDeps> = {}): ReplicationDeps & { events: AuditEvent[] } {
  const events: AuditEvent[] = [];
  const audit = new Audit({ table: t.table, now: Date.now, log: (e) => events.push(e) });
  return { ...t.registry.deps, table: t.table, audit, events, ...extra };
}

/** A blob's bytes as the registry stores them for `name` (undefined unless linked there). */
export async function storedBlob(t: TestApp, name: string, digest: string): Promise<Uint8Array | undefined> {
  const blob = await t.registry.blobs.stat(name, digest);
  if (!blob) return undefined;
  const stream = await t.objects.get(blob.key);
  return stream && collect(stream);
}

export async function tagDigest(t: TestApp, name: string, tag: string): Promise<string | undefined> {
  return (await t.registry.manifests.stat(name, tag))?.digest;
}
