/**
 * Who may do what: the granted subset of requested scopes, never more. Roles: reader (pull),
 * writer (pull, push), admin (pull, push, delete) in a project; the user `admin` may do
 * everything; anyone (even anonymous) may pull from a project that allows anonymous pull; anyone
 * may list the catalog, which shows only what they may pull.
 */
import { isRepositoryName } from '../oci/reference.ts';
import { SYSTEM_ADMIN } from './identities.ts';
import { projectOf, type Projects, type Role } from './projects.ts';
import { mergeScopes, type Scope } from './scopes.ts';

export const ROLE_ACTIONS: Readonly<Record<Role, readonly string[]>> = {
  reader: ['pull'],
  writer: ['pull', 'push'],
  admin: ['pull', 'push', 'delete'],
};
const ALL_ACTIONS = ROLE_ACTIONS.admin;

/** An account name, or '' for anonymous. */
export type Subject = string;

export class Authorisation {
  constructor(private readonly projects: Projects) {}

  async grant(subject: Subject, requested: readonly Scope[]): Promise<Scope[]> {
    const allowedIn = memo((project: string) => this.allowedActions(subject, project));
    const granted: Scope[] = [];
    for (const scope of mergeScopes(requested)) {
      if (scope.type === 'registry' && scope.name === 'catalog' && scope.actions.includes('*')) {
        granted.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      } else if (scope.type === 'repository' && isRepositoryName(scope.name)) {
        const allowed = await allowedIn(projectOf(scope.name));
        const actions = scope.actions.includes('*') ? [...allowed] : scope.actions.filter((a) => allowed.includes(a));
        granted.push({ type: 'repository', name: scope.name, actions });
      }
    }
    return mergeScopes(granted);
  }

  /** What `subject` may do in `project`. */
  async allowedActions(subject: Subject, project: string): Promise<readonly string[]> {
    if (subject === SYSTEM_ADMIN) return ALL_ACTIONS;
    const [role, info] = await Promise.all([subject === '' ? undefined : this.projects.role(project, subject), this.projects.get(project)]);
    // A membership left behind in a project that is gone grants nothing.
    if (!info) return [];
    const actions = new Set(role ? ROLE_ACTIONS[role] : []);
    if (info.anonymousPull) actions.add('pull');
    return ALL_ACTIONS.filter((a) => actions.has(a));
  }

  /** A predicate over repository names: may `subject` pull it? For the catalog, read once per request. */
  async pullable(subject: Subject): Promise<(repository: string) => boolean> {
    if (subject === SYSTEM_ADMIN) return () => true;
    const [projects, memberships] = await Promise.all([this.projects.list(), subject === '' ? [] : this.projects.memberships(subject)]);
    const existing = new Set(projects.map((p) => p.name));
    const readable = new Set([...projects.filter((p) => p.anonymousPull).map((p) => p.name), ...memberships.map((m) => m.project).filter((p) => existing.has(p))]);
    return (repository) => readable.has(projectOf(repository));
  }
}

function memo<T>(fn: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const cache = new Map<string, Promise<T>>();
  return (key) => {
    let value = cache.get(key);
    if (!value) cache.set(key, (value = fn(key)));
    return value;
  };
}
