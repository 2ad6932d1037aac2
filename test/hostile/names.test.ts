// Hostile repository names on every kind of /v2/<name>/… route, against the real local host.
// `..` and `.` segments are resolved by URL parsing before routing (as any HTTP server does), so
// those cases expect the answer for the path they resolve to, never the traversal.
import { expect } from 'vitest';
import { custom, raw, req, type Expect } from './cases.ts';
import { hostileCorpus, sha256, type Case } from './harness.ts';

const INVALID: Expect = [400, 'NAME_INVALID'];
// Refused by Node's parser before the app sees it, answered with the OCI body by the host's clientError handler.
const NODE_400: Expect = [400, 'UNSUPPORTED'];
const LONG = `${'a'.repeat(127)}/${'b'.repeat(128)}`; // 256 characters, each component valid

const manifestPut = (path: string): Case =>
  custom(`PUT ${path} (a valid manifest) → 400 NAME_INVALID`, INVALID, (ctx) =>
    ctx.fetch('PUT', path, { headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body: ctx.base.bytes }),
  );

const cases: Case[] = [
  // uppercase
  req('uppercase: GET /v2/Hostile/Base/tags/list', 'GET', '/v2/Hostile/Base/tags/list', INVALID),
  manifestPut('/v2/HOSTILE/base/manifests/v1'),
  req('uppercase: POST /v2/Hostile/blobs/uploads/', 'POST', '/v2/Hostile/blobs/uploads/', INVALID),
  req('uppercase: HEAD a blob the lowercase repository links', 'HEAD', (c) => `/v2/Hostile/Base/blobs/${sha256(c.base.config)}`, INVALID),

  // dot segments and double dots
  raw('`..` segment (raw): GET /v2/hostile/../base/tags/list resolves to repository "base" → 404 NAME_UNKNOWN', 'GET', '/v2/hostile/../base/tags/list', [404, 'NAME_UNKNOWN']),
  custom('`..` segments (raw) cannot borrow blobs: PUT /v2/hostile/base/../../evil/manifests/v1 → 400 MANIFEST_BLOB_UNKNOWN', [400, 'MANIFEST_BLOB_UNKNOWN'], (ctx) =>
    ctx.raw(
      Buffer.concat([
        Buffer.from(
          `PUT /v2/hostile/base/../../evil/manifests/v1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n` +
            `Content-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: ${ctx.base.bytes.byteLength}\r\n\r\n`,
        ),
        ctx.base.bytes,
      ]),
    ),
  ),
  raw('`%2e%2e` segment (raw): GET /v2/hostile/%2e%2e/x/tags/list resolves to repository "x" → 404 NAME_UNKNOWN', 'GET', '/v2/hostile/%2e%2e/x/tags/list', [404, 'NAME_UNKNOWN']),
  req('double dot inside a component: GET /v2/hostile/a..b/tags/list', 'GET', '/v2/hostile/a..b/tags/list', INVALID),
  req('component of two dots and letters: GET /v2/..hostile/tags/list', 'GET', '/v2/..hostile/tags/list', INVALID),

  // leading, trailing and doubled slashes
  raw('leading slash (raw): GET /v2//hostile/base/tags/list', 'GET', '/v2//hostile/base/tags/list', INVALID),
  raw('leading slash (raw): GET /v2//hostile/base/manifests/v1', 'GET', '/v2//hostile/base/manifests/v1', INVALID),
  raw('trailing slash (raw): GET /v2/hostile/base//tags/list', 'GET', '/v2/hostile/base//tags/list', INVALID),
  raw('trailing slash (raw): POST /v2/hostile/base//blobs/uploads/', 'POST', '/v2/hostile/base//blobs/uploads/', INVALID, { headers: { 'Content-Length': 0 } }),
  raw('double slash (raw): GET /v2/hostile//base/manifests/v1', 'GET', '/v2/hostile//base/manifests/v1', INVALID),
  raw('double slash (raw): DELETE /v2/hostile//base/blobs/<digest>', 'DELETE', (c) => `/v2/hostile//base/blobs/${sha256(c.base.config)}`, INVALID),

  // length
  req('256 characters: GET tags/list', 'GET', `/v2/${LONG}/tags/list`, INVALID),
  req('256 characters: POST blobs/uploads/', 'POST', `/v2/${LONG}/blobs/uploads/`, INVALID),
  raw('8 KiB name (raw, under Node header limits): GET tags/list', 'GET', `/v2/${'a'.repeat(8192)}/tags/list`, INVALID),

  // percent-encoded slashes
  req('%2F: GET /v2/hostile%2Fbase/manifests/v1', 'GET', '/v2/hostile%2Fbase/manifests/v1', INVALID),
  req('%2f: HEAD /v2/hostile%2fbase/blobs/<digest>', 'HEAD', (c) => `/v2/hostile%2fbase/blobs/${sha256(c.base.config)}`, INVALID),
  req('%2F: POST /v2/hostile%2Fbase/blobs/uploads/', 'POST', '/v2/hostile%2Fbase/blobs/uploads/', INVALID),
  req('%2F..%2F: GET /v2/hostile%2F..%2Fbase/tags/list', 'GET', '/v2/hostile%2F..%2Fbase/tags/list', INVALID),

  // NUL and control characters
  raw('raw NUL in the path → Node refuses the request line', 'GET', '/v2/hos\0tile/tags/list', NODE_400),
  raw('raw tab in the path → Node refuses the request line', 'GET', '/v2/hos\ttile/tags/list', NODE_400),
  req('%00: GET /v2/hostile%00/tags/list', 'GET', '/v2/hostile%00/tags/list', INVALID),
  req('%00: POST /v2/hos%00tile/blobs/uploads/', 'POST', '/v2/hos%00tile/blobs/uploads/', INVALID),
  req('%01: GET /v2/hostile%01/manifests/v1', 'GET', '/v2/hostile%01/manifests/v1', INVALID),
  req('%0A (log injection): GET /v2/hostile%0Afake/tags/list', 'GET', '/v2/hostile%0A%7B%22level%22%3A%22error%22%7D/tags/list', INVALID),
  req('%0D%0A (header injection): GET /v2/hostile%0D%0AX-Injected:%201/tags/list', 'GET', '/v2/hostile%0D%0AX-Injected:%201/tags/list', INVALID, undefined, {
    after: async (_, answer) => expect(answer.headers['x-injected']).toBeUndefined(),
  }),
  req('%7F: GET /v2/hostile%7F/tags/list', 'GET', '/v2/hostile%7F/tags/list', INVALID),
  req('%20: GET /v2/hostile%20base/tags/list', 'GET', '/v2/hostile%20base/tags/list', INVALID),
  raw('backslash (raw): GET /v2/hostile\\base/tags/list', 'GET', '/v2/hostile\\base/tags/list', INVALID),

  // unicode
  req('unicode (encoded): GET /v2/caf%C3%A9/tags/list', 'GET', '/v2/caf%C3%A9/tags/list', INVALID),
  req('homoglyph (Cyrillic o): GET /v2/h%D0%BEstile/base/tags/list', 'GET', '/v2/h%D0%BEstile/base/tags/list', INVALID),
  req('invalid UTF-8 (%FF%FE): GET /v2/hostile%FF%FE/tags/list', 'GET', '/v2/hostile%FF%FE/tags/list', INVALID),
  custom('unicode (raw UTF-8 bytes in the request line) → Node refuses it', NODE_400, (ctx) =>
    ctx.raw(Buffer.from('GET /v2/café/tags/list HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', 'utf8')),
  ),

  // _catalog as a name
  req('_catalog as a name: GET /v2/_catalog/tags/list', 'GET', '/v2/_catalog/tags/list', INVALID),
  manifestPut('/v2/_catalog/manifests/v1'),
  req('_catalog as a name: POST /v2/_catalog/blobs/uploads/', 'POST', '/v2/_catalog/blobs/uploads/', INVALID),
  req('_catalog as a first component: GET /v2/_catalog/x/manifests/v1', 'GET', '/v2/_catalog/x/manifests/v1', INVALID),

  // empty
  raw('empty (raw): GET /v2//tags/list', 'GET', '/v2//tags/list', INVALID),
  raw('empty (raw): POST /v2//blobs/uploads/', 'POST', '/v2//blobs/uploads/', INVALID, { headers: { 'Content-Length': 0 } }),
  raw('empty (raw): GET /v2//manifests/v1', 'GET', '/v2//manifests/v1', INVALID),
  req('no name at all: GET /v2/manifests/v1 matches no route → 404 UNSUPPORTED', 'GET', '/v2/manifests/v1', [404, 'UNSUPPORTED']),

  // separators the grammar refuses
  req('leading separator: GET /v2/-hostile/tags/list', 'GET', '/v2/-hostile/tags/list', INVALID),
  req('trailing separator: GET /v2/hostile_/tags/list', 'GET', '/v2/hostile_/tags/list', INVALID),
  req('three underscores: GET /v2/a___b/tags/list', 'GET', '/v2/a___b/tags/list', INVALID),
  req('mixed separators: GET /v2/a.-b/tags/list', 'GET', '/v2/a.-b/tags/list', INVALID),
  req('semicolon: GET /v2/hostile;base/tags/list', 'GET', '/v2/hostile;base/tags/list', INVALID),
];

hostileCorpus('hostile repository names', cases);
