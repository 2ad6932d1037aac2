/**
 * `npm run rgw`: a throwaway Ceph RGW cluster (bin/ceph-rgw.ts) and a dynalite, started by hand for
 * running the local host with CIRRUS_BACKEND=aws against them, as the aws-rgw test project does.
 * Creates the table and the bucket (`--name`, default cirrus), prints the environment to start
 * the host with (and writes it to `<dir>/env`), and runs until Ctrl-C, then stops the daemons by
 * their PIDs and removes everything: memstore keeps the bytes in RAM, so nothing survives.
 *
 *   npm run rgw                      # in one shell
 *   set -a; . /tmp/cirrus-rgw-…/env; set +a; npm start     # in another
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { DynamoDbTable } from '../core/storage/dynamodb/dynamodb-table.ts';
import { createS3Client } from '../core/storage/s3/s3-client.ts';
import { startLocalAwsServer } from './aws-local-servers.ts';
import { startRgwCluster } from './ceph-rgw.ts';

const { values } = parseArgs({
  options: {
    name: { type: 'string', default: 'cirrus' },
    'memstore-gib': { type: 'string', default: '8' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(`usage: npm run rgw -- [--name cirrus] [--memstore-gib 8]
Starts a one-node Ceph cluster with a RADOS Gateway (S3) and a dynalite (DynamoDB) on 127.0.0.1,
creates the table and the bucket <name>, and prints the environment for CIRRUS_BACKEND=aws.
Needs the Debian packages ceph-mon ceph-osd radosgw ceph-common; runs as root. Ctrl-C stops it.`);
  process.exit(0);
}

const dynamoDir = await mkdtemp(join(tmpdir(), 'cirrus-dynalite-'));
const [rgw, dynamo] = await Promise.all([
  startRgwCluster({ memstoreBytes: Number(values['memstore-gib']) * 1024 ** 3 }),
  startLocalAwsServer('dynalite', dynamoDir, { removeOnOrphan: true }),
]);
const stop = async () => {
  await Promise.allSettled([rgw.stop(), dynamo.stop()]);
  await rm(dynamoDir, { recursive: true, force: true });
};
process.once('SIGINT', () => void stop().then(() => process.exit(0)));
process.once('SIGTERM', () => void stop().then(() => process.exit(0)));

try {
  const name = values.name;
  const s3 = createS3Client({ endpoint: rgw.endpoint, region: rgw.region, credentials: rgw.credentials, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: name }));
  const dynamoClient = new DynamoDBClient({ endpoint: dynamo.endpoint, region: rgw.region, credentials: rgw.credentials });
  await new DynamoDbTable({ client: dynamoClient, tableName: name }).createTableIfMissing();
  const env = {
    CIRRUS_BACKEND: 'aws',
    CIRRUS_TABLE: name,
    CIRRUS_BUCKET: name,
    AWS_ENDPOINT_URL_S3: rgw.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: rgw.region,
    AWS_ACCESS_KEY_ID: rgw.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: rgw.credentials.secretAccessKey,
  };
  const envFile = join(rgw.dir, 'env');
  const lines = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  await writeFile(envFile, `${lines.join('\n')}\n`);
  console.log(`Ceph RGW ready in ${(rgw.startMs / 1000).toFixed(1)} s at ${rgw.endpoint} (pids ${rgw.pids.join(', ')}, RSS ${Math.round((await rgw.rss()) / 2 ** 20)} MiB); dynalite at ${dynamo.endpoint} (pid ${dynamo.pid})`);
  console.log(`\nRun the local host on it (another shell):\n  set -a; . ${envFile}; set +a; npm start\n\nor:\n${lines.map((l) => `  export ${l}`).join('\n')}\n\nCtrl-C stops the cluster and deletes its data.`);
} catch (error) {
  await stop();
  throw error;
}
