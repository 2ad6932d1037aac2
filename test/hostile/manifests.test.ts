// Hostile manifest PUTs, each against the repository that links the base image's blobs (unless a case
// says otherwise), so only the manifest itself can be at fault.
import { custom, type Expect } from './cases.ts';
import { BASE_REPO, hostileCorpus, sha256, type Case, type Ctx } from './harness.ts';
import { head, sleep, write } from './raw-http.ts';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const CONFIG = 'application/vnd.oci.image.config.v1+json';
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const INVALID: Expect = [400, 'MANIFEST_INVALID'];
const BLOB_UNKNOWN: Expect = [400, 'MANIFEST_BLOB_UNKNOWN'];
const TOO_BIG: Expect = [413, 'SIZE_INVALID'];
const MiB = 1024 * 1024;

type Body = string | Uint8Array | object;
const desc = (c: Ctx, which: 'config' | 0 | 1) =>
  which === 'config'
    ? { mediaType: CONFIG, digest: sha256(c.base.config), size: c.base.config.byteLength }
    : { mediaType: LAYER, digest: sha256(c.base.layers[which]!), size: c.base.layers[which]!.byteLength };
/** A valid image manifest over the base image's blobs, with `change` applied. */
const image = (c: Ctx, change: Record<string, unknown> = {}) => ({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: desc(c, 'config'), layers: [desc(c, 0), desc(c, 1)], ...change });
const withLayer = (c: Ctx, layer: unknown) => image(c, { layers: [layer] });
const index = (manifests: unknown[]) => ({ schemaVersion: 2, mediaType: OCI_INDEX, manifests });
const toBytes = (body: Body) => (typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body));

const put = (name: string, body: (c: Ctx) => Body, expected: Expect, options: { contentType?: string; repo?: string } = {}): Case =>
  custom(`${name} → ${expected.join(' ')}`, expected, (ctx) =>
    ctx.fetch('PUT', `/v2/${options.repo ?? BASE_REPO}/manifests/hostile`, {
      headers: { 'Content-Type': options.contentType ?? OCI_MANIFEST },
      body: toBytes(body(ctx)),
    }),
  );

const nested = (open: string, close: string, depth: number) => open.repeat(depth) + '1' + close.repeat(depth);

/**
 * A body sent over a bare socket in 64 KiB writes, declared by Content-Length or chunked. The
 * connection stays open (as real clients keep it): a server that closes a connection with unread
 * bytes sends a TCP reset, which may discard its own answer before the client reads it.
 */
const rawPut = (name: string, size: number, chunked: boolean): Case =>
  custom(`${name} → 413 SIZE_INVALID`, TOO_BIG, (ctx) =>
    ctx.raw(async (socket) => {
      const framing: Record<string, string | number> = chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': size };
      const headers = { Connection: 'keep-alive', ...framing };
      await write(socket, head('PUT', `/v2/${BASE_REPO}/manifests/hostile`, { 'Content-Type': OCI_MANIFEST, ...headers }, ctx.host.port));
      const piece = Buffer.alloc(64 * 1024, 0x20);
      for (let sent = 0; sent < size; sent += piece.length) {
        await write(socket, chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece);
      }
      if (chunked) await write(socket, '0\r\n\r\n');
    }),
  );

