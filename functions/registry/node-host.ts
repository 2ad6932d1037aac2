/**
 * The same origin on Node (`@hono/node-server`): the upload service on ECS Fargate, which takes
 * request bodies of any size. Same lock and edge headers as the Lambda host; `/healthz` answers
 * the load balancer's health check before the lock (it reveals nothing).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { createRegistryApp, type AppDeps } from '../../core/http/index.ts';
import { toFetchResponse, writeNodeError } from '../../core/errors/index.ts';
import { malformedRequest } from '../../core/http/node-client-errors.ts';
import { applyEdgeHeaders, ORIGIN_SECRET_HEADER, originDenied } from './origin-lock.ts';
import { configurationFailure, type OriginRuntime } from './runtime.ts';

export const HEALTH_PATH = '/healthz';

type Listener = ReturnType<typeof getRequestListener>;

export function createNodeHost(runtime: OriginRuntime): (req: IncomingMessage, res: ServerResponse) => void {
  const listeners = new WeakMap<AppDeps, Listener>();
  return (req, res) => {
    if (req.url === HEALTH_PATH && (req.method === 'GET' || req.method === 'HEAD')) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(req.method === 'GET' ? 'ok\n' : undefined);
      return;
    }
    void (async () => {
      const presented = req.headers[ORIGIN_SECRET_HEADER];
      if (runtime.originLock && !(await runtime.originLock.accepts(Array.isArray(presented) ? presented[0] : presented))) {
        runtime.log.warn('origin-denied', { method: req.method, path: req.url?.slice(0, 512), sourceIp: req.socket.remoteAddress });
        // The body is not read: closing the connection is cheaper than draining an upload.
        writeNodeError(res, originDenied(), { Connection: 'close' });
        return;
      }
      applyNodeEdgeHeaders(req);
      let deps: AppDeps;
      try {
        deps = await runtime.deps();
      } catch (error) {
        writeNodeError(res, configurationFailure(runtime.log, error));
        return;
      }
      let listener = listeners.get(deps);
      // A request whose Host cannot make a URL gets the OCI body too (the server leaves Host to the adapter).
      if (!listener) listeners.set(deps, (listener = getRequestListener(createRegistryApp(deps).fetch, { errorHandler: (error) => toFetchResponse(malformedRequest(error)) })));
      await listener(req, res);
    })().catch((error: unknown) => {
      writeNodeError(res, configurationFailure(runtime.log, error));
    });
  };
}

/** `applyEdgeHeaders` on a Node request: `headers` and `rawHeaders` (which @hono/node-server reads) agree after it. */
export function applyNodeEdgeHeaders(req: IncomingMessage): void {
  applyEdgeHeaders(req.headers);
  req.rawHeaders = Object.entries(req.headers).flatMap(([name, value]) =>
    value === undefined ? [] : Array.isArray(value) ? value.flatMap((v) => [name, v]) : [name, value],
  );
}
