/**
 * The one configuration contract: every environment variable a Cirrus process reads, its zod
 * fragment, and the schema of each process that reads it — the local host and the CLI
 * (bin/config.ts), the registry function and upload service (functions/registry/config.ts), the
 * GC task functions (functions/shared/aws-deps.ts) — and the CDK stack writes its environments
 * through `environmentFor`, so a name it sets is one a schema reads (checked by the compiler, and
 * by test/infra/environment.test.ts, which parses what the stack synthesises).
 *
 * Pure on purpose: names and zod only, no runtime code, so infra/ may import it (infra otherwise
 * names entry files only). Fragments carry no defaults: the processes differ (the local host
 * hashes `fast`, Lambda `resumable`; ports 5000 and 8080), so each schema sets its own.
 * The edge handler has no environment (Lambda@Edge): its configuration is baked, see edge/viewer-request/config.ts.
 */
import { z } from 'zod';

const seconds = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const onOff = z.enum(['on', 'off']);
const zeroOne = z.enum(['0', '1']);

/** Each variable's type, once. */
export const envFragments = {
  HOST: z.string(),
  PORT: z.coerce.number().int().min(0).max(65535),
  CIRRUS_DATA_DIR: z.string(),
  CIRRUS_BACKEND: z.enum(['embedded', 'aws-local', 'aws']),
  /** DynamoDB table and S3 bucket. */
  CIRRUS_TABLE: z.string().min(1),
  CIRRUS_BUCKET: z.string().min(1),
  /** The viewers' base URL: every Location, Link and token realm is built on it. */
  CIRRUS_PUBLIC_URL: z.url(),
  CIRRUS_HASH_MODE: z.enum(['fast', 'resumable']),
  CIRRUS_UPLOAD_TTL_SECONDS: z.coerce.number().int().positive(),
  CIRRUS_SIGNED_URL_SECONDS: seconds(30, 7 * 86_400),
  CIRRUS_LOG_REQUESTS: zeroOne,
  CIRRUS_LAMBDA_LIMITS: zeroOne,
  CIRRUS_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100),
  CIRRUS_BODY_IDLE_MS: z.coerce.number().int().min(100),
  CIRRUS_AUTH: onOff,
  /** Only read at first start, to create the user admin. */
  CIRRUS_ADMIN_PASSWORD: z.string(),
  CIRRUS_AUTH_SERVICE: z.string().min(1),
  CIRRUS_AUTH_ISSUER: z.string().min(1),
  /** PEM (PKCS#8) or JWK of the ES256 signing key (local host; the functions read it from a secret). */
  CIRRUS_AUTH_SIGNING_KEY: z.string(),
  /** Holds the ES256 private key (JWK or PKCS#8 PEM) that signs tokens. */
  CIRRUS_SIGNING_KEY_SECRET_ARN: z.string().min(1),
  CIRRUS_TOKEN_TTL_SECONDS: seconds(30, 24 * 3600),
  CIRRUS_REFRESH_TOKEN_TTL_SECONDS: seconds(60, 365 * 86_400),
  /** The secret CloudFront sends in x-cirrus-origin-secret. */
  CIRRUS_ORIGIN_SECRET_ARN: z.string().min(1),
  /** `off` only for tests. */
  CIRRUS_ORIGIN_LOCK: onOff,
  /** How long secrets are cached before they are read again (rotation takes effect within it). */
  CIRRUS_SECRETS_TTL_SECONDS: seconds(0, 3600),
  CIRRUS_METRICS_NAMESPACE: z.string().min(1),
  /** The Service dimension of metrics and the `service` of log lines. */
  CIRRUS_SERVICE: z.string().min(1),
  CIRRUS_SPOOL_DIR: z.string().min(1),
  /** The local host's replication triggers (on push, schedules, reconciliation); `off` leaves rules to `cirrus replication run`. */
  CIRRUS_REPLICATION: onOff,
  /** How long pushes are gathered before a run starts. */
  CIRRUS_REPLICATION_DEBOUNCE_MS: z.coerce.number().int().min(0).max(60_000),
  /** How often each push rule walks source and destination to repair lost triggers. */
  CIRRUS_REPLICATION_RECONCILE_SECONDS: seconds(1),
  /** A fixed wait between retries inside a run, in place of the state machine's back-off (tests). */
  CIRRUS_REPLICATION_RETRY_MS: z.coerce.number().int().min(0),
  /** How often schedules and reconciliation are checked. */
  CIRRUS_REPLICATION_TICK_MS: z.coerce.number().int().min(100),
} as const;

export type EnvName = keyof typeof envFragments;

const f = envFragments;
const DAY = 24 * 3600;

