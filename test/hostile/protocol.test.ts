// Hostile requests at the protocol level: paging parameters, methods no route takes, path traversal
// (API and signed object paths), oversized request heads, malformed header syntax, and a client
// that sends its headers a byte at a time.
import { expect } from 'vitest';
import { headersCheckIntervalMs, readConfig } from '../../bin/config.ts';
import { custom, raw, rawBytes, req, type Expect } from './cases.ts';
import { BASE_REPO, hostileCorpus, sha256, type Case, type Ctx } from './harness.ts';
import { head, rawExchange, sleep, write } from './raw-http.ts';

const PAGING: Expect = [400, 'UNSUPPORTED'];
const METHOD: Expect = [405, 'UNSUPPORTED'];
const NO_ROUTE: Expect = [404, 'UNSUPPORTED'];
const DENIED: Expect = [403, 'DENIED'];
// Refused by Node's parser before the app sees it, answered with the OCI body by the host's clientError handler.
const NODE_400: Expect = [400, 'UNSUPPORTED'];
const UUID = '00000000-0000-4000-8000-000000000000';

// The host of this file gives up on request heads after HEADERS_TIMEOUT_MS (30 s by default, lowered
// here so the slow client's case takes seconds). Node checks for expired heads every
// `headersCheckIntervalMs`, so a slow client is cut off within the sum of the two.
const HEADERS_TIMEOUT_MS = 2000;
const config = readConfig({ CIRRUS_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS) });
const SLOW_BOUND_MS = config.headersTimeoutMs + headersCheckIntervalMs(config.headersTimeoutMs) + 1000;

const method = (verb: string, path: string | ((c: Ctx) => string), allow: string): Case =>
  req(`${verb} ${typeof path === 'string' ? path : `/v2/${BASE_REPO}/blobs/<digest>`} → 405 UNSUPPORTED (Allow: ${allow})`, verb, path, METHOD, undefined, {
    after: async (_, answer) => expect(answer.headers.allow).toBe(allow),
  });

const garbageLast = (name: string, path: string, key: 'repositories' | 'tags'): Case =>
  req(`${name} → 200, a well-formed page`, 'GET', path, [200, null], undefined, {
    notAnError: 'distribution-spec: `last` is a position; the answer lists what sorts after it',
    after: async (_, answer) => expect(Array.isArray((JSON.parse(answer.body.toString()) as Record<string, unknown>)[key])).toBe(true),
  });

const blobPath = (c: Ctx) => `/v2/${BASE_REPO}/blobs/${sha256(c.base.config)}`;

