// The requests of the redesigned conformance suite on the distribution-spec's main branch
// (conformance/api.go), written again here: the same methods, paths, headers and bodies, and the
// answers it accepts. Where it accepts a fallback it reports as "unsupported" (a 202 instead of a
// 201 for a single POST or a mount), Cirrus is held to the supported answer.
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { MediaType } from '../../core/oci/index.ts';
import { onAws } from '../support/backend.ts';

export type Algo = 'sha256' | 'sha512';
export const OCTET = 'application/octet-stream';
/** The suite's floor for a chunk (its `chunkMin`), raised to OCI-Chunk-Min-Length when the registry sends one. */
export const CHUNK_MIN = 1024;

export function digestOf(bytes: Uint8Array, algo: Algo = 'sha256'): string {
  return `${algo}:${createHash(algo).update(bytes).digest('hex')}`;
}

export function randomBlob(size: number, algo: Algo = 'sha256'): { digest: string; bytes: Uint8Array } {
  const bytes = new Uint8Array(randomBytes(size));
  return { digest: digestOf(bytes, algo), bytes };
}

/** A body of unknown length, as Go's client sends a body it was given without a length (chunked). */
export function unsized(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

interface Init {
  headers?: Record<string, string>;
  body?: Uint8Array | ReadableStream<Uint8Array>;
}

export class UpstreamApi {
  constructor(readonly base: string) {}

  /** One request; redirects are followed, as Go's default client does. */
  async send(method: string, target: string | URL, init: Init = {}): Promise<Response> {
    const request: RequestInit & { duplex?: 'half' } = { method, headers: init.headers };
    if (init.body !== undefined) {
      request.body = init.body as RequestInit['body'];
      if (init.body instanceof ReadableStream) request.duplex = 'half';
    }
    return fetch(new URL(target, this.base), request);
  }

  url(path: string): URL {
    return new URL(path, this.base);
  }

  /** `loc` resolved against `from`, with `?digest=` set (url.Query().Set as the suite does). */
  withDigest(from: URL, loc: string, digest: string): URL {
    const u = new URL(loc, from);
    u.searchParams.set('digest', digest);
    return u;
  }

  async expectBody(res: Response, bytes: Uint8Array): Promise<void> {
    const got = new Uint8Array(await res.arrayBuffer());
    expect(got.byteLength).toBe(bytes.byteLength);
    expect(Buffer.from(got).equals(Buffer.from(bytes))).toBe(true);
  }

  /** A Docker-Content-Digest header, when present, names the digest (VerifyDigest); Cirrus always sends it. */
  expectDigestHeader(res: Response, digest: string): void {
    expect(res.headers.get('docker-content-digest')).toBe(digest);
  }

  /** BlobVerifyLocation: GET the Location of a created blob → 200 with its bytes. */
  async verifyBlobLocation(from: URL, loc: string | null, bytes: Uint8Array): Promise<void> {
    expect(loc, 'Location of the created blob').toBeTruthy();
    const res = await this.send('GET', new URL(loc!, from));
    expect(res.status).toBe(200);
    await this.expectBody(res, bytes);
  }

  /** BlobPostOnly: POST ?digest= with Content-Length and the body. */
  async blobPostOnly(repo: string, digest: string, bytes: Uint8Array, bad = false): Promise<void> {
    const u = this.url(`/v2/${repo}/blobs/uploads/`);
    u.searchParams.set('digest', digest);
    const res = await this.send('POST', u, { headers: { 'Content-Type': OCTET, 'Content-Length': String(bytes.byteLength) }, body: bytes });
    if (bad) return void expect(res.status).toBe(400);
    expect(res.status).toBe(201);
    this.expectDigestHeader(res, digest);
    await this.verifyBlobLocation(u, res.headers.get('location'), bytes);
  }

  /** POST → 202 with a Location; returns it resolved. */
  async startSession(repo: string, init: Init = {}): Promise<{ url: URL; res: Response }> {
    const u = this.url(`/v2/${repo}/blobs/uploads/`);
    const res = await this.send('POST', u, init);
    expect(res.status).toBe(202);
    const loc = res.headers.get('location');
    expect(loc, 'Location of the upload session').toBeTruthy();
    return { url: new URL(loc!, u), res };
  }

  /** BlobPostPut: POST (no body), then PUT ?digest= with Content-Length and the body. */
  async blobPostPut(repo: string, digest: string, bytes: Uint8Array, bad = false): Promise<void> {
    const { url } = await this.startSession(repo);
    const put = this.withDigest(url, url.href, digest);
    const res = await this.send('PUT', put, { headers: { 'Content-Type': OCTET, 'Content-Length': String(bytes.byteLength) }, body: bytes });
    if (bad) return void expect(res.status).toBe(400);
    expect(res.status).toBe(201);
    this.expectDigestHeader(res, digest);
    await this.verifyBlobLocation(put, res.headers.get('location'), bytes);
  }

  /** BlobPatchStream: POST (Content-Length: 0), PATCH the whole body without a length, PUT ?digest= (Content-Length: 0). */
  async blobPatchStream(repo: string, digest: string, bytes: Uint8Array, bad = false): Promise<void> {
    const { url } = await this.startSession(repo, { headers: { 'Content-Length': '0' }, body: new Uint8Array(0) });
    const patch = await this.send('PATCH', url, { headers: { 'Content-Type': OCTET }, body: unsized(bytes) });
    expect(patch.status).toBe(202);
    const loc = patch.headers.get('location');
    expect(loc).toBeTruthy();
    const put = this.withDigest(url, loc!, digest);
    const res = await this.send('PUT', put, { headers: { 'Content-Type': OCTET, 'Content-Length': '0' }, body: new Uint8Array(0) });
    if (bad) return void expect(res.status).toBe(400);
    expect(res.status).toBe(201);
    this.expectDigestHeader(res, digest);
    await this.verifyBlobLocation(put, res.headers.get('location'), bytes);
  }

  /**
   * BlobPatchChunked: three chunks (at least OCI-Chunk-Min-Length and 1024 bytes), each PATCHed
   * with Content-Length and Content-Range `start-end`. `outOfOrder` first sends a chunk from the
   * wrong offset (→ 416, as PUT ?digest= when it would be the last one and `putLastChunk`), then
   * recovers the offset with GET (→ 204, Range `0-<last byte>`). `putLastChunk` sends the last
   * chunk in the closing PUT. Returns the OCI-Chunk-Min-Length the POST announced.
   */
  async blobPatchChunked(repo: string, digest: string, bytes: Uint8Array, opts: { outOfOrder?: boolean; putLastChunk?: boolean; bad?: boolean } = {}): Promise<string | null> {
    const { url: first, res: post } = await this.startSession(repo, { headers: { 'Content-Length': '0' }, body: new Uint8Array(0) });
    const minHeader = post.headers.get('oci-chunk-min-length');
    let chunkSize = Math.floor(bytes.byteLength / 3) + 1;
    if (minHeader !== null) chunkSize = Math.max(chunkSize, Number(minHeader));
    chunkSize = Math.min(Math.max(chunkSize, CHUNK_MIN), bytes.byteLength);
    let u = first;
    let loc = first.href;
    let lastByte = -1;
    const chunk = (method: string, target: URL, start: number, end: number) =>
      this.send(method, target, {
        headers: { 'Content-Length': String(end - start + 1), 'Content-Type': OCTET, 'Content-Range': `${start}-${end}` },
        body: bytes.subarray(start, end + 1),
      });
    while (lastByte < bytes.byteLength - 1) {
      if (opts.outOfOrder) {
        u = new URL(loc, u);
        let badStart = lastByte + 1 + chunkSize;
        if (badStart >= bytes.byteLength) badStart = 0;
        const badLast = Math.min(badStart + chunkSize - 1, bytes.byteLength - 1);
        const target = opts.putLastChunk && badLast === bytes.byteLength - 1 ? this.withDigest(u, u.href, digest) : u;
        const wrong = await chunk(target === u ? 'PATCH' : 'PUT', target, badStart, badLast);
        expect(wrong.status, `chunk ${badStart}-${badLast} out of order`).toBe(416);
        const status = await this.send('GET', u);
        expect(status.status).toBe(204);
        loc = status.headers.get('location') ?? loc;
        const range = status.headers.get('range') ?? '';
        expect(range, 'Range after a 416').toMatch(/^0-\d+$/);
        if (lastByte >= 0) expect(range).toBe(`0-${lastByte}`);
      }
      u = new URL(loc, u);
      const start = lastByte + 1;
      lastByte = Math.min(start + chunkSize - 1, bytes.byteLength - 1);
      if (opts.putLastChunk && lastByte === bytes.byteLength - 1) {
        u = this.withDigest(u, u.href, digest);
        const res = await chunk('PUT', u, start, lastByte);
        if (opts.bad) {
          expect(res.status).toBe(400);
          return minHeader;
        }
        expect(res.status).toBe(201);
        loc = res.headers.get('location') ?? '';
        this.expectDigestHeader(res, digest);
      } else {
        const res = await chunk('PATCH', u, start, lastByte);
        expect(res.status, `chunk ${start}-${lastByte}`).toBe(202);
        // The spec's main branch: Range names the last byte received, the end of this Content-Range.
        expect(res.headers.get('range')).toBe(`0-${lastByte}`);
        loc = res.headers.get('location') ?? loc;
      }
    }
    if (!opts.putLastChunk) {
      u = this.withDigest(u, loc, digest);
      const res = await this.send('PUT', u, { headers: { 'Content-Length': '0', 'Content-Type': OCTET }, body: new Uint8Array(0) });
      if (opts.bad) {
        expect(res.status).toBe(400);
        return minHeader;
      }
      expect(res.status).toBe(201);
      loc = res.headers.get('location') ?? '';
      this.expectDigestHeader(res, digest);
    }
    await this.verifyBlobLocation(u, loc, bytes);
    return minHeader;
  }

  /** BlobMount: POST ?mount=[&from=]; 201 is a mount, 202 a session (then PUT with the body). Returns the status. */
  async blobMount(repo: string, from: string | undefined, digest: string, bytes: Uint8Array): Promise<number> {
    const u = this.url(`/v2/${repo}/blobs/uploads/`);
    u.searchParams.set('mount', digest);
    if (from !== undefined) u.searchParams.set('from', from);
    const res = await this.send('POST', u);
    expect([201, 202]).toContain(res.status);
    let loc = res.headers.get('location');
    expect(loc).toBeTruthy();
    let target = u;
    if (res.status === 202) {
      target = this.withDigest(u, loc!, digest);
      const put = await this.send('PUT', target, { headers: { 'Content-Length': String(bytes.byteLength), 'Content-Type': OCTET }, body: bytes });
      expect(put.status).toBe(201);
      loc = put.headers.get('location');
      this.expectDigestHeader(put, digest);
    } else {
      this.expectDigestHeader(res, digest);
    }
    await this.verifyBlobLocation(target, loc, bytes);
    return res.status;
  }

  /** BlobPostCancel: POST, then DELETE the session (Content-Length: 0) → 204. */
  async blobPostCancel(repo: string): Promise<void> {
    const { url } = await this.startSession(repo);
    const res = await this.send('DELETE', url, { headers: { 'Content-Length': '0' } });
    expect(res.status).toBe(204);
  }

  /** BlobHeadExists: 200, no body, Content-Length and digest. */
  async blobHeadExists(repo: string, digest: string, bytes: Uint8Array): Promise<void> {
    const res = await this.send('HEAD', `/v2/${repo}/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(bytes.byteLength));
    this.expectDigestHeader(res, digest);
    expect((await res.arrayBuffer()).byteLength).toBe(0);
  }

  /**
   * BlobGetExistsFull: 200 (after the redirect), the bytes and their Content-Length, and the
   * digest, which the suite's `dev` version requires on that final answer. S3
   * cannot add the header to a presigned GET.
   */
  async blobGetExists(repo: string, digest: string, bytes: Uint8Array): Promise<void> {
    const res = await this.send('GET', `/v2/${repo}/blobs/${digest}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(bytes.byteLength));
    if (!onAws) this.expectDigestHeader(res, digest);
    await this.expectBody(res, bytes);
  }

  /** BlobDelete (202; the suite also takes 404 and 405) then HEAD → 404 (the delete is atomic). */
  async blobDelete(repo: string, digest: string): Promise<void> {
    expect((await this.send('DELETE', `/v2/${repo}/blobs/${digest}`)).status).toBe(202);
    expect((await this.send('HEAD', `/v2/${repo}/blobs/${digest}`)).status).toBe(404);
  }

  /** ManifestPut: body of unknown length, Content-Type from its mediaType; 201, Location that serves it back. */
  async manifestPut(repo: string, ref: string, digest: string, bytes: Uint8Array, opts: { tags?: string[] } = {}): Promise<Response> {
    const mediaType = detectMediaType(bytes);
    const u = this.url(`/v2/${repo}/manifests/${ref}`);
    for (const tag of opts.tags ?? []) u.searchParams.append('tag', tag);
    const res = await this.send('PUT', u, { headers: { 'Content-Type': mediaType }, body: unsized(bytes) });
    expect(res.status, await errorText(res)).toBe(201);
    const subject = detectSubject(bytes);
    if (subject) expect(res.headers.get('oci-subject')).toBe(subject);
    this.expectDigestHeader(res, digest);
    const loc = res.headers.get('location');
    expect(loc).toBeTruthy();
    const back = await this.send('GET', new URL(loc!, u), { headers: { Accept: `${MediaType.ociIndex}, ${MediaType.ociManifest}` } });
    expect(back.status).toBe(200);
    expect(back.headers.get('content-type')).toBe(mediaType);
    expect(back.headers.get('content-length')).toBe(String(bytes.byteLength));
    await this.expectBody(back, bytes);
    return res;
  }

  manifestRequest(method: 'GET' | 'HEAD', repo: string, ref: string): Promise<Response> {
    return this.send(method, `/v2/${repo}/manifests/${ref}`, { headers: { Accept: `${MediaType.ociIndex}, ${MediaType.ociManifest}` } });
  }

  /** ManifestGetExists / ManifestHeadExists by tag or digest. */
  async manifestExists(method: 'GET' | 'HEAD', repo: string, ref: string, digest: string, bytes: Uint8Array): Promise<void> {
    const res = await this.manifestRequest(method, repo, ref);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(detectMediaType(bytes));
    expect(res.headers.get('content-length')).toBe(String(bytes.byteLength));
    this.expectDigestHeader(res, digest);
    await this.expectBody(res, method === 'HEAD' ? new Uint8Array(0) : bytes);
  }

  /** ManifestDelete (202; the suite also takes 404, 400, 405) then HEAD → 404. */
  async manifestDelete(repo: string, ref: string): Promise<void> {
    expect((await this.send('DELETE', `/v2/${repo}/manifests/${ref}`)).status).toBe(202);
    expect((await this.manifestRequest('HEAD', repo, ref)).status).toBe(404);
  }

  /** TagList: 200 with the list (the suite also takes 404 for a repository never pushed to). */
  async tagList(repo: string, query = ''): Promise<{ status: number; tags: string[] }> {
    const res = await this.send('GET', `/v2/${repo}/tags/list${query}`);
    expect([200, 404]).toContain(res.status);
    if (res.status === 404) return { status: 404, tags: [] };
    return { status: 200, tags: ((await res.json()) as { tags: string[] }).tags };
  }

  /** ReferrersList: 200, an OCI index (Content-Type, mediaType, schemaVersion 2). */
  async referrers(repo: string, subject: string, artifactType?: string): Promise<{ res: Response; manifests: ReferrerDescriptor[] }> {
    const u = this.url(`/v2/${repo}/referrers/${subject}`);
    if (artifactType !== undefined) u.searchParams.set('artifactType', artifactType);
    const res = await this.send('GET', u);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(MediaType.ociIndex);
    const index = (await res.json()) as { schemaVersion: number; mediaType: string; manifests: ReferrerDescriptor[] };
    expect(index.mediaType).toBe(MediaType.ociIndex);
    expect(index.schemaVersion).toBe(2);
    return { res, manifests: index.manifests };
  }
}

export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** The suite's detectMediaType: the manifest's mediaType field, else an OCI image manifest. */
export function detectMediaType(bytes: Uint8Array): string {
  const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as { mediaType?: string };
  return doc.mediaType || MediaType.ociManifest;
}

export function detectSubject(bytes: Uint8Array): string | undefined {
  const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as { subject?: { digest: string } };
  return doc.subject?.digest;
}

async function errorText(res: Response): Promise<string> {
  return res.status < 300 ? '' : (await res.clone().text()).slice(0, 300);
}
