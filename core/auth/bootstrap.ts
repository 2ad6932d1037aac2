/**
 * First start with access control on: the system administrator `admin` from a configured
 * password, and the project `library` that one-segment names belong to. Never overwrites: a
 * password changed later with the CLI stays changed.
 */
import { IdentityError, SYSTEM_ADMIN, type Identities } from './identities.ts';
import { DEFAULT_PROJECT, type Projects } from './projects.ts';

export type BootstrapOutcome = 'admin-created' | 'admin-exists' | 'admin-missing';

export async function bootstrapAuth(deps: { identities: Identities; projects: Projects; adminPassword: string | undefined }): Promise<BootstrapOutcome> {
  await deps.projects.create(DEFAULT_PROJECT);
  if (await deps.identities.get(SYSTEM_ADMIN)) return 'admin-exists';
  if (deps.adminPassword === undefined || deps.adminPassword === '') return 'admin-missing';
  try {
    await deps.identities.create({ name: SYSTEM_ADMIN, kind: 'user', secret: deps.adminPassword, createdBy: 'bootstrap' });
    return 'admin-created';
  } catch (error) {
    // Another process bootstrapped it between our read and our write.
    if (error instanceof IdentityError && (await deps.identities.get(SYSTEM_ADMIN))) return 'admin-exists';
    throw error;
  }
}