/** The local host (`npm start`) and the `cirrus` CLI. */
export const localHostEnv = z.object({
  HOST: f.HOST.default('127.0.0.1'),
  PORT: f.PORT.default(5000),
  CIRRUS_DATA_DIR: f.CIRRUS_DATA_DIR.default('.cirrus-data'),
  CIRRUS_PUBLIC_URL: f.CIRRUS_PUBLIC_URL.optional(),
  CIRRUS_BACKEND: f.CIRRUS_BACKEND.default('embedded'),
  CIRRUS_TABLE: f.CIRRUS_TABLE.optional(),
  CIRRUS_BUCKET: f.CIRRUS_BUCKET.optional(),
  CIRRUS_HASH_MODE: f.CIRRUS_HASH_MODE.default('fast'),
  CIRRUS_UPLOAD_TTL_SECONDS: f.CIRRUS_UPLOAD_TTL_SECONDS.default(DAY),
  CIRRUS_LOG_REQUESTS: f.CIRRUS_LOG_REQUESTS.default('1'),
  CIRRUS_LAMBDA_LIMITS: f.CIRRUS_LAMBDA_LIMITS.default('0'),
  CIRRUS_HEADERS_TIMEOUT_MS: f.CIRRUS_HEADERS_TIMEOUT_MS.default(30_000),
  CIRRUS_BODY_IDLE_MS: f.CIRRUS_BODY_IDLE_MS.default(120_000),
  CIRRUS_AUTH: f.CIRRUS_AUTH.default('on'),
  CIRRUS_ADMIN_PASSWORD: f.CIRRUS_ADMIN_PASSWORD.optional(),
  CIRRUS_AUTH_SERVICE: f.CIRRUS_AUTH_SERVICE.default('cirrus'),
  CIRRUS_AUTH_ISSUER: f.CIRRUS_AUTH_ISSUER.default('cirrus'),
  CIRRUS_AUTH_SIGNING_KEY: f.CIRRUS_AUTH_SIGNING_KEY.optional(),
  CIRRUS_TOKEN_TTL_SECONDS: f.CIRRUS_TOKEN_TTL_SECONDS.default(300),
  CIRRUS_REFRESH_TOKEN_TTL_SECONDS: f.CIRRUS_REFRESH_TOKEN_TTL_SECONDS.default(30 * DAY),
});

/** The local host's replication triggers (bin/replication-host.ts), read beside localHostEnv. */
export const localReplicationEnv = z.object({
  CIRRUS_REPLICATION: f.CIRRUS_REPLICATION.default('on'),
  CIRRUS_REPLICATION_DEBOUNCE_MS: f.CIRRUS_REPLICATION_DEBOUNCE_MS.default(250),
  CIRRUS_REPLICATION_RECONCILE_SECONDS: f.CIRRUS_REPLICATION_RECONCILE_SECONDS.default(3600),
  CIRRUS_REPLICATION_RETRY_MS: f.CIRRUS_REPLICATION_RETRY_MS.optional(),
  CIRRUS_REPLICATION_TICK_MS: f.CIRRUS_REPLICATION_TICK_MS.default(5_000),
});

/** The registry function on Lambda and the upload service on ECS. Secrets: only their ARNs. */
export const registryFunctionEnv = z.object({
  CIRRUS_TABLE: f.CIRRUS_TABLE,
  CIRRUS_BUCKET: f.CIRRUS_BUCKET,
  CIRRUS_PUBLIC_URL: f.CIRRUS_PUBLIC_URL.optional(),
  CIRRUS_HASH_MODE: f.CIRRUS_HASH_MODE.default('resumable'),
  CIRRUS_UPLOAD_TTL_SECONDS: f.CIRRUS_UPLOAD_TTL_SECONDS.default(DAY),
  CIRRUS_SIGNED_URL_SECONDS: f.CIRRUS_SIGNED_URL_SECONDS.default(300),
  CIRRUS_ORIGIN_SECRET_ARN: f.CIRRUS_ORIGIN_SECRET_ARN.optional(),
  CIRRUS_ORIGIN_LOCK: f.CIRRUS_ORIGIN_LOCK.default('on'),
  CIRRUS_AUTH: f.CIRRUS_AUTH.default('on'),
  CIRRUS_SIGNING_KEY_SECRET_ARN: f.CIRRUS_SIGNING_KEY_SECRET_ARN.optional(),
  CIRRUS_AUTH_SERVICE: f.CIRRUS_AUTH_SERVICE.default('cirrus'),
  CIRRUS_AUTH_ISSUER: f.CIRRUS_AUTH_ISSUER.default('cirrus'),
  CIRRUS_TOKEN_TTL_SECONDS: f.CIRRUS_TOKEN_TTL_SECONDS.default(300),
  CIRRUS_REFRESH_TOKEN_TTL_SECONDS: f.CIRRUS_REFRESH_TOKEN_TTL_SECONDS.default(30 * DAY),
  CIRRUS_SECRETS_TTL_SECONDS: f.CIRRUS_SECRETS_TTL_SECONDS.default(300),
  CIRRUS_METRICS_NAMESPACE: f.CIRRUS_METRICS_NAMESPACE.default('Cirrus'),
  CIRRUS_SERVICE: f.CIRRUS_SERVICE.default('registry'),
  CIRRUS_SPOOL_DIR: f.CIRRUS_SPOOL_DIR.default('/tmp'),
  PORT: f.PORT.default(8080),
});

/** The GC and replication task functions (Step Functions tasks). */
export const gcTaskEnv = z.object({
  CIRRUS_TABLE: f.CIRRUS_TABLE,
  CIRRUS_BUCKET: f.CIRRUS_BUCKET,
  CIRRUS_UPLOAD_TTL_SECONDS: f.CIRRUS_UPLOAD_TTL_SECONDS.default(DAY),
});

/** Parses an environment with a schema, or throws one message naming every bad variable. */
export function parseEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/**
 * An environment as infra writes it: only names the schema reads (a typo does not compile),
 * every value a string (CloudFormation tokens included).
 */
export type EnvironmentOf<S extends z.ZodObject> = { [K in keyof z.input<S>]?: string };

export function environmentFor<S extends z.ZodObject>(_schema: S, values: EnvironmentOf<S>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) if (value !== undefined) out[name] = value as string;
  return out;
}
