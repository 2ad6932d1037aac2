/**
 * The contract between the CloudFront edge handler and the origins (Lambda, upload service, the
 * local host): headers the edge sets after checking a request, and the secret header CloudFront
 * adds on the way to an origin. The edge strips every `x-cirrus-*` header a client sends, so an
 * origin that has seen the origin secret can believe them.
 *
 * CloudFront forwards `Authorization` on GET/HEAD only when it is part of the cache key, which
 * would split the cache per token: the verified token travels in its own header instead, and the
 * origin verifies it again (a leaked origin secret alone still grants nothing).
 */
export const INTERNAL_HEADER_PREFIX = 'x-cirrus-';
/** Added by CloudFront (origin custom header); the origins refuse requests without it. */
export const ORIGIN_SECRET_HEADER = 'x-cirrus-origin-secret';
/** The bearer token the edge verified. */
export const EDGE_TOKEN_HEADER = 'x-cirrus-token';
/** The verified subject ('' for an anonymous token), for logs. */
export const EDGE_PRINCIPAL_HEADER = 'x-cirrus-principal';
/** The Host the client used: absolute URLs are built from it, not from the origin's own domain. */
export const EDGE_HOST_HEADER = 'x-cirrus-host';
/** The client's address as CloudFront saw it (for the login throttle and the audit trail). */
export const EDGE_CLIENT_IP_HEADER = 'x-cirrus-client-ip';
/** GET or HEAD, part of the cache key of cached routes so a bodiless HEAD answer never serves a GET. */
export const EDGE_METHOD_HEADER = 'x-cirrus-method';
