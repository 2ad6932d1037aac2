/**
 * The registry function's configuration (Lambda and the upload service on ECS alike), read once at
 * cold start from the environment infra sets (the contract: core/config/env.ts), into a frozen object. Secrets are never in the
 * environment: only the ARNs of the Secrets Manager secrets that hold them.
 */
import { parseEnv, registryFunctionEnv } from '../../core/config/env.ts';


export type FunctionConfig = Readonly<{
  table: string;
  bucket: string;
  publicUrl?: string;
  hashMode: 'fast' | 'resumable';
  uploadTtlSeconds: number;
  signedUrlSeconds: number;
  /** Undefined only when CIRRUS_ORIGIN_LOCK=off. */
  originSecretArn?: string;
  auth: Readonly<{ enabled: boolean; signingKeySecretArn?: string; service: string; issuer: string; tokenTtlSeconds: number; refreshTokenTtlSeconds: number }>;
  secretsTtlSeconds: number;
  metricsNamespace: string;
  service: string;
  spoolDir: string;
  port: number;
}>;

export function readFunctionConfig(env: NodeJS.ProcessEnv = process.env): FunctionConfig {
  const e = parseEnv(registryFunctionEnv, env);
  if (e.CIRRUS_ORIGIN_LOCK === 'on' && !e.CIRRUS_ORIGIN_SECRET_ARN) {
    throw new Error('invalid configuration: CIRRUS_ORIGIN_SECRET_ARN is required (CIRRUS_ORIGIN_LOCK=off only in tests)');
  }
  if (e.CIRRUS_AUTH === 'on' && !e.CIRRUS_SIGNING_KEY_SECRET_ARN) {
    throw new Error('invalid configuration: CIRRUS_SIGNING_KEY_SECRET_ARN is required while CIRRUS_AUTH=on');
  }
  return Object.freeze({
    table: e.CIRRUS_TABLE,
    bucket: e.CIRRUS_BUCKET,
    publicUrl: e.CIRRUS_PUBLIC_URL,
    hashMode: e.CIRRUS_HASH_MODE,
    uploadTtlSeconds: e.CIRRUS_UPLOAD_TTL_SECONDS,
    signedUrlSeconds: e.CIRRUS_SIGNED_URL_SECONDS,
    originSecretArn: e.CIRRUS_ORIGIN_LOCK === 'on' ? e.CIRRUS_ORIGIN_SECRET_ARN : undefined,
    auth: Object.freeze({
      enabled: e.CIRRUS_AUTH === 'on',
      signingKeySecretArn: e.CIRRUS_SIGNING_KEY_SECRET_ARN,
      service: e.CIRRUS_AUTH_SERVICE,
      issuer: e.CIRRUS_AUTH_ISSUER,
      tokenTtlSeconds: e.CIRRUS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: e.CIRRUS_REFRESH_TOKEN_TTL_SECONDS,
    }),
    secretsTtlSeconds: e.CIRRUS_SECRETS_TTL_SECONDS,
    metricsNamespace: e.CIRRUS_METRICS_NAMESPACE,
    service: e.CIRRUS_SERVICE,
    spoolDir: e.CIRRUS_SPOOL_DIR,
    port: e.PORT,
  });
}
