/**
 * The store under a test app, on the backend CIRRUS_TEST_BACKEND names (see backend.ts):
 * - embedded: SqliteTable and FsObjectStore under the app's temp dir;
 * - aws-rgw: DynamoDbTable and S3ObjectStore on the run's dynalite and Ceph RGW, with a table and
 *   a bucket of their own (created here, deleted on close) and the S3 adapter spooling into the
 *   app's temp dir. Aborts reach RGW's AbortMultipartUpload, as they would reach S3's.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  HeadBucketCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import type { ObjectStore, Table } from '../../core/ports/index.ts';
import { DynamoDbTable } from '../../core/storage/dynamodb/dynamodb-table.ts';
import { FsObjectStore } from '../../core/storage/fs/fs-object-store.ts';
import { S3ObjectStore } from '../../core/storage/s3/s3-object-store.ts';
import { SqliteTable } from '../../core/storage/sqlite/sqlite-table.ts';
import { awsServers, rgwS3Client, sharedDynamoClient } from './aws-servers.ts';
import { testBackend } from './backend.ts';
import { cleanUp } from './tmp.ts';

export interface TestStore {
  table: Table;
  objects: ObjectStore;
  /** Ids of multipart uploads begun and neither completed nor aborted (the store's own bookkeeping). */
  pendingMultipartUploads(): Promise<string[]>;
  close(): Promise<void>;
}

export async function openTestStore(dir: string, options: { minPartSize?: number } = {}): Promise<TestStore> {
  return testBackend() === 'aws-rgw' ? openAwsStore(dir, options) : openEmbeddedStore(dir, options);
}

async function openEmbeddedStore(dir: string, options: { minPartSize?: number }): Promise<TestStore> {
  const table = new SqliteTable(join(dir, 'index.db'));
  const root = join(dir, 'store');
  const objects = new FsObjectStore({ root, publicUrl: '', signingSecret: randomBytes(32), minPartSize: options.minPartSize });
  return {
    table,
    objects,
    pendingMultipartUploads: () => entries(join(root, 'multipart')),
    close: () => table.close(),
  };
}

async function openAwsStore(dir: string, options: { minPartSize?: number }): Promise<TestStore> {
  const own = await createTableAndBucket(`cirrus-test-${randomUUID().slice(0, 8)}`);
  const table = new DynamoDbTable({ client: own.dynamo, tableName: own.name });
  const objects = new S3ObjectStore({ client: own.s3, bucket: own.name, spoolDir: dir, minPartSize: options.minPartSize });
  return {
    table,
    objects,
    pendingMultipartUploads: () => pendingUploads(own.s3, own.name),
    close: own.remove,
  };
}

/**
 * The environment that runs a local host on the tests' backend: on embedded, its data dir; on
 * aws-rgw, CIRRUS_BACKEND=aws over a table and a bucket named after `dataDir` (so a host
 * restarted over the same dir finds its data, as a Lambda does), with the endpoints and the
 * cluster's key pair in the AWS SDK's standard variables. They live until the run's servers stop.
 */
export async function hostBackendEnv(dataDir: string): Promise<Record<string, string>> {
  if (testBackend() !== 'aws-rgw') return { CIRRUS_BACKEND: 'embedded' };
  const name = hostStoreName(dataDir);
  const own = await createTableAndBucket(name);
  own.s3.destroy();
  own.dynamo.destroy();
  return awsEnv(name);
}

/**
 * The store a local host started by `startLocalHost` over `dataDir` writes to (see hostBackendEnv),
 * opened beside it, for tests that read what the host wrote.
 */
export async function openHostStore(dataDir: string): Promise<{ table: Table; objects: ObjectStore; close(): Promise<void> }> {
  if (testBackend() !== 'aws-rgw') {
    const table = new SqliteTable(join(dataDir, 'index.db'));
    const objects = new FsObjectStore({ root: join(dataDir, 'store'), publicUrl: '', signingSecret: randomBytes(32) });
    return { table, objects, close: () => table.close() };
  }
  const name = hostStoreName(dataDir);
  const dynamo = sharedDynamoClient();
  const s3 = rgwS3Client();
  return {
    table: new DynamoDbTable({ client: dynamo, tableName: name }),
    objects: new S3ObjectStore({ client: s3, bucket: name }),
    close: async () => {
      dynamo.destroy();
      s3.destroy();
    },
  };
}

function hostStoreName(dataDir: string): string {
  return `cirrus-host-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`;
}

/**
 * A table and a bucket on the run's dynalite and RGW, for several local hosts to share as Lambdas
 * share DynamoDB and S3: `env` starts a host over them (CIRRUS_BACKEND=aws).
 */
export async function openSharedAwsStore(): Promise<{ env: Record<string, string>; close(): Promise<void> }> {
  const own = await createTableAndBucket(`cirrus-shared-${randomUUID().slice(0, 8)}`);
  return { env: awsEnv(own.name), close: own.remove };
}

function awsEnv(name: string): Record<string, string> {
  const servers = awsServers();
  return {
    CIRRUS_BACKEND: 'aws',
    CIRRUS_TABLE: name,
    CIRRUS_BUCKET: name,
    AWS_ENDPOINT_URL_DYNAMODB: servers.dynamodbEndpoint,
    AWS_ENDPOINT_URL_S3: servers.s3Endpoint,
    AWS_REGION: servers.region,
    AWS_ACCESS_KEY_ID: servers.accessKeyId,
    AWS_SECRET_ACCESS_KEY: servers.secretAccessKey,
  };
}

/** A table and a bucket of one name (kept when they exist); `remove` empties and deletes both. */
export async function createTableAndBucket(name: string) {
  const dynamo = sharedDynamoClient();
  const s3 = rgwS3Client();
  await new DynamoDbTable({ client: dynamo, tableName: name }).createTableIfMissing();
  const exists = await s3.send(new HeadBucketCommand({ Bucket: name })).then(
    () => true,
    () => false,
  );
  if (!exists) await s3.send(new CreateBucketCommand({ Bucket: name }));
  const remove = () =>
    cleanUp(
      async () => {
        await emptyBucket(s3, name);
        await s3.send(new DeleteBucketCommand({ Bucket: name }));
      },
      () => dynamo.send(new DeleteTableCommand({ TableName: name })),
    ).finally(() => {
      s3.destroy();
      dynamo.destroy();
    });
  return { name, dynamo, s3, remove };
}

/** S3 deletes only empty buckets: aborts what is pending, deletes what is listed until nothing is. */
export async function emptyBucket(s3: S3Client, bucket: string): Promise<void> {
  const uploads = (await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
  await Promise.all(uploads.map((u) => s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.Key, UploadId: u.UploadId }))));
  for (;;) {
    const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => ({ Key: o.Key }));
    if (keys.length === 0) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}

/** Multipart uploads begun in the bucket and neither completed nor aborted (ListMultipartUploads). */
export async function pendingUploads(s3: S3Client, bucket: string): Promise<string[]> {
  const out = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (out.Uploads ?? []).flatMap((u) => (u.UploadId ? [u.UploadId] : []));
}

async function entries(path: string): Promise<string[]> {
  return readdir(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
}
