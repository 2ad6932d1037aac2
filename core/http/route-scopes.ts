/**
 * What each /v2 route needs from a token: the scopes to check, the scopes to name in the
 * challenge (a push asks for pull,push, as Distribution does; a mount also names its source, so
 * one token request covers both), and the action to audit a denial under.
 */
import { CATALOG_SCOPE, type Scope } from '../auth/scopes.ts';
import { isRepositoryName, type Route } from '../oci/index.ts';

export interface RouteNeed {
  /** Every action of every scope here must be granted; empty: any valid token (GET /v2/). */
  required: Scope[];
  /** The `scope` of the WWW-Authenticate challenge. */
  challenge: Scope[];
  /** For the audit trail: pull, push, delete, catalog, ping. */
  action: string;
  repository?: string;
}

const repo = (name: string, ...actions: string[]): Scope => ({ type: 'repository', name, actions });

/**
 * Undefined when no decision is needed here: an unknown method (405) or a malformed name (400)
 * is answered by the dispatcher, before any read.
 */
export function routeNeed(route: Route, method: string, query: { mount?: string; from?: string }): RouteNeed | undefined {
  const read = method === 'GET' || method === 'HEAD';
  switch (route.kind) {
    case 'unknown':
      return undefined;
    case 'base':
      return read ? { required: [], challenge: [], action: 'ping' } : undefined;
    case 'catalog':
      return method === 'GET' ? { required: [CATALOG_SCOPE], challenge: [CATALOG_SCOPE], action: 'catalog' } : undefined;
  }
  const { name } = route;
  if (!isRepositoryName(name)) return undefined;
  const pull = { required: [repo(name, 'pull')], challenge: [repo(name, 'pull')], action: 'pull', repository: name };
  const push = { required: [repo(name, 'push')], challenge: [repo(name, 'pull', 'push')], action: 'push', repository: name };
  const del = { required: [repo(name, 'delete')], challenge: [repo(name, 'delete')], action: 'delete', repository: name };
  switch (route.kind) {
    case 'tags':
    case 'referrers':
      return method === 'GET' ? pull : undefined;
    case 'manifest':
      return read ? pull : method === 'PUT' ? push : method === 'DELETE' ? del : undefined;
    case 'blob':
      return read ? pull : method === 'DELETE' ? del : undefined;
    case 'upload-start': {
      if (method !== 'POST') return undefined;
      // Pull on the source is not required: without it the mount falls back to an upload.
      const from = query.mount !== undefined && query.from !== undefined && isRepositoryName(query.from) ? query.from : undefined;
      return from === undefined || from === name ? push : { ...push, challenge: [...push.challenge, repo(from, 'pull')] };
    }
    case 'upload':
      return ['GET', 'PATCH', 'PUT', 'DELETE'].includes(method) ? push : undefined;
  }
}
