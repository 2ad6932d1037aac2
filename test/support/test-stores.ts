/**
 * The store under a test app, on the backend CIRRUS_TEST_BACKEND names (see backend.ts):
 * - embedded: SqliteTable and FsObjectStore under the app's temp dir;
 * - aws-local: DynamoDbTable and S3ObjectStore on this worker's shared dynalite and s3rver, with a
 *   table and a bucket of their own (created here, deleted on close) and the S3 adapter spooling
 *   into the app's temp dir. s3rver has no AbortMultipartUpload: its 405 is swallowed, as the
 *   aws-local local host does.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { withoutAbortOnS3rver } from '../../bin/aws-local-servers.ts';
import type { ObjectStore, Table } from '../../core/ports/index.ts';
import { DynamoDbTable } from '../../core/storage/dynamodb/dynamodb-table.ts';
import { FsObjectStore } from '../../core/storage/fs/fs-object-store.ts';
import { S3ObjectStore } from '../../core/storage/s3/s3-object-store.ts';
import { SqliteTable } from '../../core/storage/sqlite/sqlite-table.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, sharedAwsLocal } from './aws-local.ts';
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
  return testBackend() === 'aws-local' ? openAwsLocalStore(dir, options) : openEmbeddedStore(dir, options);
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

async function openAwsLocalStore(dir: string, options: { minPartSize?: number }): Promise<TestStore> {
  const own = await createTableAndBucket();
  const table = new DynamoDbTable({ client: own.dynamo, tableName: own.name });
  const objects = withoutAbortOnS3rver(new S3ObjectStore({ client: own.s3, bucket: own.name, spoolDir: dir, minPartSize: options.minPartSize }));
  return {
    table,
    objects,
    // S3 would answer ListMultipartUploads; s3rver has none, and keeps each upload in a directory.
    pendingMultipartUploads: () => entries(join(own.servers.s3Dir, own.name, '._S3rver_uploads')),
    close: own.remove,
  };
}

/**
 * A table and a bucket on this worker's dynalite and s3rver, for several local hosts to share as
 * Lambdas share DynamoDB and S3: `env` starts a host over them (CIRRUS_BACKEND=aws, with the
 * endpoints and the local credentials in the AWS SDK's standard variables).
 */
export async function openSharedAwsLocalStore(): Promise<{ env: Record<string, string>; close(): Promise<void> }> {
  const own = await createTableAndBucket();
  return {
    env: {
      CIRRUS_BACKEND: 'aws',
      CIRRUS_TABLE: own.name,
      CIRRUS_BUCKET: own.name,
      AWS_ENDPOINT_URL_DYNAMODB: own.servers.dynamodbEndpoint,
      AWS_ENDPOINT_URL_S3: own.servers.s3Endpoint,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    },
    close: own.remove,
  };
}

/** A fresh table and bucket of one name; `remove` empties and deletes both. */
async function createTableAndBucket() {
  const servers = await sharedAwsLocal();
  const name = `cirrus-test-${randomUUID().slice(0, 8)}`;
  const dynamo = servers.dynamodbClient();
  const s3 = servers.s3Client();
  await new DynamoDbTable({ client: dynamo, tableName: name }).createTableIfMissing();
  await s3.send(new CreateBucketCommand({ Bucket: name }));
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
  return { servers, name, dynamo, s3, remove };
}

/** S3 deletes only empty buckets: deletes what the first page lists until it lists nothing. */
async function emptyBucket(s3: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);
    if (keys.length === 0) return;
    await Promise.all(keys.map((Key) => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key }))));
  }
}

async function entries(path: string): Promise<string[]> {
  return readdir(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
}
