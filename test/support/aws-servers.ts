/**
 * Local servers that speak the AWS protocols, for the AWS adapters' tests: dynalite (DynamoDB on
 * LevelDB) and Ceph's RADOS Gateway (S3 on a throwaway Ceph cluster, bin/ceph-rgw.ts). The
 * `aws-rgw` project starts one of each for the whole run (aws-rgw-setup.ts); `awsServers()` names
 * them inside a test, and the factories below make clients: region us-east-1, the cluster's S3
 * user's key pair (dynalite takes any), path-style S3, checksums only where required
 * (createS3Client). The DynamoDB table contract starts a dynalite of its own (`startDynalite`).
 *
 * Gaps of these servers, against the real services (README, "Testing"):
 * - RGW (Ceph 16): after AbortMultipartUpload, ListParts answers 404 NoSuchKey and
 *   CompleteMultipartUpload 500 "already in progress" where S3 answers NoSuchUpload; the
 *   CompleteMultipartUpload response carries an empty ETag; a signature for another region and an
 *   unsigned `x-amz-meta-*` header added after signing are accepted.
 * - dynalite 4: no transactions, TTL or streams; a map key `__proto__` is silently dropped (the
 *   adapter stores it escaped).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { startLocalAwsServer } from '../../bin/aws-local-servers.ts';
import { createS3Client } from '../../core/storage/s3/s3-client.ts';
import type { AwsServers } from './aws-rgw-setup.ts';
import { cleanUp, makeTempDir, removeTree } from './tmp.ts';

export type { AwsServers } from './aws-rgw-setup.ts';

export const LOCAL_REGION = 'us-east-1';

export interface LocalDynamo {
  endpoint: string;
  client(): DynamoDBClient;
  stop(): Promise<void>;
}

/** The run's RGW and dynalite (the aws-rgw project's; elsewhere this throws). */
export function awsServers(): AwsServers {
  const servers = inject('awsServers');
  if (!servers) throw new Error('no RGW and dynalite here: this test runs in the aws-rgw project (vitest --project aws-rgw)');
  return servers;
}

/** A client of the run's RGW. */
export function rgwS3Client(servers = awsServers()): S3Client {
  return createS3Client({
    endpoint: servers.s3Endpoint,
    region: servers.region,
    credentials: { accessKeyId: servers.accessKeyId, secretAccessKey: servers.secretAccessKey },
    forcePathStyle: true,
    maxAttempts: 3,
  });
}

/** A client of the run's dynalite. */
export function sharedDynamoClient(servers = awsServers()): DynamoDBClient {
  return dynamodbClient(servers.dynamodbEndpoint);
}

/** dynalite on LevelDB in a temp directory; tables become ACTIVE at once. */
export async function startDynalite(): Promise<LocalDynamo> {
  const dir = await makeTempDir('dynalite');
  const server = await startLocalAwsServer('dynalite', dir, { removeOnOrphan: true }).catch(async (error: unknown) => {
    await removeTree(dir);
    throw error;
  });
  return {
    endpoint: server.endpoint,
    client: () => dynamodbClient(server.endpoint),
    stop: () => cleanUp(server.stop).finally(() => removeTree(dir)),
  };
}

export function dynamodbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 3 });
}
