/** The local host's configuration: read once from the environment into a frozen object. */
import { resolve } from 'node:path';
import { z } from 'zod';

const schema = z.object({
  HOST: z.string().default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65535).default(5000),
  CIRRUS_DATA_DIR: z.string().default('.cirrus-data'),
  CIRRUS_PUBLIC_URL: z.url().optional(),
  CIRRUS_BACKEND: z.enum(['embedded']).default('embedded'),
  CIRRUS_HASH_MODE: z.enum(['fast', 'resumable']).default('fast'),
  CIRRUS_UPLOAD_TTL_SECONDS: z.coerce.number().int().positive().default(24 * 3600),
  CIRRUS_LOG_REQUESTS: z.enum(['0', '1']).default('1'),
  CIRRUS_LAMBDA_LIMITS: z.enum(['0', '1']).default('0'),
});

export type LocalConfig = Readonly<{
  host: string;
  port: number;
  dataDir: string;
  publicUrl?: string;
  backend: 'embedded';
  hashMode: 'fast' | 'resumable';
  uploadTtlSeconds: number;
  logRequests: boolean;
  lambdaLimits: boolean;
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
    hashMode: e.CIRRUS_HASH_MODE,
    uploadTtlSeconds: e.CIRRUS_UPLOAD_TTL_SECONDS,
    logRequests: e.CIRRUS_LOG_REQUESTS === '1',
    lambdaLimits: e.CIRRUS_LAMBDA_LIMITS === '1',
  });
}
