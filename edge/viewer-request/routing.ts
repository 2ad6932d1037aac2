/**
 * Which origin a path reaches, as CloudFront's behaviours decide it (infra/constructs/cdn.ts
 * declares the same patterns; test/edge checks the two agree): blob-upload routes go to the upload
 * service when there is one, everything else under /v2 and /token to the Lambda function.
 */

/** CloudFront path patterns of the upload service's behaviours (`*` matches any run of characters). */
export const UPLOAD_PATH_PATTERNS = ['/v2/*/blobs/uploads/*', '/v2/*/blobs/uploads'] as const;

export function matchesPathPattern(pattern: string, path: string): boolean {
  // `?` matches one character; everything else but `*` is literal.
  const regex = new RegExp(`^${pattern.split('*').map((piece) => escapeRegExp(piece).replace(/\?/g, '.')).join('.*')}$`);
  return regex.test(path);
}

export function isUploadPath(path: string): boolean {
  return UPLOAD_PATH_PATTERNS.some((p) => matchesPathPattern(p, path));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}
