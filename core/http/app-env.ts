/** The one Hono environment type every route and middleware of the registry shares. */
import type { Auth } from '../auth/auth.ts';
import type { Registry } from '../registry/registry.ts';
import type { Logger } from './logger.ts';
import type { MetricsSink } from './metrics.ts';

export interface HttpSettings {
  /** Base of every absolute URL we hand out; from the request's Host when unset (local use). */
  publicUrl?: string;
  /** Refuse bodies Lambda could not take (over 4 MiB or of unknown length) with a chunking hint. */
  lambdaLimits?: boolean;
  /** A request body that sends nothing this long while we wait for it is cut off (ms). */
  bodyIdleMs?: number;
}

/** Decides what the caller may do: `allowAll` without access control, else what its token grants. */
export interface Access {
  /** The account the request acts for ('' when anonymous); absent when access control is off. */
  readonly principal?: string;
  canPull(repository: string): boolean;
  canPush(repository: string): boolean;
  canDelete(repository: string): boolean;
}

export interface AppDeps {
  registry: Registry;
  log: Logger;
  http: HttpSettings;
  /** Access control: without it every request may do everything (local development, tests). */
  auth?: Auth;
  /** Where each request's metrics go (Prometheus locally, EMF on AWS); none when absent. */
  metrics?: MetricsSink;
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
