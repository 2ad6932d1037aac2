// The backend GC runs over in these tests, the project's (CIRRUS_TEST_BACKEND): the embedded store
// (SQLite + files, in a temp dir) in the embedded project, and the AWS adapters over the run's
// dynalite and Ceph RGW in the aws-rgw project (each store gets a table and a bucket of its own,
// removed on close; GC's aborts reach RGW's AbortMultipartUpload). Plus the registry app over a store, a movable clock,
// and a pull that follows the blob redirect to the bytes on either backend.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { createRegistryApp, silentLogger, type AppEnv } from '../../../core/http/index.ts';
import type { ObjectStore, Table } from '../../../core/ports/index.ts';
import { defaultSettings, Registry, type RegistryDeps, type RegistrySettings } from '../../../core/registry/index.ts';
import { DynamoDbTable } from '../../../core/storage/dynamodb/dynamodb-table.ts';
import { FsObjectStore } from '../../../core/storage/fs/fs-object-store.ts';
import { S3ObjectStore } from '../../../core/storage/s3/s3-object-store.ts';
import { SqliteTable } from '../../../core/storage/sqlite/sqlite-table.ts';
import { testBackend } from '../../support/backend.ts';
import { createTableAndBucket } from '../../support/test-stores.ts';
import { appTransport, RegistryClient } from '../../support/app.ts';

export type BackendKind = 'embedded' | 'aws';
export const BACKENDS: BackendKind[] = [testBackend() === 'aws-rgw' ? 'aws' : 'embedded'];

export interface Store {
  kind: BackendKind;
  table: Table;
  objects: ObjectStore;
  close(): Promise<void>;
}

export async function openStore(kind: BackendKind, options: { minPartSize?: number } = {}): Promise<Store> {
  if (kind === 'embedded') {
    const dir = await mkdtemp(join(tmpdir(), 'cirrus-gc-'));
    const table = new SqliteTable(join(dir, 'index.db'));
    const objects = new FsObjectStore({ root: join(dir, 'store'), publicUrl: '', signingSecret: randomBytes(32), minPartSize: options.minPartSize });
    return {
      kind,
      table,
      objects,
      close: async () => {
        await table.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  }
  const own = await createTableAndBucket(`cirrus-gc-${randomUUID().slice(0, 8)}`);
  return {
    kind,
    table: new DynamoDbTable({ client: own.dynamo, tableName: own.name }),
    objects: new S3ObjectStore({ client: own.s3, bucket: own.name, minPartSize: options.minPartSize }),
    close: own.remove,
  };
}

/** A clock the tests move forward (an hour passes in a call), shared by the registry and GC. */
export class Clock {
  offset = 0;
  readonly now = () => Date.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
}

export interface RegistryOverStore {
  deps: RegistryDeps;
  registry: Registry;
  app: Hono<AppEnv>;
  client: RegistryClient;
}

export function registryOver(store: Store, clock: Clock, settings: Partial<RegistrySettings> = {}): RegistryOverStore {
  const deps: RegistryDeps = { table: store.table, objects: store.objects, settings: { ...defaultSettings, ...settings }, now: clock.now };
  const registry = new Registry(deps);
  const app = createRegistryApp({ registry, log: silentLogger, http: {} });
  return { deps, registry, app, client: new RegistryClient(appTransport(app)) };
}

/** GET the blob as a client does: the 307, then the bytes where it points. Undefined unless both work. */
export async function pullBlob(r: RegistryOverStore, store: Store, name: string, digest: string): Promise<Uint8Array | undefined> {
  const res = await r.client.get(`/v2/${name}/blobs/${digest}`);
  if (res.status !== 307) return undefined;
  const location = res.headers.get('location') as string;
  if (/^https?:/.test(location)) {
    const bytes = await fetch(location);
    return bytes.ok ? new Uint8Array(await bytes.arrayBuffer()) : undefined;
  }
  const url = new URL(location, 'http://local');
  const stream = await store.objects.get(decodeURIComponent(url.pathname.slice('/_objects/'.length)));
  if (!stream) return undefined;
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}
