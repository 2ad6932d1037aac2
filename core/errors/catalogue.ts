/**
 * The one catalogue of client-visible errors: code, default message and HTTP status, as the
 * distribution spec lists them. Code throws `new RegistryError(codes.X, { detail })`.
 */
export interface ErrorCode {
  code: string;
  message: string;
  status: number;
}

const define = <T extends Record<string, Omit<ErrorCode, 'code'>>>(table: T) =>
  Object.fromEntries(Object.entries(table).map(([code, e]) => [code, { code, ...e }])) as {
    [K in keyof T]: ErrorCode;
  };

export const codes = define({
  BLOB_UNKNOWN: { status: 404, message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { status: 400, message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { status: 400, message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { status: 400, message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { status: 400, message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { status: 404, message: 'manifest unknown to registry' },
  NAME_INVALID: { status: 400, message: 'invalid repository name' },
  NAME_UNKNOWN: { status: 404, message: 'repository name not known to registry' },
  SIZE_INVALID: { status: 400, message: 'provided length did not match content length' },
  UNAUTHORIZED: { status: 401, message: 'authentication required' },
  DENIED: { status: 403, message: 'requested access to the resource is denied' },
  UNSUPPORTED: { status: 405, message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { status: 429, message: 'too many requests' },
  /** Not a spec code: the body for an unexpected fault, which carries a request id. */
  UNKNOWN: { status: 500, message: 'unknown error' },
});

export type CodeName = keyof typeof codes;
