/**
 * createRegistryApp: the registry as one Hono app, whatever hosts it (Node, Lambda).
 *
 * Repository names contain slashes, so the /v2 paths are dispatched by `matchRoute` (read from
 * the right) rather than by Hono patterns; every malformed path gets a JSON error.
 */
import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { codes, RegistryError } from '../errors/index.ts';
import { matchRoute, type Route } from '../oci/routes.ts';
import { allowAll, type AppDeps, type AppEnv } from './app-env.ts';
import { errorResponse } from './errors.ts';
import { lambdaLimits } from './lambda-limits.ts';
import { recordMetrics } from './metrics.ts';
import { deleteBlob, getBlob } from './handlers/blobs.ts';
import { listCatalog, listReferrers, listTags } from './handlers/listings.ts';
import { deleteManifest, getManifest, putManifest } from './handlers/manifests.ts';
import { deleteUpload, getUpload, patchUpload, putUpload, startUpload } from './handlers/uploads.ts';
import { requireToken } from './require-token.ts';
import { tokenRoutes } from './token-route.ts';
import { requireName } from './validate.ts';

export function createRegistryApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use('*', async (c, next) => {
    const started = performance.now();
    const requestId = randomUUID();
    c.set('requestId', requestId);
    c.set('deps', deps);
    if (!c.var.access) c.set('access', allowAll);
    // Set before the handler builds its response: changing headers afterwards costs a copy.
    c.header('X-Request-Id', requestId);
    await next();
    deps.log.info('request', {
      requestId,
      method: c.req.method,
      path: c.req.path.slice(0, 512),
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
  });

  if (deps.metrics) app.use('*', recordMetrics(deps.metrics));

  // Access control first: an unauthorised client learns nothing else about a request.
  if (deps.auth) {
    app.use('*', requireToken(deps.auth));
    tokenRoutes(app, deps.auth);
  }
  if (deps.http.lambdaLimits) app.use('/v2/*', lambdaLimits);
  app.all('/v2', (c) => dispatch(c));
  app.all('/v2/*', (c) => dispatch(c));
  app.notFound((c) => errorResponse(new RegistryError(codes.UNSUPPORTED, { status: 404, message: 'no such route' }), c));
  app.onError((error, c) => errorResponse(error, c));
  return app;
}

type Handler = (c: Context<AppEnv>) => Promise<Response> | Response;

async function dispatch(c: Context<AppEnv>): Promise<Response> {
  const route = matchRoute(c.req.path);
  const handlers = route.kind === 'unknown' ? undefined : methodsOf(route);
  if (!handlers) throw new RegistryError(codes.UNSUPPORTED, { status: 404, message: 'no such route' });
  const method = c.req.method === 'HEAD' && !handlers.HEAD ? undefined : c.req.method;
  const handler = method ? handlers[method] : undefined;
  if (!handler) {
    throw new RegistryError(codes.UNSUPPORTED, { message: `${c.req.method} is not supported here`, headers: { Allow: Object.keys(handlers).join(', ') } });
  }
  c.header('Docker-Distribution-API-Version', 'registry/2.0');
  return handler(c);
}

function methodsOf(route: Exclude<Route, { kind: 'unknown' }>): Record<string, Handler> {
  switch (route.kind) {
    case 'base':
      return { GET: (c) => c.json({}), HEAD: (c) => c.body(null, 200) };
    case 'catalog':
      return { GET: listCatalog };
    case 'tags': {
      const name = () => requireName(route.name);
      return { GET: (c) => listTags(c, name()) };
    }
    case 'manifest': {
      const name = () => requireName(route.name);
      return {
        GET: (c) => getManifest(c, name(), route.reference, false),
        HEAD: (c) => getManifest(c, name(), route.reference, true),
        PUT: (c) => putManifest(c, name(), route.reference),
        DELETE: (c) => deleteManifest(c, name(), route.reference),
      };
    }
    case 'blob': {
      const name = () => requireName(route.name);
      return {
        GET: (c) => getBlob(c, name(), route.digest, false),
        HEAD: (c) => getBlob(c, name(), route.digest, true),
        DELETE: (c) => deleteBlob(c, name(), route.digest),
      };
    }
    case 'upload-start': {
      const name = () => requireName(route.name);
      return { POST: (c) => startUpload(c, name()) };
    }
    case 'upload': {
      const name = () => requireName(route.name);
      return {
        GET: (c) => getUpload(c, name(), route.uuid),
        PATCH: (c) => patchUpload(c, name(), route.uuid),
        PUT: (c) => putUpload(c, name(), route.uuid),
        DELETE: (c) => deleteUpload(c, name(), route.uuid),
      };
    }
    case 'referrers': {
      const name = () => requireName(route.name);
      return { GET: (c) => listReferrers(c, name(), route.digest) };
    }
  }
}
