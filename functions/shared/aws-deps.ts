/**
 * The registry's ports on AWS, for Lambda functions: configuration read once from the
 * environment (core/config/env.ts) into a frozen object, clients built once per cold start.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { gcTaskEnv, parseEnv } from '../../core/config/env.ts';
import { jsonLogger } from '../../core/http/logger.ts';
import { defaultSettings, type RegistryDeps } from '../../core/registry/index.ts';
import type { Regions } from '../../core/replication/region.ts';
import { DynamoDbTable } from '../../core/storage/dynamodb/dynamodb-table.ts';
import { createS3Client } from '../../core/storage/s3/s3-client.ts';
import { S3ObjectStore } from '../../core/storage/s3/s3-object-store.ts';


export function awsDeps(env: NodeJS.ProcessEnv = process.env): RegistryDeps {
  const config = Object.freeze(parseEnv(gcTaskEnv, env));
  return {
    table: new DynamoDbTable({ client: new DynamoDBClient({}), tableName: config.CIRRUS_TABLE }),
    objects: new S3ObjectStore({ client: createS3Client({}), bucket: config.CIRRUS_BUCKET, spoolDir: '/tmp' }),
    settings: { ...defaultSettings, uploadTtlSeconds: config.CIRRUS_UPLOAD_TTL_SECONDS },
    now: Date.now,
  };
}

/**
 * Other Cirrus regions, for replication rules to `cirrus-region://<table>/<bucket>?region=…`:
 * clients of the target's region, one per region; the copies' source is this region's bucket.
 * The S3 client follows a bucket's region when it is another (the source, named in a copy).
 */
export function awsRegions(env: NodeJS.ProcessEnv = process.env): Regions {
  const config = Object.freeze(parseEnv(gcTaskEnv, env));
  const clients = new Map<string, { dynamo: DynamoDBClient; s3: ReturnType<typeof createS3Client> }>();
  return {
    sourceBucket: config.CIRRUS_BUCKET,
    open(target) {
      const region = target.region ?? '';
      let c = clients.get(region);
      if (!c) {
        const where = target.region ? { region: target.region } : {};
        c = { dynamo: new DynamoDBClient(where), s3: createS3Client({ ...where, followRegionRedirects: true }) };
        clients.set(region, c);
      }
      return {
        table: new DynamoDbTable({ client: c.dynamo, tableName: target.table }),
        objects: new S3ObjectStore({ client: c.s3, bucket: target.bucket, spoolDir: '/tmp' }),
      };
    },
  };
}

// Written at once, not batched: a task's process may be frozen as soon as its handler returns.
const log = jsonLogger((line) => process.stdout.write(line));

/** One JSON line per deletion (or would-be deletion in a dry run), for CloudWatch Logs. */
export function logDeletion(event: object): void {
  log.info('gc.delete', { ...event });
}

/** Builds the handler on first use, so importing the module (tests, local runs) reads no environment. */
export function lazy<I, O>(build: () => (input: I) => Promise<O>): (input: I) => Promise<O> {
  let handler: ((input: I) => Promise<O>) | undefined;
  return (input) => (handler ??= build())(input);
}
