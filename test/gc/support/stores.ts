// The two backends GC runs over in these tests: the embedded store (SQLite + files, in a temp
// dir) and the AWS adapters over dynalite and s3rver (this worker's shared pair; each store gets
// a table and a bucket of its own). Plus the registry app over a store, a movable clock,
// and a pull that follows the blob redirect to the bytes on either backend.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { Hono } from 'hono';
import { createRegistryApp, silentLogger, type AppEnv } from '../../../core/http/index.ts';
import type { ObjectStore, Table } from '../../../core/ports/index.ts';
import { defaultSettings, Registry, type RegistryDeps, type RegistrySettings } from '../../../core/registry/index.ts';
import { DynamoDbTable } from '../../../core/storage/dynamodb/dynamodb-table.ts';
import { FsObjectStore } from '../../../core/storage/fs/fs-object-store.ts';
import { S3ObjectStore } from '../../../core/storage/s3/s3-object-store.ts';
import { SqliteTable } from '../../../core/storage/sqlite/sqlite-table.ts';
import { withoutAbortOnS3rver } from '../../../bin/aws-local-servers.ts';
import { sharedAwsLocal } from '../../support/aws-local.ts';
import { appTransport, RegistryClient } from '../../support/app.ts';

export type BackendKind = 'embedded' | 'aws';
export const BACKENDS: BackendKind[] = ['embedded', 'aws'];

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
  const servers = await sharedAwsLocal();
  const name = `cirrus-gc-${randomUUID().slice(0, 8)}`;
  const dynamo = servers.dynamodbClient();
  const s3 = servers.s3Client();
  const table = new DynamoDbTable({ client: dynamo, tableName: name });
  await table.createTableIfMissing();
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  return {
    kind,
    table,
    objects: withoutAbortOnS3rver(new S3ObjectStore({ client: s3, bucket: name, minPartSize: options.minPartSize })),
    close: async () => {
      dynamo.destroy();
      s3.destroy();
    },
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
