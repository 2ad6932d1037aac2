/**
 * The generated password of the user admin, as Jenkins does it: on a first start without
 * CIRRUS_ADMIN_PASSWORD a password is generated, kept in `<data dir>/initial-admin-password`
 * (mode 0600) and shown once. The file holds the truth only until admin's password changes: the
 * `cirrus` CLI removes it then, and every start removes it when it no longer matches (the secret
 * may have been changed from another machine, against DynamoDB).
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomSecret, SYSTEM_ADMIN, type Identities } from '../core/auth/index.ts';

export const INITIAL_ADMIN_PASSWORD_FILE = 'initial-admin-password';

export const initialAdminPasswordPath = (dataDir: string) => join(dataDir, INITIAL_ADMIN_PASSWORD_FILE);

/**
 * The password to create admin with: the one a previous start already wrote (it may have stopped
 * before creating admin; two starts at once agree on one file), else a new one written now,
 * before admin exists, so that no admin is ever created with a password nobody has.
 */
export async function initialAdminPassword(dataDir: string): Promise<string> {
  const path = initialAdminPasswordPath(dataDir);
  const kept = await readPassword(path);
  if (kept) return kept;
  const generated = randomSecret();
  await writeFile(path, `${generated}\n`, { mode: 0o600, flag: kept === '' ? 'w' : 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return (await readPassword(path)) || generated;
}

/**
 * Removes the file when admin's password is no longer the one it holds. 'kept': the file still
 * holds admin's password; 'removed': it did not; 'none': there is no file.
 */
export async function forgetChangedInitialAdminPassword(dataDir: string, identities: Identities): Promise<'kept' | 'removed' | 'none'> {
  const path = initialAdminPasswordPath(dataDir);
  const kept = await readPassword(path);
  if (kept === undefined) return 'none';
  // Disabled still means the password matched: the file stays true.
  const result = kept === '' ? undefined : await identities.authenticate(SYSTEM_ADMIN, kept);
  if (result && (result.ok || result.reason === 'disabled')) return 'kept';
  await rm(path, { force: true });
  return 'removed';
}

/** The file's password; '' when empty, undefined when there is no file. */
async function readPassword(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}
