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
// zod/mini: the same schemas as zod's chained API in functional form, which esbuild tree-shakes to
// ~20 KB; classic zod costs ~10 MB of RSS in every process (measured on the local host's bundle).
import * as z from 'zod/mini';

/** An integer from a string, within bounds. */
const integer = (min: number, max = Number.MAX_SAFE_INTEGER) => z.pipe(z.coerce.number(), z.int().check(z.minimum(min), z.maximum(max)));
const seconds = integer;
const nonEmpty = () => z.string().check(z.minLength(1));
const onOff = z.enum(['on', 'off']);
const zeroOne = z.enum(['0', '1']);
const opt = z.optional;
const def = z._default;

/** Each variable's type, once. */
export const envFragments = {
  HOST: z.string(),
  PORT: integer(0, 65535),
  CIRRUS_DATA_DIR: z.string(),
  CIRRUS_BACKEND: z.enum(['embedded', 'aws-local', 'aws']),
  /** DynamoDB table and S3 bucket. */
  CIRRUS_TABLE: nonEmpty(),
  CIRRUS_BUCKET: nonEmpty(),
  /** The viewers' base URL: every Location, Link and token realm is built on it. */
  CIRRUS_PUBLIC_URL: z.url(),
  CIRRUS_HASH_MODE: z.enum(['fast', 'resumable']),
  CIRRUS_UPLOAD_TTL_SECONDS: integer(1),
  CIRRUS_SIGNED_URL_SECONDS: seconds(30, 7 * 86_400),
  CIRRUS_LOG_REQUESTS: zeroOne,
  CIRRUS_LAMBDA_LIMITS: zeroOne,
  CIRRUS_HEADERS_TIMEOUT_MS: integer(100),
  CIRRUS_BODY_IDLE_MS: integer(100),
  CIRRUS_AUTH: onOff,
  /** Only read at first start, to create the user admin. */
  CIRRUS_ADMIN_PASSWORD: z.string(),
  CIRRUS_AUTH_SERVICE: nonEmpty(),
  CIRRUS_AUTH_ISSUER: nonEmpty(),
  /** PEM (PKCS#8) or JWK of the ES256 signing key (local host; the functions read it from a secret). */
  CIRRUS_AUTH_SIGNING_KEY: z.string(),
  /** Holds the ES256 private key (JWK or PKCS#8 PEM) that signs tokens. */
  CIRRUS_SIGNING_KEY_SECRET_ARN: nonEmpty(),
  CIRRUS_TOKEN_TTL_SECONDS: seconds(30, 24 * 3600),
  CIRRUS_REFRESH_TOKEN_TTL_SECONDS: seconds(60, 365 * 86_400),
  /** The secret CloudFront sends in x-cirrus-origin-secret. */
  CIRRUS_ORIGIN_SECRET_ARN: nonEmpty(),
  /** `off` only for tests. */
  CIRRUS_ORIGIN_LOCK: onOff,
  /** How long secrets are cached before they are read again (rotation takes effect within it). */
  CIRRUS_SECRETS_TTL_SECONDS: seconds(0, 3600),
  CIRRUS_METRICS_NAMESPACE: nonEmpty(),
  /** The Service dimension of metrics and the `service` of log lines. */
  CIRRUS_SERVICE: nonEmpty(),
  CIRRUS_SPOOL_DIR: nonEmpty(),
  /** The local host's replication triggers (on push, schedules, reconciliation); `off` leaves rules to `cirrus replication run`. */
  CIRRUS_REPLICATION: onOff,
  /** How long pushes are gathered before a run starts. */
  CIRRUS_REPLICATION_DEBOUNCE_MS: integer(0, 60_000),
  /** How often each push rule walks source and destination to repair lost triggers. */
  CIRRUS_REPLICATION_RECONCILE_SECONDS: seconds(1),
  /** A fixed wait between retries inside a run, in place of the state machine's back-off (tests). */
  CIRRUS_REPLICATION_RETRY_MS: integer(0),
  /** How often schedules and reconciliation are checked. */
  CIRRUS_REPLICATION_TICK_MS: integer(100),
} as const;

export type EnvName = keyof typeof envFragments;

const f = envFragments;
const DAY = 24 * 3600;

