/**
 * The project a repository belongs to: its first path segment; a one-segment name belongs to
 * `library` (DESIGN §4, as on Docker Hub and Harbor). The same rule as core/auth's projectOf,
 * restated here because the registry's domain does not depend on auth.
 */
export const DEFAULT_PROJECT = 'library';

export function projectOfRepository(repository: string): string {
  const slash = repository.indexOf('/');
  return slash < 0 ? DEFAULT_PROJECT : repository.slice(0, slash);
}
