/** The local host's configuration: read once from the environment into a frozen object. */
import { resolve } from 'node:path';
import { z } from '../core/config/env-schema.ts';

const schema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(5000),
  CIRRUS_DATA_DIR: z.string().default('.cirrus-data'),
  CIRRUS_PUBLIC_URL: z.url().optional(),
  CIRRUS_BACKEND: z.enum(['embedded', 'aws-local', 'aws']).default('embedded'),
  CIRRUS_TABLE: z.string().min(1).optional(),
  CIRRUS_BUCKET: z.string().min(1).optional(),
  CIRRUS_HASH_MODE: z.enum(['fast', 'resumable']).default('fast'),
  CIRRUS_UPLOAD_TTL_SECONDS: z.coerce.number().int().positive().default(24 * 3600),
  CIRRUS_LOG_REQUESTS: z.enum(['0', '1']).default('1'),
  CIRRUS_LAMBDA_LIMITS: z.enum(['0', '1']).default('0'),
  CIRRUS_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  CIRRUS_BODY_IDLE_MS: z.coerce.number().int().min(100).default(120_000),
  CIRRUS_AUTH: z.enum(['on', 'off']).default('on'),
  CIRRUS_ADMIN_PASSWORD: z.string().optional(),
  CIRRUS_AUTH_SERVICE: z.string().min(1).default('cirrus'),
  CIRRUS_AUTH_ISSUER: z.string().min(1).default('cirrus'),
  CIRRUS_AUTH_SIGNING_KEY: z.string().optional(),
  CIRRUS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(24 * 3600).default(300),
  CIRRUS_REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(365 * 86_400).default(30 * 86_400),
});

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
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
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
