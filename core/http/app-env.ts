/** The one Hono environment type every route and middleware of the registry shares. */
import type { Registry } from '../registry/registry.ts';
import type { Logger } from './logger.ts';

export interface HttpSettings {
  /** Base of every absolute URL we hand out; from the request's Host when unset (local use). */
  publicUrl?: string;
  /** Refuse bodies Lambda could not take (over 4 MiB or of unknown length) with a chunking hint. */
  lambdaLimits?: boolean;
}

/** Decides what the caller may do; the access-control issue supplies a real one. */
export interface Access {
  canPull(repository: string): boolean;
  canPush(repository: string): boolean;
  canDelete(repository: string): boolean;
}

export interface AppDeps {
  registry: Registry;
  log: Logger;
  http: HttpSettings;
}

export interface AppEnv {
  Bindings: {
    /** Set by @hono/node-server: the raw Node request, read directly for upload bodies. */
    incoming?: AsyncIterable<Uint8Array>;
  };
  Variables: {
    requestId: string;
    access: Access;
    deps: AppDeps;
  };
}

export const allowAll: Access = { canPull: () => true, canPush: () => true, canDelete: () => true };
