/** The local host's configuration: read once from the environment (core/config/env.ts) into a frozen object. */
import { resolve } from 'node:path';
import { localHostEnv, parseEnv } from '../core/config/env.ts';


export type LocalConfig = Readonly<{
  host: string;
  port: number;
  dataDir: string;
  publicUrl?: string;
  backend: 'embedded' | 'aws-local' | 'aws';
  /** DynamoDB table and S3 bucket of the aws backends. */
  table?: string;
  bucket?: string;
  hashMode: 'fast' | 'resumable';
  uploadTtlSeconds: number;
  logRequests: boolean;
  lambdaLimits: boolean;
  /** How long a client may take to send a request head before it is answered 408 and cut off. */
  headersTimeoutMs: number;
  /** A request body that sends nothing this long is cut off, releasing its upload's lease. */
  bodyIdleMs: number;
  auth: Readonly<{
    enabled: boolean;
    /** Only read at first start, to create the user admin. */
    adminPassword?: string;
    service: string;
    issuer: string;
    /** PEM (PKCS#8) or JWK of the ES256 signing key; generated into the data dir when unset. */
    signingKey?: string;
    tokenTtlSeconds: number;
    refreshTokenTtlSeconds: number;
  }>;
}>;

export function readConfig(env: NodeJS.ProcessEnv = process.env): LocalConfig {
  const e = parseEnv(localHostEnv, env);
  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    dataDir: resolve(e.CIRRUS_DATA_DIR),
    publicUrl: e.CIRRUS_PUBLIC_URL,
    backend: e.CIRRUS_BACKEND,
    table: e.CIRRUS_TABLE,
    bucket: e.CIRRUS_BUCKET,
    hashMode: e.CIRRUS_HASH_MODE,
    uploadTtlSeconds: e.CIRRUS_UPLOAD_TTL_SECONDS,
    logRequests: e.CIRRUS_LOG_REQUESTS === '1',
    lambdaLimits: e.CIRRUS_LAMBDA_LIMITS === '1',
    headersTimeoutMs: e.CIRRUS_HEADERS_TIMEOUT_MS,
    bodyIdleMs: e.CIRRUS_BODY_IDLE_MS,
    auth: Object.freeze({
      enabled: e.CIRRUS_AUTH === 'on',
      adminPassword: e.CIRRUS_ADMIN_PASSWORD,
      service: e.CIRRUS_AUTH_SERVICE,
      issuer: e.CIRRUS_AUTH_ISSUER,
      signingKey: e.CIRRUS_AUTH_SIGNING_KEY,
      tokenTtlSeconds: e.CIRRUS_TOKEN_TTL_SECONDS,
      refreshTokenTtlSeconds: e.CIRRUS_REFRESH_TOKEN_TTL_SECONDS,
    }),
  });
}

/**
 * Node enforces headersTimeout only when it sweeps its connections (every 30 s by default), so a
 * slow client could hold a connection for twice the timeout; sweep at a tenth of it instead.
 */
export function headersCheckIntervalMs(headersTimeoutMs: number): number {
  return Math.min(30_000, Math.max(50, Math.round(headersTimeoutMs / 10)));
}
