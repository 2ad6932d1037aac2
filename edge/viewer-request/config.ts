/**
 * What the viewer-request handler needs, fixed when it is bundled: Lambda@Edge has no
 * environment variables, so infra bakes this object into the bundle (esbuild `define`).
 */
export interface EdgeAuthConfig {
  /** The `service` of challenges and the audience tokens must carry. */
  service: string;
  issuer: string;
  /**
   * Public keys that verify tokens: JWK JSON or SPKI PEM. More than one during a key rotation
   * (old and new); a token's `kid` picks its key, else each is tried.
   */
  publicKeys: string[];
}

export interface EdgeConfig {
  /** Token checks; `false` lets every request through (CIRRUS_AUTH=off, local development only). */
  auth: EdgeAuthConfig | false;
  /**
   * Which request bodies are refused with 413 because the function behind cannot take them:
   * `none` (local host), `all` (every route goes to Lambda), `except-uploads` (blob-upload routes
   * go to the upload service, which has no such limit).
   */
  bodyLimit: 'none' | 'all' | 'except-uploads';
  /** Base URL of the token realm; from the viewer's Host and `scheme` when unset. */
  publicUrl?: string;
  scheme: 'https' | 'http';
}

declare const __CIRRUS_EDGE_CONFIG__: EdgeConfig | undefined;

/** The configuration baked into this bundle; throws in an unbaked build (a packaging mistake). */
export function bakedEdgeConfig(): EdgeConfig {
  if (typeof __CIRRUS_EDGE_CONFIG__ === 'undefined') {
    throw new Error('edge/viewer-request: no configuration was baked into this bundle (build it with infra/bundle)');
  }
  return __CIRRUS_EDGE_CONFIG__;
}

/** The esbuild `define` that bakes `config` into a bundle. */
export const EDGE_CONFIG_GLOBAL = '__CIRRUS_EDGE_CONFIG__';
