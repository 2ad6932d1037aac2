/**
 * The origin runtime over AWS: the DynamoDB table, the S3 bucket, the origin secret and the token
 * signing key from Secrets Manager. The key is read again after the secrets' cache lifetime, and
 * the app rebuilt when its version changed, so a key rotation needs no redeploy of the origins.
 */
import { createHostAuth, importSigningKey } from '../../core/auth/index.ts';
import type { AppDeps, Logger, MetricsSink } from '../../core/http/index.ts';
import { defaultSettings, Registry } from '../../core/registry/index.ts';
import { lazyObjectStore, lazyTable } from '../../core/storage/lazy.ts';
import { s3Limits } from '../../core/storage/s3/limits.ts';
import type { FunctionConfig } from './config.ts';
import { secretOriginLock } from './origin-lock.ts';
import { ConfigurationError, type OriginRuntime } from './runtime.ts';
import { CachedSecret, secretsManagerClient, secretsManagerSource } from './secrets.ts';

export function createAwsRuntime(config: FunctionConfig, log: Required<Logger>, metrics?: MetricsSink): OriginRuntime {
  // The AWS SDK is evaluated when a request first needs it, not at cold start (core/storage/lazy.ts).
  const table = lazyTable(async () => {
    const [{ DynamoDBClient }, { DynamoDbTable }] = await Promise.all([import('@aws-sdk/client-dynamodb'), import('../../core/storage/dynamodb/dynamodb-table.ts')]);
    return new DynamoDbTable({ client: new DynamoDBClient({}), tableName: config.table });
  });
  const objects = lazyObjectStore(s3Limits(), async () => {
    const [{ createS3Client }, { S3ObjectStore }] = await Promise.all([import('../../core/storage/s3/s3-client.ts'), import('../../core/storage/s3/s3-object-store.ts')]);
    return new S3ObjectStore({ client: createS3Client({}), bucket: config.bucket, spoolDir: config.spoolDir });
  });
  const registry = new Registry({
    table,
    objects,
    settings: { ...defaultSettings, hashMode: config.hashMode, uploadTtlSeconds: config.uploadTtlSeconds, signedUrlSeconds: config.signedUrlSeconds },
    now: Date.now,
  });
  const secrets = secretsManagerClient();
  const ttlMs = config.secretsTtlSeconds * 1000;
  const originLock = config.originSecretArn
    ? secretOriginLock(new CachedSecret(secretsManagerSource(secrets, config.originSecretArn), ttlMs, Date.now, ['AWSCURRENT', 'AWSPREVIOUS']))
    : undefined;
  const base: AppDeps = { registry, log, http: { publicUrl: config.publicUrl }, metrics };
  if (!config.auth.enabled) {
    log.warn('auth-off', { message: 'CIRRUS_AUTH=off: access control is OFF on this origin' });
    return { deps: async () => base, originLock, log };
  }

  const keySecret = new CachedSecret(secretsManagerSource(secrets, config.auth.signingKeySecretArn!), ttlMs);
  let built: { versionId: string; deps: AppDeps } | undefined;
  return {
    originLock,
    log,
    async deps() {
      const version = await keySecret.current();
      if (!version) throw new ConfigurationError('the signing key secret has no value; see README "Deploy to AWS"');
      if (built?.versionId === version.versionId) return built.deps;
      let key;
      try {
        key = await importSigningKey(version.value);
      } catch (error) {
        throw new ConfigurationError(`the signing key secret holds no ES256 private key (${(error as Error).message}); see README "Deploy to AWS"`);
      }
      const auth = createHostAuth(table, key, config.auth, (event) => log.info('audit', { ...event }));
      if (built) log.info('signing-key-rotated', { kid: key.kid });
      built = { versionId: version.versionId, deps: { ...base, auth } };
      return built.deps;
    },
  };
}
