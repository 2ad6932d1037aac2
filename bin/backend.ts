/**
 * The store behind the local host, chosen by CIRRUS_BACKEND:
 * - `embedded` (default): SQLite + files under the data directory;
 * - `aws-local`: the AWS adapters over dynalite and s3rver, started here as child processes with
 *   their data under the data directory (so it survives restarts too);
 * - `aws`: the AWS adapters over real DynamoDB and S3 (CIRRUS_TABLE, CIRRUS_BUCKET; endpoints,
 *   region and credentials from the SDK's standard variables such as AWS_ENDPOINT_URL_S3).
 */
import { join } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ObjectStore, Table } from '../core/ports/index.ts';
import { DynamoDbTable } from '../core/storage/dynamodb/dynamodb-table.ts';
import { createS3Client } from '../core/storage/s3/s3-client.ts';
import { S3ObjectStore } from '../core/storage/s3/s3-object-store.ts';
import { startLocalAwsServer, withoutAbortOnS3rver, type LocalServer } from './aws-local-servers.ts';
import { openEmbeddedStore } from './embedded-store.ts';
import { serveSignedObject } from './serve-signed-object.ts';

export interface Backend {
  table: Table;
  objects: ObjectStore;
  /** Serves the store's signed URLs when they point back at this host (embedded store only). */
  serveSigned?: (req: IncomingMessage, res: ServerResponse) => Promise<number>;
  close(): Promise<void>;
}

export interface BackendConfig {
  backend: 'embedded' | 'aws-local' | 'aws';
  dataDir: string;
  table?: string;
  bucket?: string;
}

export async function openBackend(config: BackendConfig): Promise<Backend> {
  switch (config.backend) {
    case 'embedded': {
      const store = await openEmbeddedStore(config.dataDir);
      return {
        table: store.table,
        objects: store.objects,
        serveSigned: (req, res) => serveSignedObject(req, res, store.objects, store.signingSecret),
        close: () => store.table.close(),
      };
    }
    case 'aws-local':
      return openAwsLocal(config.dataDir, config.table ?? 'cirrus', config.bucket ?? 'cirrus');
    case 'aws': {
      if (!config.table || !config.bucket) throw new Error('CIRRUS_BACKEND=aws needs CIRRUS_TABLE and CIRRUS_BUCKET');
      return {
        table: new DynamoDbTable({ client: new DynamoDBClient({}), tableName: config.table }),
        objects: new S3ObjectStore({ client: createS3Client({}), bucket: config.bucket }),
        close: async () => {},
      };
    }
  }
}

/** s3rver and dynalite accept only these credentials (dynalite takes any). */
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

async function openAwsLocal(dataDir: string, tableName: string, bucket: string): Promise<Backend> {
  // Both at once (each takes about a second to load); on the ports of the last run, so that
  // URLs presigned before a restart still reach s3rver.
  const started = await Promise.allSettled([
    startLocalAwsServer('dynalite', join(dataDir, 'aws-local', 'dynamodb'), { keepPort: true }),
    startLocalAwsServer('s3rver', join(dataDir, 'aws-local', 's3'), { keepPort: true }),
  ]);
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  try {
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    const [dynamo, s3] = servers as [LocalServer, LocalServer];
    const region = 'us-east-1';
    const table = new DynamoDbTable({
      client: new DynamoDBClient({ endpoint: dynamo.endpoint, region, credentials: LOCAL_CREDENTIALS }),
      tableName,
    });
    await table.createTableIfMissing();
    const client = createS3Client({ endpoint: s3.endpoint, region, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
    await createBucketIfMissing(client, bucket);
    return {
      table,
      objects: withoutAbortOnS3rver(new S3ObjectStore({ client, bucket })),
      close: async () => {
        await Promise.allSettled(servers.map((s) => s.stop()));
      },
    };
  } catch (error) {
    await Promise.allSettled(servers.map((s) => s.stop()));
    throw error;
  }
}

async function createBucketIfMissing(client: S3Client, bucket: string): Promise<void> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }
}
