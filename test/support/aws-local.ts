/**
 * Local servers that speak the AWS protocols, for the AWS adapters' tests: dynalite (DynamoDB on
 * LevelDB) and s3rver (S3 on the filesystem). Each runs as a child process on 127.0.0.1 with a
 * free port and a temp directory of its own; if the test process dies, the child notices (its
 * stdin, a pipe the parent holds, closes), removes its directory and exits. Clients come from the
 * factories below: region us-east-1, credentials S3RVER/S3RVER (the only key pair s3rver knows;
 * dynalite takes any), path-style S3, checksums only where required (createS3Client).
 *
 * s3rver runs with --openssl-legacy-provider: it encrypts its ListObjectsV2 continuation tokens
 * with DES, which Node 22's OpenSSL 3 refuses otherwise, so any truncated listing would fail.
 *
 * Gaps of these servers (the contract tests, and the parity suites on the aws-local project,
 * skip by name and with the reason what they block):
 * - s3rver 3.7: no AbortMultipartUpload (405), ListParts or UploadPartCopy; no 5 MiB part
 *   minimum; part ETags and the upload's key are not checked at completion; SigV4 signatures are
 *   not verified (only the access key id and the expiry); objects are written in place, so an
 *   aborted PUT leaves a partial object; tags survive a PUT or DELETE of their key; listings
 *   come in directory-walk order; Range `bytes=0-0` serves the whole object, suffix ranges are
 *   misread, and a range of an empty object is an empty 206.
 * - dynalite 4: no transactions, TTL or streams; a map key `__proto__` is silently dropped (the
 *   adapter stores it escaped).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { startLocalAwsServer } from '../../bin/aws-local-servers.ts';
import { createS3Client } from '../../core/storage/s3/s3-client.ts';
import { cleanUp, makeTempDir, removeTree } from './tmp.ts';

export const LOCAL_REGION = 'us-east-1';
/** s3rver accepts only this key pair; dynalite accepts any. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface LocalServer {
  endpoint: string;
  stop(): Promise<void>;
}

export interface LocalDynamo extends LocalServer {
  client(): DynamoDBClient;
}

export interface LocalS3 extends LocalServer {
  /** s3rver's directory: `<dir>/<bucket>/…`, for tests that look at what S3 has no API for here. */
  dir: string;
  client(): S3Client;
}

export interface AwsLocal {
  dynamodbEndpoint: string;
  s3Endpoint: string;
  /** s3rver's directory (see LocalS3). */
  s3Dir: string;
  dynamodbClient(): DynamoDBClient;
  s3Client(): S3Client;
  stop(): Promise<void>;
}

/** Both servers. */
export async function startAwsLocal(): Promise<AwsLocal> {
  const [dynamo, s3] = await Promise.allSettled([startDynalite(), startS3rver()]);
  if (dynamo.status === 'rejected' || s3.status === 'rejected') {
    await cleanUp(
      dynamo.status === 'fulfilled' ? dynamo.value.stop : undefined,
      s3.status === 'fulfilled' ? s3.value.stop : undefined,
    );
    throw dynamo.status === 'rejected' ? dynamo.reason : (s3 as PromiseRejectedResult).reason;
  }
  return {
    dynamodbEndpoint: dynamo.value.endpoint,
    s3Endpoint: s3.value.endpoint,
    s3Dir: s3.value.dir,
    dynamodbClient: () => dynamo.value.client(),
    s3Client: () => s3.value.client(),
    stop: () => cleanUp(dynamo.value.stop, s3.value.stop),
  };
}

let shared: Promise<AwsLocal> | undefined;

/**
 * One pair for this test worker process, started on first use and never stopped: the children
 * exit, removing their directories, when the worker does (see startLocalAwsServer). Callers keep
 * apart by table and bucket names of their own.
 */
export function sharedAwsLocal(): Promise<AwsLocal> {
  shared ??= startAwsLocal().catch((error: unknown) => {
    shared = undefined;
    throw error;
  });
  return shared;
}

/** dynalite on LevelDB in a temp directory; tables become ACTIVE at once. */
export async function startDynalite(): Promise<LocalDynamo> {
  const dir = await makeTempDir('dynalite');
  const server = await startLocalAwsServer('dynalite', dir, { removeOnOrphan: true }).catch(
    async (error: unknown) => {
      await removeTree(dir);
      throw error;
    },
  );
  return {
    endpoint: server.endpoint,
    client: () => dynamodbClient(server.endpoint),
    stop: () => cleanUp(server.stop).finally(() => removeTree(dir)),
  };
}

/** s3rver on a temp directory; buckets are created by the tests (CreateBucket). */
export async function startS3rver(): Promise<LocalS3> {
  const dir = await makeTempDir('s3rver');
  const server = await startLocalAwsServer('s3rver', dir, { removeOnOrphan: true }).catch(async (error: unknown) => {
    await removeTree(dir);
    throw error;
  });
  return {
    endpoint: server.endpoint,
    dir,
    client: () => s3Client(server.endpoint),
    stop: () => cleanUp(server.stop).finally(() => removeTree(dir)),
  };
}

export function dynamodbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 3 });
}

export function s3Client(endpoint: string): S3Client {
  return createS3Client({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, forcePathStyle: true, maxAttempts: 3 });
}
