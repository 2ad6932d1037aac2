import type { ErrorCode } from './catalogue.ts';

export interface ErrorOptions {
  /** Overrides the catalogue message (e.g. to say how to recover). */
  message?: string;
  detail?: unknown;
  /** Overrides the catalogue status where the spec allows two (SIZE_INVALID 413, UNSUPPORTED 415, 416). */
  status?: number;
  headers?: Record<string, string>;
}

/** A failure the client is meant to see, written as an OCI error body by the one error handler. */
export class RegistryError extends Error {
  readonly code: string;
  readonly status: number;
  readonly detail: unknown;
  readonly headers: Record<string, string>;

  constructor(error: ErrorCode, options: ErrorOptions = {}) {
    super(options.message ?? error.message);
    this.name = 'RegistryError';
    this.code = error.code;
    this.status = options.status ?? error.status;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }
}

export function errorBody(errors: Array<{ code: string; message: string; detail?: unknown }>): string {
  return JSON.stringify({
    errors: errors.map(({ code, message, detail }) => (detail === undefined ? { code, message } : { code, message, detail })),
  });
}
