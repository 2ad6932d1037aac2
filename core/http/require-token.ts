/**
 * Docker token auth on /v2: a request without a valid bearer token granting what its route needs
 * gets 401 UNAUTHORIZED and a challenge naming the token realm, the service and the scope to ask
 * for. A valid one sets `c.var.access` from the token's `access` claim. Denials (other than the
 * bare `GET /v2/` every client starts with) and writes are audited.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { Auth } from '../auth/auth.ts';
import { allows, covers, formatScope, type Scope } from '../auth/scopes.ts';
import { codes, RegistryError } from '../errors/index.ts';
import { matchRoute, type Route } from '../oci/index.ts';
import type { Access, AppEnv } from './app-env.ts';
import { routeNeed, type RouteNeed } from './route-scopes.ts';
import { sourceAddress } from './source-address.ts';
import { absoluteUrl } from './urls.ts';

export function requireToken(auth: Auth): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const route = matchRoute(c.req.path);
    const need = routeNeed(route, c.req.method, { mount: c.req.query('mount'), from: c.req.query('from') });
    // What passes undecided (405, malformed names, other paths) is answered before any access check.
    c.set('access', denyAll);
    if (!need) return next();

    const header = c.req.header('authorization');
    const token = /^Bearer +([^\s]+) *$/i.exec(header ?? '')?.[1];
    if (token === undefined) {
      // Every client's first request is an anonymous GET /v2/ to find the realm: not worth a line.
      const quiet = header === undefined && route.kind === 'base';
      return deny(c, auth, need, { reason: header === undefined ? 'no token' : 'not a bearer token', quiet });
    }
    const verified = await auth.verify(token);
    if (!verified.ok) return deny(c, auth, need, { reason: `token ${verified.reason}`, error: 'invalid_token' });
    if (!covers(verified.access, need.required)) {
      return deny(c, auth, need, { reason: 'insufficient scope', error: 'insufficient_scope', who: verified.subject });
    }
    c.set('access', await accessOf(c, auth, route, verified.subject, verified.access));
    await next();
    await auditWrite(c, auth, route, verified.subject);
  };
}

/** The challenge of Docker's token spec; `error` as RFC 6750 names it. */
export function challenge(c: Context<AppEnv>, auth: Auth, scopes: Scope[], error?: string): string {
  const parts = [`realm="${absoluteUrl(c, '/token')}"`, `service="${auth.settings.service}"`];
  if (scopes.length > 0) parts.push(`scope="${scopes.map(formatScope).join(' ')}"`);
  if (error) parts.push(`error="${error}"`);
  return `Bearer ${parts.join(',')}`;
}

async function deny(
  c: Context<AppEnv>,
  auth: Auth,
  need: RouteNeed,
  how: { reason: string; error?: string; who?: string; quiet?: boolean },
): Promise<never> {
  if (!how.quiet) {
    await record(c, auth, {
      who: displayName(how.who),
      action: need.action,
      result: 'denied',
      repository: need.repository,
      status: 401,
      reason: how.reason,
    });
  }
  throw new RegistryError(codes.UNAUTHORIZED, { headers: { 'WWW-Authenticate': challenge(c, auth, need.challenge, how.error) } });
}

const denyAll: Access = { principal: '', canPull: () => false, canPush: () => false, canDelete: () => false };

function tokenAccess(subject: string, access: Scope[]): Access {
  return {
    principal: subject,
    canPull: (name) => allows(access, 'repository', name, 'pull'),
    canPush: (name) => allows(access, 'repository', name, 'push'),
    canDelete: (name) => allows(access, 'repository', name, 'delete'),
  };
}

/**
 * What the token grants, except for two requests that reach beyond the repository the token names:
 * the catalog, and a mount, whose source may be any repository the caller may pull from now, read
 * from its memberships as the catalog does. A client may hold a token for the target alone: without
 * `from` (the spec's automatic content discovery) there is no source to ask a scope for, and a
 * client that caches tokens per repository (the spec's redesigned conformance suite) reuses the
 * target's. Its holder could get a token for the source anyway.
 */
async function accessOf(c: Context<AppEnv>, auth: Auth, route: Route, subject: string, access: Scope[]): Promise<Access> {
  if (route.kind === 'catalog') return catalogAccess(auth, subject);
  const granted = tokenAccess(subject, access);
  const mount = route.kind === 'upload-start' && c.req.method === 'POST' && c.req.query('mount') !== undefined;
  if (!mount) return granted;
  const pullable = await auth.authorisation.pullable(subject);
  return { ...granted, canPull: (name) => granted.canPull(name) || pullable(name) };
}

/** The catalog shows what the caller may pull now, read from its memberships (not from the token). */
async function catalogAccess(auth: Auth, subject: string): Promise<Access> {
  const pullable = await auth.authorisation.pullable(subject);
  return { principal: subject, canPull: pullable, canPush: () => false, canDelete: () => false };
}

/** Writes the API names, audited with their outcome; other requests are not. */
async function auditWrite(c: Context<AppEnv>, auth: Auth, route: Route, subject: string): Promise<void> {
  const write = writeOf(c, route);
  if (!write) return;
  const status = c.res.status;
  await record(c, auth, { who: displayName(subject), result: status < 400 ? 'ok' : 'failed', status, ...write });
}

function writeOf(
  c: Context<AppEnv>,
  route: Route,
): { action: string; repository: string; digest?: string; detail?: Record<string, string> } | undefined {
  const method = c.req.method;
  const served = c.res.headers.get('docker-content-digest') ?? undefined;
  switch (route.kind) {
    case 'manifest': {
      const byDigest = route.reference.includes(':');
      if (method === 'PUT') {
        const digest = served ?? (byDigest ? route.reference : undefined);
        return { action: 'manifest.put', repository: route.name, digest, detail: byDigest ? undefined : { tag: route.reference } };
      }
      if (method === 'DELETE') {
        return byDigest
          ? { action: 'manifest.delete', repository: route.name, digest: route.reference }
          : { action: 'tag.delete', repository: route.name, detail: { tag: route.reference } };
      }
      return undefined;
    }
    case 'blob':
      return method === 'DELETE' ? { action: 'blob.delete', repository: route.name, digest: route.digest } : undefined;
    case 'upload-start': {
      if (method !== 'POST') return undefined;
      const mount = c.req.query('mount');
      const from = c.req.query('from');
      if (mount !== undefined && c.res.status === 201) {
        return { action: 'blob.mount', repository: route.name, digest: mount, detail: from === undefined ? undefined : { from } };
      }
      const digest = c.req.query('digest');
      return digest === undefined || (mount !== undefined && c.res.status < 400) ? undefined : { action: 'blob.upload', repository: route.name, digest };
    }
    case 'upload':
      return method === 'PUT' ? { action: 'blob.upload', repository: route.name, digest: c.req.query('digest') } : undefined;
    default:
      return undefined;
  }
}

async function record(
  c: Context<AppEnv>,
  auth: Auth,
  event: { who: string; action: string; result: 'ok' | 'failed' | 'denied'; repository?: string; digest?: string; status: number; reason?: string; detail?: Record<string, string> },
): Promise<void> {
  try {
    await auth.audit.record({ ...event, source: sourceAddress(c) });
  } catch (error) {
    // The write it records has happened; failing the response would make the client retry it.
    c.var.deps.log.error('audit-failed', { requestId: c.var.requestId, error: error instanceof Error ? error.message : String(error) });
  }
}

function displayName(subject: string | undefined): string {
  return subject === undefined || subject === '' ? 'anonymous' : subject;
}