const cases: Case[] = [
  // not a JSON object
  put('invalid JSON', () => '{"schemaVersion": 2,', INVALID),
  put('a JSON array', () => '[]', INVALID),
  put('a JSON string', () => '"manifest"', INVALID),
  put('a JSON number', () => '2', INVALID),
  put('JSON null', () => 'null', INVALID),
  put('JSON true', () => 'true', INVALID),
  put('an empty body', () => '', INVALID),
  put('invalid UTF-8', () => Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), INVALID),
  put('UTF-16 with a byte-order mark', (c) => Buffer.from(`\ufeff${JSON.stringify(image(c))}`, 'utf16le'), INVALID),

  // not a manifest we take
  put('{} (not a manifest)', () => '{}', INVALID),
  put('schemaVersion 1 as Docker schema 1 (signed)', () => ({ schemaVersion: 1, name: 'hostile/base', tag: 'v1', fsLayers: [], history: [], signatures: [] }), INVALID, {
    contentType: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  }),
  put('schemaVersion 1 with the OCI Content-Type', (c) => image(c, { schemaVersion: 1 }), INVALID),
  put('schemaVersion 3', (c) => image(c, { schemaVersion: 3 }), INVALID),
  put('schemaVersion "2" (a string)', (c) => image(c, { schemaVersion: '2' }), INVALID),
  put('schemaVersion 2.5', (c) => image(c, { schemaVersion: 2.5 }), INVALID),
  put('mediaType (OCI manifest) contradicting Content-Type (Docker v2)', (c) => image(c), INVALID, { contentType: DOCKER_MANIFEST }),
  put('mediaType (OCI index) contradicting Content-Type (OCI manifest)', (c) => image(c, { mediaType: OCI_INDEX }), INVALID),
  put('malformed mediaType', (c) => image(c, { mediaType: 'not a media type' }), INVALID),
  put('unsupported mediaType (text/plain)', (c) => image(c, { mediaType: 'text/plain' }), INVALID, { contentType: 'text/plain' }),
  put('no mediaType and no recognisable shape', () => ({ schemaVersion: 2 }), INVALID, { contentType: 'application/json' }),

  // unknown references
  put('a layer nobody pushed', (c) => withLayer(c, { mediaType: LAYER, digest: sha256('never pushed'), size: 12 }), BLOB_UNKNOWN),
  put('a config nobody pushed', (c) => image(c, { config: { mediaType: CONFIG, digest: sha256('no config'), size: 9 } }), BLOB_UNKNOWN),
  put('blobs linked only in another repository', (c) => image(c), BLOB_UNKNOWN, { repo: 'hostile/other' }),
  put('20,000 layers nobody pushed (3 MiB)', (c) => image(c, { layers: Array.from({ length: 20_000 }, (_, i) => ({ mediaType: LAYER, digest: sha256(`absent ${i}`), size: i })) }), BLOB_UNKNOWN),
  put('an index whose child is missing', () => index([{ mediaType: OCI_MANIFEST, digest: sha256('no child'), size: 8 }]), BLOB_UNKNOWN, { contentType: OCI_INDEX }),
  put('an index whose child is a blob, not a manifest', (c) => index([{ ...desc(c, 'config'), mediaType: OCI_MANIFEST }]), BLOB_UNKNOWN, { contentType: OCI_INDEX }),
  put('an index naming a manifest stored only in another repository', (c) => index([{ mediaType: OCI_MANIFEST, digest: c.base.digest, size: c.base.bytes.byteLength }]), BLOB_UNKNOWN, {
    contentType: OCI_INDEX,
    repo: 'hostile/other',
  }),

  // wrong shape for the type
  put('an image manifest with a `manifests` list', (c) => image(c, { manifests: [] }), INVALID),
  put('an index with `layers`', (c) => ({ ...index([]), layers: [desc(c, 0)] }), INVALID, { contentType: OCI_INDEX }),
  put('layers not a list', (c) => image(c, { layers: { 0: desc(c, 0) } }), INVALID),
  put('no config', (c) => image(c, { config: undefined }), INVALID),
  put('a layer that is a string', (c) => withLayer(c, desc(c, 0).digest), INVALID),
  put('annotations with a number value', (c) => image(c, { annotations: { 'org.example.n': 1 } }), INVALID),
  put('a subject with a malformed digest', (c) => image(c, { subject: { mediaType: OCI_MANIFEST, digest: 'sha256:xyz', size: 1 } }), INVALID),
  put('a malformed artifactType', (c) => image(c, { artifactType: 'no slash' }), INVALID),
  put('layer urls that are not strings', (c) => withLayer(c, { ...desc(c, 0), urls: [1] }), INVALID),
  put('a descriptor that is only a __proto__ key', (c) => `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":${JSON.stringify(desc(c, 'config'))},"layers":[{"__proto__":${JSON.stringify(desc(c, 0))}}]}`, INVALID),

  // layer descriptors
  put('a layer with a negative size', (c) => withLayer(c, { ...desc(c, 0), size: -1 }), INVALID),
  put('a layer with a fractional size', (c) => withLayer(c, { ...desc(c, 0), size: 1.5 }), INVALID),
  put('a layer with a size given as a string', (c) => withLayer(c, { ...desc(c, 0), size: String(desc(c, 0).size) }), INVALID),
  put('a layer with a size past 2^53', (c) => withLayer(c, { ...desc(c, 0), size: 2 ** 53 + 2 }), INVALID),
  put('a layer with a malformed digest', (c) => withLayer(c, { ...desc(c, 0), digest: 'sha256:xyz' }), INVALID),
  put('a layer with an md5 digest', (c) => withLayer(c, { ...desc(c, 0), digest: 'md5:d41d8cd98f00b204e9800998ecf8427e' }), INVALID),
  put('a layer with the uppercase digest of a linked blob', (c) => withLayer(c, { ...desc(c, 0), digest: desc(c, 0).digest.toUpperCase().replace('SHA256', 'sha256') }), INVALID),

  // duplicate keys
  put('a repeated top-level key', (c) => JSON.stringify(image(c)).replace('{', '{"schemaVersion":1,'), INVALID),
  put('a repeated key inside a layer (an unknown digest, then a linked one)', (c) =>
    JSON.stringify(withLayer(c, desc(c, 0))).replace('"digest":', `"digest":"${sha256('hidden')}","digest":`), INVALID),
  put('a repeated key spelt with a unicode escape', (c) => JSON.stringify(image(c)).replace('{', '{"schema\\u0056ersion":2,'), INVALID),

  // size and depth
  rawPut('5 MiB body with Content-Length (raw)', 5 * MiB, false),
  rawPut('5 MiB body, chunked, no Content-Length (raw)', 5 * MiB, true),
  rawPut('4 MiB + 64 KiB body with Content-Length (raw)', 4 * MiB + 64 * 1024, false),
  put('100k levels of nested objects', () => nested('{"a":', '}', 100_000), INVALID),
  put('100k levels of nested arrays', () => nested('[', ']', 100_000), INVALID),
  put('100k levels of nesting in annotations', (c) => JSON.stringify(image(c)).replace(/}$/, `,"annotations":${nested('{"a":', '}', 100_000)}}`), INVALID),

  // a body cut short
  custom('Content-Length 4096 but 100 bytes, then the client half-closes (raw) → the parser refuses it: 400 with the OCI body', [400, 'UNSUPPORTED'], (ctx) =>
    ctx.raw(
      async (socket) => {
        await write(socket, head('PUT', `/v2/${BASE_REPO}/manifests/cut`, { 'Content-Type': OCI_MANIFEST, 'Content-Length': 4096 }, ctx.host.port));
        await write(socket, Buffer.from(ctx.base.bytes).subarray(0, 100));
        await sleep(100);
      },
      { endAfterWrite: true },
    ),
  ),
];

hostileCorpus('hostile manifests', cases);
