/**
 * What an origin host (Lambda, the upload service) serves: the app's dependencies, which change
 * when the signing key is rotated, and the origin lock. Built over AWS in aws-deps.ts, over the
 * embedded store in tests.
 */
import { randomUUID } from 'node:crypto';
import { internalErrorResponse, type ErrorResponse } from '../../core/errors/index.ts';
import type { AppDeps, Logger } from '../../core/http/index.ts';
import type { OriginLock } from './origin-lock.ts';

export interface OriginRuntime {
  /** The app's dependencies now: the same object until the signing key changes. */
  deps(): Promise<AppDeps>;
  /** Absent only where nothing but CloudFront can reach the host anyway (tests). */
  originLock?: OriginLock;
  log: Required<Logger>;
}

/** A deployment mistake an operator must fix (a secret without a key…): every request says so. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
}

/** The 500 a request gets while the host cannot build its app; the reason goes to the log only. */
export function configurationFailure(log: Required<Logger>, error: unknown): ErrorResponse {
  const requestId = randomUUID();
  log.error(error instanceof ConfigurationError ? 'configuration' : 'unexpected', {
    requestId,
    error: error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
  });
  return internalErrorResponse(requestId);
}
