/**
 * The registry's ports on AWS, for Lambda functions: configuration read once from the
 * environment (zod) into a frozen object, clients built once per cold start.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { z } from '../../core/config/env-schema.ts';
import { defaultSettings, type RegistryDeps } from '../../core/registry/index.ts';
import { DynamoDbTable } from '../../core/storage/dynamodb/dynamodb-table.ts';
import { createS3Client } from '../../core/storage/s3/s3-client.ts';
import { S3ObjectStore } from '../../core/storage/s3/s3-object-store.ts';

const schema = z.object({
  CIRRUS_TABLE: z.string().min(1),
  CIRRUS_BUCKET: z.string().min(1),
  CIRRUS_UPLOAD_TTL_SECONDS: z.coerce.number().int().positive().default(defaultSettings.uploadTtlSeconds),
});

export function awsDeps(env: NodeJS.ProcessEnv = process.env): RegistryDeps {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const config = Object.freeze(parsed.data);
  return {
    table: new DynamoDbTable({ client: new DynamoDBClient({}), tableName: config.CIRRUS_TABLE }),
    objects: new S3ObjectStore({ client: createS3Client({}), bucket: config.CIRRUS_BUCKET, spoolDir: '/tmp' }),
    settings: { ...defaultSettings, uploadTtlSeconds: config.CIRRUS_UPLOAD_TTL_SECONDS },
    now: Date.now,
  };
}

/** One JSON line per deletion (or would-be deletion in a dry run), for CloudWatch Logs. */
export function logDeletion(event: object): void {
  console.log(JSON.stringify({ level: 'info', event: 'gc.delete', ...event }));
}

/** Builds the handler on first use, so importing the module (tests, local runs) reads no environment. */
export function lazy<I, O>(build: () => (input: I) => Promise<O>): (input: I) => Promise<O> {
  let handler: ((input: I) => Promise<O>) | undefined;
  return (input) => (handler ??= build())(input);
}
