// Hostile digests and tags. Manifest PUTs carry the base image's valid manifest, so a reference that
// slipped through validation would create a tag or manifest the final index check reports.
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { custom, raw, req, type Expect } from './cases.ts';
import { BASE_REPO, hostileCorpus, sha256, type Case, type Ctx } from './harness.ts';

const DIGEST: Expect = [400, 'DIGEST_INVALID'];
const TAG: Expect = [400, 'MANIFEST_INVALID'];
// A read by a reference that cannot exist names nothing stored (the spec's conformance suite asks for 404).
const UNKNOWN: Expect = [404, 'MANIFEST_UNKNOWN'];
const HEX = 'c'.repeat(64);
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

const blob = (name: string, digest: string | ((c: Ctx) => string), method = 'GET'): Case =>
  req(`${name}: ${method} /v2/${BASE_REPO}/blobs/<digest>`, method, (c) => `/v2/${BASE_REPO}/blobs/${typeof digest === 'string' ? digest : digest(c)}`, DIGEST);

const putManifest = (name: string, reference: string | ((c: Ctx) => string), expected: Expect, query = ''): Case =>
  custom(`${name}: PUT /v2/${BASE_REPO}/manifests/<reference>${query}`, expected, (ctx) =>
    ctx.fetch('PUT', `/v2/${BASE_REPO}/manifests/${typeof reference === 'string' ? reference : reference(ctx)}${query}`, {
      headers: { 'Content-Type': OCI_MANIFEST },
      body: ctx.base.bytes,
    }),
  );

const monolithic = (name: string, digest: string, body: Uint8Array, expected: Expect = DIGEST): Case =>
  req(`${name}: POST /v2/hostile/up/blobs/uploads/?digest=…`, 'POST', `/v2/hostile/up/blobs/uploads/?digest=${digest}`, expected, { body }, {
    after: async (ctx) => {
      for (const d of [sha256(body), digest]) {
        if (d.startsWith('sha256:') && d.length === 71) expect((await ctx.fetch('HEAD', `/v2/hostile/up/blobs/${d}`)).status).toBe(404);
      }
    },
  });

const upper = (c: Ctx) => sha256(c.base.config).replace(/[a-f]/g, (x) => x.toUpperCase());
const sha512Of = (bytes: Uint8Array) => `sha512:${createHash('sha512').update(bytes).digest('hex')}`;

const cases: Case[] = [
  // digests
  blob('md5', 'md5:d41d8cd98f00b204e9800998ecf8427e'),
  blob('sha256 with 63 hex', `sha256:${'c'.repeat(63)}`),
  blob('sha256 with 65 hex', `sha256:${'c'.repeat(65)}`),
  blob('sha256 with non-hex', `sha256:${'z'.repeat(64)}`),
  blob('uppercase hex of a blob that exists', upper),
  blob('uppercase hex of a blob that exists', upper, 'HEAD'),
  blob('sha512 with a sha256 length', `sha512:${HEX}`),
  blob('sha256 with nothing after the colon', 'sha256:'),
  blob('no algorithm', `:${HEX}`),
  blob('no colon', 'notadigest'),
  blob('algorithm twice', `sha256:sha256:${HEX}`),
  blob('encoded colon (%3A)', `sha256%3A${HEX}`),
  blob('unregistered algorithm', `blake3:${HEX}`),
  blob('newline after the hex (%0A)', `sha256:${HEX}%0A`),
  blob('300 characters', `sha256:${'c'.repeat(293)}`),
  blob('uppercase algorithm', `SHA256:${HEX}`),
  blob('uppercase hex of a blob that exists', upper, 'DELETE'),
  req('sha256 with 63 hex: GET a manifest by digest', 'GET', `/v2/${BASE_REPO}/manifests/sha256:${'c'.repeat(63)}`, UNKNOWN),
  req('md5: HEAD a manifest by digest', 'HEAD', `/v2/${BASE_REPO}/manifests/md5:d41d8cd98f00b204e9800998ecf8427e`, UNKNOWN),
  req('uppercase hex of the base manifest: DELETE by digest', 'DELETE', (c) => `/v2/${BASE_REPO}/manifests/${c.base.digest.toUpperCase().replace('SHA256', 'sha256')}`, DIGEST),
  req('non-hex: GET referrers', 'GET', `/v2/${BASE_REPO}/referrers/sha256:${'z'.repeat(64)}`, DIGEST),
  monolithic('md5 digest', 'md5:d41d8cd98f00b204e9800998ecf8427e', randomBytes(64)),
  monolithic('sha256 with 63 hex', `sha256:${'c'.repeat(63)}`, randomBytes(64)),
  monolithic('empty digest', '', randomBytes(64)),
  monolithic('content that does not match the sha256 digest', sha256(randomBytes(64)), randomBytes(64)),
  monolithic('content that does not match the sha512 digest', sha512Of(randomBytes(64)), randomBytes(64)),
  putManifest('digest that does not match the body', sha256('something else'), DIGEST),
  putManifest('sha512 digest of sha256 length', `sha512:${HEX}`, DIGEST),
  putManifest('sha512 digest that does not match the body', sha512Of(randomBytes(8)), DIGEST),

  raw('a backslash in a digest (raw)', 'GET', `/v2/${BASE_REPO}/blobs/sha256:\\${'c'.repeat(63)}`, DIGEST),

  // tags
  putManifest('129-character tag', 'v'.repeat(129), TAG),
  req('129-character tag: GET', 'GET', `/v2/${BASE_REPO}/manifests/${'v'.repeat(129)}`, UNKNOWN),
  req('1000-character tag: GET', 'GET', `/v2/${BASE_REPO}/manifests/${'v'.repeat(1000)}`, UNKNOWN),
  req('129-character tag: DELETE', 'DELETE', `/v2/${BASE_REPO}/manifests/${'v'.repeat(129)}`, TAG),
  putManifest('leading dot', '.hidden', TAG),
  req('leading dot: HEAD', 'HEAD', `/v2/${BASE_REPO}/manifests/.hidden`, UNKNOWN),
  putManifest('leading dash', '-v1', TAG),
  putManifest('unicode (é)', 'v%C3%A9', TAG),
  req('unicode (é): GET', 'GET', `/v2/${BASE_REPO}/manifests/v%C3%A9`, UNKNOWN),
  putManifest('empty', '', TAG),
  req('empty: GET', 'GET', `/v2/${BASE_REPO}/manifests/`, UNKNOWN),
  raw('single dot (raw) resolves to the empty tag: PUT …/manifests/.', 'PUT', `/v2/${BASE_REPO}/manifests/.`, TAG, { headers: { 'Content-Length': 2 }, body: '{}' }),
  raw('double dot (raw) resolves to /v2/hostile/base/, no route: GET …/manifests/..', 'GET', `/v2/${BASE_REPO}/manifests/..`, [404, 'UNSUPPORTED']),
  putManifest('encoded slash (%2F)', 'v1%2Fx', TAG),
  putManifest('NUL (%00)', 'v1%00', TAG),
  putManifest('space (%20)', 'v%201', TAG),
  raw('a backslash in a tag (raw)', 'GET', `/v2/${BASE_REPO}/manifests/v\\1`, UNKNOWN),
  putManifest('colon, read as a digest', 'v1:evil', DIGEST),
  putManifest('invalid ?tag= on a push by digest', (c) => c.base.digest, TAG, `?tag=${'x'.repeat(129)}`),
  putManifest('valid and invalid ?tag= together (neither may be created)', (c) => c.base.digest, TAG, '?tag=good&tag=-bad'),
];

hostileCorpus('hostile digests and tags', cases);