/** The local host (`npm start`) and the `cirrus` CLI. */
export const localHostEnv = z.object({
  HOST: def(f.HOST, '127.0.0.1'),
  PORT: def(f.PORT, 5000),
  CIRRUS_DATA_DIR: def(f.CIRRUS_DATA_DIR, '.cirrus-data'),
  CIRRUS_PUBLIC_URL: opt(f.CIRRUS_PUBLIC_URL),
  CIRRUS_BACKEND: def(f.CIRRUS_BACKEND, 'embedded'),
  CIRRUS_TABLE: opt(f.CIRRUS_TABLE),
  CIRRUS_BUCKET: opt(f.CIRRUS_BUCKET),
  CIRRUS_HASH_MODE: def(f.CIRRUS_HASH_MODE, 'fast'),
  CIRRUS_UPLOAD_TTL_SECONDS: def(f.CIRRUS_UPLOAD_TTL_SECONDS, DAY),
  CIRRUS_LOG_REQUESTS: def(f.CIRRUS_LOG_REQUESTS, '1'),
  CIRRUS_LAMBDA_LIMITS: def(f.CIRRUS_LAMBDA_LIMITS, '0'),
  CIRRUS_HEADERS_TIMEOUT_MS: def(f.CIRRUS_HEADERS_TIMEOUT_MS, 30_000),
  CIRRUS_BODY_IDLE_MS: def(f.CIRRUS_BODY_IDLE_MS, 120_000),
  CIRRUS_AUTH: def(f.CIRRUS_AUTH, 'on'),
  CIRRUS_ADMIN_PASSWORD: opt(f.CIRRUS_ADMIN_PASSWORD),
  CIRRUS_AUTH_SERVICE: def(f.CIRRUS_AUTH_SERVICE, 'cirrus'),
  CIRRUS_AUTH_ISSUER: def(f.CIRRUS_AUTH_ISSUER, 'cirrus'),
  CIRRUS_AUTH_SIGNING_KEY: opt(f.CIRRUS_AUTH_SIGNING_KEY),
  CIRRUS_TOKEN_TTL_SECONDS: def(f.CIRRUS_TOKEN_TTL_SECONDS, 300),
  CIRRUS_REFRESH_TOKEN_TTL_SECONDS: def(f.CIRRUS_REFRESH_TOKEN_TTL_SECONDS, 30 * DAY),
});

/** The local host's replication triggers (bin/replication-host.ts), read beside localHostEnv. */
export const localReplicationEnv = z.object({
  CIRRUS_REPLICATION: def(f.CIRRUS_REPLICATION, 'on'),
  CIRRUS_REPLICATION_DEBOUNCE_MS: def(f.CIRRUS_REPLICATION_DEBOUNCE_MS, 250),
  CIRRUS_REPLICATION_RECONCILE_SECONDS: def(f.CIRRUS_REPLICATION_RECONCILE_SECONDS, 3600),
  CIRRUS_REPLICATION_RETRY_MS: opt(f.CIRRUS_REPLICATION_RETRY_MS),
  CIRRUS_REPLICATION_TICK_MS: def(f.CIRRUS_REPLICATION_TICK_MS, 5_000),
});

/** The registry function on Lambda and the upload service on ECS. Secrets: only their ARNs. */
export const registryFunctionEnv = z.object({
  CIRRUS_TABLE: f.CIRRUS_TABLE,
  CIRRUS_BUCKET: f.CIRRUS_BUCKET,
  CIRRUS_PUBLIC_URL: opt(f.CIRRUS_PUBLIC_URL),
  CIRRUS_HASH_MODE: def(f.CIRRUS_HASH_MODE, 'resumable'),
  CIRRUS_UPLOAD_TTL_SECONDS: def(f.CIRRUS_UPLOAD_TTL_SECONDS, DAY),
  CIRRUS_SIGNED_URL_SECONDS: def(f.CIRRUS_SIGNED_URL_SECONDS, 300),
  CIRRUS_ORIGIN_SECRET_ARN: opt(f.CIRRUS_ORIGIN_SECRET_ARN),
  CIRRUS_ORIGIN_LOCK: def(f.CIRRUS_ORIGIN_LOCK, 'on'),
  CIRRUS_AUTH: def(f.CIRRUS_AUTH, 'on'),
  CIRRUS_SIGNING_KEY_SECRET_ARN: opt(f.CIRRUS_SIGNING_KEY_SECRET_ARN),
  CIRRUS_AUTH_SERVICE: def(f.CIRRUS_AUTH_SERVICE, 'cirrus'),
  CIRRUS_AUTH_ISSUER: def(f.CIRRUS_AUTH_ISSUER, 'cirrus'),
  CIRRUS_TOKEN_TTL_SECONDS: def(f.CIRRUS_TOKEN_TTL_SECONDS, 300),
  CIRRUS_REFRESH_TOKEN_TTL_SECONDS: def(f.CIRRUS_REFRESH_TOKEN_TTL_SECONDS, 30 * DAY),
  CIRRUS_SECRETS_TTL_SECONDS: def(f.CIRRUS_SECRETS_TTL_SECONDS, 300),
  CIRRUS_METRICS_NAMESPACE: def(f.CIRRUS_METRICS_NAMESPACE, 'Cirrus'),
  CIRRUS_SERVICE: def(f.CIRRUS_SERVICE, 'registry'),
  CIRRUS_SPOOL_DIR: def(f.CIRRUS_SPOOL_DIR, '/tmp'),
  PORT: def(f.PORT, 8080),
});

/** The GC and replication task functions (Step Functions tasks). */
export const gcTaskEnv = z.object({
  CIRRUS_TABLE: f.CIRRUS_TABLE,
  CIRRUS_BUCKET: f.CIRRUS_BUCKET,
  CIRRUS_UPLOAD_TTL_SECONDS: def(f.CIRRUS_UPLOAD_TTL_SECONDS, DAY),
});

/** Parses an environment with a schema, or throws one message naming every bad variable. */
export function parseEnv<S extends z.ZodMiniType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/**
 * An environment as infra writes it: only names the schema reads (a typo does not compile),
 * every value a string (CloudFormation tokens included).
 */
export type EnvironmentOf<S extends z.ZodMiniObject> = { [K in keyof z.input<S>]?: string };

export function environmentFor<S extends z.ZodMiniObject>(_schema: S, values: EnvironmentOf<S>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(values)) if (value !== undefined) out[name] = value as string;
  return out;
}