const cases: Case[] = [
  // paging
  req('catalog n=-1', 'GET', '/v2/_catalog?n=-1', PAGING),
  req('catalog n=abc', 'GET', '/v2/_catalog?n=abc', PAGING),
  req('catalog n=99999999999', 'GET', '/v2/_catalog?n=99999999999', PAGING),
  req('catalog n=1.5', 'GET', '/v2/_catalog?n=1.5', PAGING),
  req('catalog n=0x10', 'GET', '/v2/_catalog?n=0x10', PAGING),
  req('tags n=-1', 'GET', `/v2/${BASE_REPO}/tags/list?n=-1`, PAGING),
  req('tags n=abc', 'GET', `/v2/${BASE_REPO}/tags/list?n=abc`, PAGING),
  req('tags n=99999999999', 'GET', `/v2/${BASE_REPO}/tags/list?n=99999999999`, PAGING),
  req('tags n=%00', 'GET', `/v2/${BASE_REPO}/tags/list?n=%00`, PAGING),
  garbageLast('catalog last=%00%FF (garbage)', '/v2/_catalog?n=5&last=%00%FF', 'repositories'),
  garbageLast('tags last of 10 KiB', `/v2/${BASE_REPO}/tags/list?n=5&last=${'z'.repeat(10240)}`, 'tags'),

  // methods no route takes
  method('POST', `/v2/${BASE_REPO}/manifests/v1`, 'GET, HEAD, PUT, DELETE'),
  method('PATCH', blobPath, 'GET, HEAD, DELETE'),
  method('PUT', blobPath, 'GET, HEAD, DELETE'),
  method('DELETE', '/v2/', 'GET, HEAD'),
  method('POST', '/v2/', 'GET, HEAD'),
  method('PUT', '/v2/_catalog', 'GET'),
  method('DELETE', '/v2/_catalog', 'GET'),
  method('POST', `/v2/${BASE_REPO}/tags/list`, 'GET'),
  method('PATCH', `/v2/${BASE_REPO}/blobs/uploads/`, 'POST'),
  method('PUT', `/v2/${BASE_REPO}/blobs/uploads/`, 'POST'),
  method('POST', `/v2/${BASE_REPO}/blobs/uploads/${UUID}`, 'GET, PATCH, PUT, DELETE'),
  method('DELETE', `/v2/${BASE_REPO}/referrers/${sha256('x')}`, 'GET'),
  raw('TRACE /v2/ (raw; fetch refuses to send it) → 405 UNSUPPORTED', 'TRACE', '/v2/', METHOD, {}, {
    after: async (_, answer) => expect(answer.headers.allow).toBe('GET, HEAD'),
  }),
  method('OPTIONS', `/v2/${BASE_REPO}/manifests/v1`, 'GET, HEAD, PUT, DELETE'),
  raw('PROPFIND /v2/ (raw) → 405 UNSUPPORTED', 'PROPFIND', '/v2/', METHOD),
  req('HEAD /v2/_catalog → 405', 'HEAD', '/v2/_catalog', METHOD),
  raw('an unknown method FOO (raw) → Node refuses it: 405', 'FOO', '/v2/', [405, 'UNSUPPORTED']),
  rawBytes('a lowercase method (raw) → Node refuses it: 405', (port) => `get /v2/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`, [405, 'UNSUPPORTED']),

  // path traversal
  raw('/v2/../etc/passwd (raw) resolves to /etc/passwd → 404 UNSUPPORTED', 'GET', '/v2/../etc/passwd', NO_ROUTE),
  raw('/v2/hostile/../../blobs/<digest> (raw) resolves outside /v2 → 404 UNSUPPORTED', 'GET', (c) => `/v2/hostile/../../blobs/${sha256(c.base.config)}`, NO_ROUTE),
  raw('/v2\\..\\..\\etc\\passwd with backslashes (raw) → 404 UNSUPPORTED', 'GET', '/v2\\..\\..\\etc\\passwd', NO_ROUTE),
  raw('/v2/%2e%2e/%2e%2e/etc/passwd (raw) → 404 UNSUPPORTED', 'GET', '/v2/%2e%2e/%2e%2e/etc/passwd', NO_ROUTE),
  raw('/v2/<digest>/../../../../_objects/… (raw) stays in the API → 404 UNSUPPORTED', 'GET', (c) => `${blobPath(c)}/../../../../../_objects/index.db`, NO_ROUTE),
  req('encoded traversal as a digest: …/blobs/..%2F..%2F..%2Findex.db', 'GET', `/v2/${BASE_REPO}/blobs/..%2F..%2F..%2Findex.db`, [400, 'DIGEST_INVALID']),
  req('encoded traversal as a tag: …/manifests/..%2F..%2Findex.db', 'GET', `/v2/${BASE_REPO}/manifests/..%2F..%2Findex.db`, [404, 'MANIFEST_UNKNOWN']),
  raw('/_objects/../index.db (raw) → 403 DENIED', 'GET', '/_objects/../index.db', DENIED),
  raw('/_objects/%2e%2e/%2e%2e/url-signing.key (raw) → 403 DENIED', 'GET', '/_objects/%2e%2e/%2e%2e/url-signing.key', DENIED),
  raw('/_objects/..%2F..%2Findex.db with a forged signature (raw) → 403 DENIED', 'GET', '/_objects/..%2F..%2Findex.db?expires=99999999999&signature=AAAA', DENIED),
  custom('/_objects/<a signed key>/../../url-signing.key (raw) → 403 DENIED', DENIED, async (ctx) => {
    const redirect = await ctx.fetch('GET', blobPath(ctx));
    const signed = new URL(redirect.headers.location!, ctx.host.url);
    return ctx.raw(head('GET', `${signed.pathname}/../../../url-signing.key${signed.search}`, {}, ctx.host.port));
  }),
  req('PUT on a signed object path → 405 UNSUPPORTED', 'PUT', '/_objects/blobs/x?expires=1&signature=AAAA', METHOD, { body: 'x' }),

  // oversized request heads
  raw('a 16 KiB URL (raw) → Node answers 431', 'GET', `/v2/${'a'.repeat(16 * 1024)}/tags/list`, [431, 'UNSUPPORTED']),
  raw('a 64 KiB header block (raw) → Node answers 431', 'GET', '/v2/', [431, 'UNSUPPORTED'], { headers: { 'X-Big': 'a'.repeat(64 * 1024) } }),
  raw('3,000 headers (raw) → Node answers 431', 'GET', '/v2/', [431, 'UNSUPPORTED'], { headers: Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`X-H${i}`, 'v'])) }),

  // malformed header syntax
  raw('a NUL in a header value (raw) → Node refuses it', 'GET', '/v2/', NODE_400, { headers: { 'X-Nul': 'a\0b' } }),
  rawBytes('a NUL in a header name (raw) → Node refuses it', (port) => `GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-\0Nul: a\r\nConnection: close\r\n\r\n`, NODE_400),
  rawBytes('a bare CR in a header value (raw) → Node refuses it', (port) => `GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-A: b\rc\r\nConnection: close\r\n\r\n`, NODE_400),
  rawBytes('a folded header line (raw) → Node refuses it', (port) => `GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-A: b\r\n c\r\nConnection: close\r\n\r\n`, NODE_400),
  rawBytes('a header line without a colon (raw) → Node refuses it', (port) => `GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-A b\r\nConnection: close\r\n\r\n`, NODE_400),
  rawBytes('HTTP/1.1 without Host (raw) → Node refuses it', () => 'GET /v2/ HTTP/1.1\r\nConnection: close\r\n\r\n', NODE_400),
  rawBytes('an HTTP/2 preface on HTTP/1.1 (raw) → Node refuses it', () => 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', NODE_400),
  raw('Expect: bogus (raw) → 417', 'GET', '/v2/', [417, 'UNSUPPORTED'], { headers: { Expect: 'bogus' } }),
  custom('bytes after a request on a keep-alive connection (raw): the request is answered, then the bytes get the OCI refusal (a malformed method: 405)', METHOD, async (ctx) => {
    const valid = head('GET', '/v2/', { Connection: 'keep-alive' }, ctx.host.port);
    const exchange = await rawExchange(ctx.host.port, `${valid}NOT HTTP AT ALL\r\n\r\n`, { deadlineMs: 10_000, responses: Infinity });
    expect(exchange.responses.map((r) => r.status)).toEqual([200, 405]);
    return { ...exchange.responses[1]!, head: false };
  }),
  raw('a Host that is not a host name (raw) → 400 before routing', 'GET', '/v2/', NODE_400, { headers: { Host: 'evil/../x' } }),

  // a client that sends its request head a byte every 200 ms
  custom(`headers sent a byte every 200 ms → 408 within ${SLOW_BOUND_MS} ms (headersTimeout ${HEADERS_TIMEOUT_MS} ms + check interval)`, [408, 'UNSUPPORTED'], async (ctx) => {
    const started = performance.now();
    const exchange = await rawExchange(
      ctx.host.port,
      async (socket) => {
        await write(socket, `GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:${ctx.host.port}\r\nX-Slow: `);
        while (!socket.destroyed && performance.now() - started < SLOW_BOUND_MS + 2000) {
          await write(socket, 'a');
          await sleep(200);
        }
      },
      { deadlineMs: SLOW_BOUND_MS },
    );
    expect(exchange.ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    const first = exchange.responses[0];
    if (!first) throw new Error(`closed without an answer after ${exchange.ms} ms`);
    return { ...first, head: false };
  }),
];

hostileCorpus('hostile requests at the protocol level', cases, { env: { CIRRUS_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS) } });
