/**
 * Access control for the local host: the signing key (from config, or generated once into the
 * data dir as a 0600 private JWK and reused after), the user admin and the project library on
 * first start (admin's password generated and shown once unless CIRRUS_ADMIN_PASSWORD sets it),
 * and loud warnings when the registry is open to anyone.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bootstrapAuth, type Auth, createHostAuth, generateSigningKey, importSigningKey, type SigningKey, SYSTEM_ADMIN } from '../core/auth/index.ts';
import type { Logger } from '../core/http/index.ts';
import type { Table } from '../core/ports/index.ts';
import type { LocalConfig } from './config.ts';
import { forgetChangedInitialAdminPassword, initialAdminPassword, initialAdminPasswordPath } from './initial-admin-password.ts';

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
  const configured = config.auth.adminPassword || undefined;
  const generated = configured || (await auth.identities.get(SYSTEM_ADMIN)) ? undefined : await initialAdminPassword(config.dataDir);
  const outcome = await bootstrapAuth({ identities: auth.identities, projects: auth.projects, adminPassword: configured ?? generated });
  if (outcome === 'admin-created' && generated !== undefined) {
    announceInitialAdminPassword(generated, initialAdminPasswordPath(config.dataDir), loginAddress(config), log);
  } else {
    if (outcome === 'admin-created') log.info('admin-created', { message: 'created the user admin from CIRRUS_ADMIN_PASSWORD' });
    const file = await forgetChangedInitialAdminPassword(config.dataDir, auth.identities);
    const path = initialAdminPasswordPath(config.dataDir);
    if (file === 'kept') log.info('initial-admin-password-unchanged', { user: SYSTEM_ADMIN, file: path, message: `admin still has the generated password in ${path}; change it with \`npx cirrus user passwd admin\`` });
    if (file === 'removed') log.info('initial-admin-password-removed', { file: path, message: `admin's password has changed, so ${path} no longer held it` });
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

/**
 * Once, on the start that created admin: a JSON line on stdout that says where the password is
 * (not the password: stdout is the log that gets shipped and kept), and a banner on stderr with
 * the password, for the person at the terminal.
 */
function announceInitialAdminPassword(password: string, path: string, address: string, log: Required<Logger>): void {
  log.warn('initial-admin-password', {
    user: SYSTEM_ADMIN,
    file: path,
    message: `created the user admin with a generated password, shown once on stderr and kept in ${path} until it is changed (\`npx cirrus user passwd admin\`)`,
  });
  const rule = '*'.repeat(78);
  process.stderr.write(
    [
      '',
      rule,
      '',
      'Access control is on. The user admin was created with this generated password:',
      '',
      `    ${password}`,
      '',
      `It is also in ${path} (mode 0600) until it is changed`,
      'with `npx cirrus user passwd admin`. Log in with, for example:',
      '',
      `    docker login ${address} -u admin --password-stdin < ${path}`,
      '',
      rule,
      '',
      '',
    ].join('\n'),
  );
}

/** What a client on this machine logs in to; the port is only known here when it is configured. */
function loginAddress(config: LocalConfig): string {
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return `${host}:${config.port === 0 ? 'PORT' : config.port}`;
}
