/**
 * Access control for the local host: the signing key (from config, or generated once into the
 * data dir as a 0600 private JWK and reused after), the user admin and the project library on
 * first start, and loud warnings when the registry is open to anyone.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bootstrapAuth, type Auth, createHostAuth, generateSigningKey, importSigningKey, type SigningKey } from '../core/auth/index.ts';
import type { Logger } from '../core/http/index.ts';
import type { Table } from '../core/ports/index.ts';
import type { LocalConfig } from './config.ts';

export const SIGNING_KEY_FILE = 'auth-signing-key.jwk';

export async function setUpAuth(config: LocalConfig, table: Table, log: Required<Logger>): Promise<Auth | undefined> {
  if (!config.auth.enabled) {
    log.warn('auth-off', {
      message:
        'CIRRUS_AUTH=off: access control is OFF. Anyone who can reach this port may pull, push and delete anything. ' +
        'For local development only; unset CIRRUS_AUTH to turn it on.',
    });
    return undefined;
  }
  const key = config.auth.signingKey ? await importSigningKey(config.auth.signingKey) : await loadOrCreateSigningKey(config.dataDir);
  const auth = createHostAuth(table, key, config.auth, (event) => log.info('audit', { ...event }));
  const outcome = await bootstrapAuth({ identities: auth.identities, projects: auth.projects, adminPassword: config.auth.adminPassword });
  if (outcome === 'admin-created') log.info('admin-created', { message: 'created the user admin from CIRRUS_ADMIN_PASSWORD' });
  if (outcome === 'admin-missing') {
    log.warn('admin-password-missing', {
      message:
        'access control is on, but the user admin does not exist, so nobody can log in to administer this registry. ' +
        'Set CIRRUS_ADMIN_PASSWORD and restart (it is read only while admin does not exist), or run ' +
        `\`CIRRUS_DATA_DIR=${config.dataDir} npx cirrus user create admin\` (it prints a generated password).`,
    });
  }
  log.info('auth-on', { service: config.auth.service, issuer: config.auth.issuer, kid: key.kid, tokenTtlSeconds: config.auth.tokenTtlSeconds });
  return auth;
}

/** The key survives restarts, so tokens handed out stay valid; two processes starting at once agree on one. */
async function loadOrCreateSigningKey(dataDir: string): Promise<SigningKey> {
  const path = join(dataDir, SIGNING_KEY_FILE);
  try {
    return await importSigningKey(await readFile(path, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${path}: ${(error as Error).message}`);
  }
  const { privateJwk } = await generateSigningKey();
  await writeFile(path, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return importSigningKey(await readFile(path, 'utf8'));
}
