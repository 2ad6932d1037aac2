/** The AWS adapters behind the local host (CIRRUS_BACKEND=aws or aws-local); see backend.ts. */
import { join } from 'node:path';
import { CreateBucketCommand, HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbTable } from '../core/storage/dynamodb/dynamodb-table.ts';
import { createS3Client } from '../core/storage/s3/s3-client.ts';
import { S3ObjectStore } from '../core/storage/s3/s3-object-store.ts';
import { startLocalAwsServer, withoutAbortOnS3rver, type LocalServer } from './aws-local-servers.ts';
import type { Regions } from '../core/replication/region.ts';
import type { Backend } from './backend.ts';

export function openAws(tableName: string, bucket: string): Backend {
  return {
    table: new DynamoDbTable({ client: new DynamoDBClient({}), tableName }),
    objects: new S3ObjectStore({ client: createS3Client({}), bucket }),
    regions: awsRegions(bucket),
    close: async () => {},
  };
}

/** Clients of another region, one per region; the S3 client follows the source bucket's region. */
function awsRegions(sourceBucket: string): Regions {
  const clients = new Map<string, { dynamo: DynamoDBClient; s3: S3Client }>();
  return {
    sourceBucket,
    open(target) {
      const where = target.region ? { region: target.region } : {};
      let c = clients.get(target.region ?? '');
      if (!c) clients.set(target.region ?? '', (c = { dynamo: new DynamoDBClient(where), s3: createS3Client({ ...where, followRegionRedirects: true }) }));
      return { table: new DynamoDbTable({ client: c.dynamo, tableName: target.table }), objects: new S3ObjectStore({ client: c.s3, bucket: target.bucket }) };
    },
  };
}

/** s3rver and dynalite accept only these credentials (dynalite takes any). */
const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function openAwsLocal(dataDir: string, tableName: string, bucket: string): Promise<Backend> {
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
