/**
 * The registry function's configuration (Lambda and the upload service on ECS alike), read once at
 * cold start from the environment infra sets, into a frozen object. Secrets are never in the
 * environment: only the ARNs of the Secrets Manager secrets that hold them.
 */
import { z } from '../../core/config/env-schema.ts';

const schema = z.object({
  CIRRUS_TABLE: z.string().min(1),
  CIRRUS_BUCKET: z.string().min(1),
  CIRRUS_PUBLIC_URL: z.url().optional(),
  CIRRUS_HASH_MODE: z.enum(['fast', 'resumable']).default('resumable'),
  CIRRUS_UPLOAD_TTL_SECONDS: z.coerce.number().int().positive().default(24 * 3600),
  CIRRUS_SIGNED_URL_SECONDS: z.coerce.number().int().min(30).max(7 * 86_400).default(300),
  /** The secret CloudFront sends in x-cirrus-origin-secret; `CIRRUS_ORIGIN_LOCK=off` only for tests. */
  CIRRUS_ORIGIN_SECRET_ARN: z.string().min(1).optional(),
  CIRRUS_ORIGIN_LOCK: z.enum(['on', 'off']).default('on'),
  CIRRUS_AUTH: z.enum(['on', 'off']).default('on'),
  /** Holds the ES256 private key (JWK or PKCS#8 PEM) that signs tokens. */
  CIRRUS_SIGNING_KEY_SECRET_ARN: z.string().min(1).optional(),
  CIRRUS_AUTH_SERVICE: z.string().min(1).default('cirrus'),
  CIRRUS_AUTH_ISSUER: z.string().min(1).default('cirrus'),
  CIRRUS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(30).max(24 * 3600).default(300),
  CIRRUS_REFRESH_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(365 * 86_400).default(30 * 86_400),
  /** How long secrets are cached before they are read again (rotation takes effect within it). */
  CIRRUS_SECRETS_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).default(300),
  CIRRUS_METRICS_NAMESPACE: z.string().min(1).default('Cirrus'),
  /** The Service dimension of metrics and the `service` of log lines. */
  CIRRUS_SERVICE: z.string().min(1).default('registry'),
  CIRRUS_SPOOL_DIR: z.string().min(1).default('/tmp'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
});

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
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
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
