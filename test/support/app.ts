// The real registry app over a fresh store (embedded, or the AWS adapters on aws-rgw: see
// backend.ts) with a temp dir of its own, for `app.request()` tests, and a tiny client whose
// transport is either `app.request()` or `fetch()` against a running host.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { expect } from 'vitest';
import { codes } from '../../core/errors/index.ts';
import { createRegistryApp, silentLogger, type AppEnv, type Logger } from '../../core/http/index.ts';
import { MediaType } from '../../core/oci/index.ts';
import type { Item, MultipartLimits, ObjectStore, Table } from '../../core/ports/index.ts';
import { defaultSettings, Registry, type RegistrySettings } from '../../core/registry/index.ts';
import { openTestStore } from './test-stores.ts';

export interface TestAppOptions {
  settings?: Partial<RegistrySettings>;
  /**
   * The object store's minimum part size (default S3's 5 MiB); small values keep chunked tests
   * small (on aws-rgw too: the S3 adapter's test-only option; the test cluster's RGW takes parts down to 1 KiB).
   */
  minPartSize?: number;
  /** The registry's clock (ms since the epoch). */
  now?: () => number;
  log?: Logger;
  publicUrl?: string;
  /** Wraps the real table, e.g. to inject faults; `table` in the result stays the real one. */
  wrapTable?: (table: Table) => Table;
  wrapObjects?: (objects: ObjectStore) => ObjectStore;
}

export interface TestApp {
  app: Hono<AppEnv>;
  registry: Registry;
  /** The real stores, for reading what the registry wrote. */
  table: Table;
  objects: ObjectStore;
  /** Ids of the object store's multipart uploads begun and neither completed nor aborted. */
  pendingMultipartUploads(): Promise<string[]>;
  /** This app's temp dir: the embedded store's root, or where the S3 adapter spools parts. */
  dir: string;
  client: RegistryClient;
  close(): Promise<void>;
}

export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dir = await mkdtemp(join(tmpdir(), 'cirrus-app-'));
  const store = await openTestStore(dir, { minPartSize: options.minPartSize }).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  const { table, objects } = store;
  const registry = new Registry({
    table: options.wrapTable ? options.wrapTable(table) : table,
    objects: options.wrapObjects ? options.wrapObjects(objects) : objects,
    settings: { ...defaultSettings, ...options.settings },
    now: options.now ?? Date.now,
  });
  const app = createRegistryApp({ registry, log: options.log ?? silentLogger, http: { publicUrl: options.publicUrl } });
  const client = new RegistryClient(appTransport(app));
  return {
    app,
    registry,
    table,
    objects,
    pendingMultipartUploads: store.pendingMultipartUploads,
    dir,
    client,
    close: () => store.close().finally(() => rm(dir, { recursive: true, force: true })),
  };
}

/** A table whose calls can be intercepted: a hook may throw (a fault) or return to let the call through. */
export function interceptTable(
  inner: Table,
  hooks: {
    get?: (pk: string, sk: string) => void;
    put?: (item: Item) => void;
    update?: (pk: string, sk: string) => void;
    delete?: (pk: string, sk: string) => void;
  },
): Table {
  return {
    get: async (pk, sk) => (hooks.get?.(pk, sk), inner.get(pk, sk)),
    put: async (item, condition) => (hooks.put?.(item), inner.put(item, condition)),
    update: async (pk, sk, set, condition) => (hooks.update?.(pk, sk), inner.update(pk, sk, set, condition)),
    delete: async (pk, sk, condition) => (hooks.delete?.(pk, sk), inner.delete(pk, sk, condition)),
    query: (pk, options) => inner.query(pk, options),
  };
}

/**
 * The store with other multipart limits, e.g. S3's shape (a part ceiling) scaled down, so the
 * upload code's part cutting runs on the filesystem store (which, like S3, refuses a small
 * non-final part at completion).
 */
export function withLimits(inner: ObjectStore, limits: Partial<MultipartLimits>): ObjectStore {
  return {
    limits: { ...inner.limits, ...limits },
    put: (key, body, options) => inner.put(key, body, options),
    get: (key, range) => inner.get(key, range),
    head: (key) => inner.head(key),
    delete: (key) => inner.delete(key),
    setTags: (key, tags) => inner.setTags(key, tags),
    signedGetUrl: (key, options) => inner.signedGetUrl(key, options),
    list: (prefix, options) => inner.list(prefix, options),
    createMultipart: (key) => inner.createMultipart(key),
    uploadPart: (key, uploadId, partNumber, body, options) => inner.uploadPart(key, uploadId, partNumber, body, options),
    completeMultipart: (key, uploadId, parts) => inner.completeMultipart(key, uploadId, parts),
    abortMultipart: (key, uploadId) => inner.abortMultipart(key, uploadId),
  };
}

/** Every item of a partition (optionally under a sort-key prefix). */
export async function itemsOf(table: Table, pk: string, prefix?: string): Promise<Item[]> {
  const out: Item[] = [];
  let after: string | undefined;
  do {
    const page = await table.query(pk, { prefix, after });
    out.push(...page.items);
    after = page.next;
  } while (after !== undefined);
  return out;
}

/**
 * The bytes a blob GET leads to. Undefined when the GET is not a 307. The 307's signed URL is
 * fetched when it is absolute (aws-rgw: RGW serves it, as S3 would); a signed `/_objects/<key>`
 * path is read from the object store (the local host, not the app, serves those paths).
 */
export async function readBlob(t: Pick<TestApp, 'client' | 'objects'>, name: string, digest: string): Promise<Uint8Array | undefined> {
  const res = await t.client.get(`/v2/${name}/blobs/${digest}`);
  if (res.status !== 307) return undefined;
  const location = res.headers.get('location')!;
  if (/^https?:\/\//.test(location)) {
    const object = await fetch(location);
    await expectStatus(object, 200);
    return new Uint8Array(await object.arrayBuffer());
  }
  const url = new URL(location, 'http://local');
  const stream = await t.objects.get(decodeURIComponent(url.pathname.slice('/_objects/'.length)));
  if (!stream) return undefined;
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function objectKeys(objects: ObjectStore, prefix: string): Promise<string[]> {
  return (await objects.list(prefix, { limit: 10_000 })).keys;
}

// ---- transport and client ----

export interface SendInit {
  headers?: Record<string, string>;
  body?: Uint8Array | string | ReadableStream<Uint8Array>;
}

/** One request; `target` is a path or an absolute URL (as a Location header gives it). */
export type Send = (method: string, target: string, init?: SendInit) => Promise<Response>;

/**
 * `app.request()` as a transport. A Request built in memory carries no Content-Length, and the app
 * (like any HTTP/1.1 server) reads a body only when one is declared, so it is declared here as a
 * client on the wire would: Content-Length for bytes, chunked transfer for a stream.
 */
export function appTransport(app: Hono<AppEnv>): Send {
  return async (method, target, init = {}) => {
    const headers: Record<string, string> = { ...init.headers };
    const lower = Object.keys(headers).map((h) => h.toLowerCase());
    const body = typeof init.body === 'string' ? new TextEncoder().encode(init.body) : init.body;
    if (body instanceof Uint8Array && !lower.includes('content-length')) headers['Content-Length'] = String(body.byteLength);
    if (body instanceof ReadableStream && !lower.includes('content-length')) headers['Transfer-Encoding'] = 'chunked';
    const request: RequestInit & { duplex?: 'half' } = { method, headers };
    if (body !== undefined) {
      request.body = body as RequestInit['body'];
      if (body instanceof ReadableStream) request.duplex = 'half';
    }
    return app.request(target, request);
  };
}

/** `fetch()` against a running host; redirects are never followed, so 307s can be checked. */
export function fetchTransport(baseUrl: string): Send {
  return (method, target, init = {}) => {
    const request: RequestInit & { duplex?: 'half' } = { method, headers: init.headers, redirect: 'manual' };
    if (init.body !== undefined) {
      request.body = init.body as RequestInit['body'];
      if (init.body instanceof ReadableStream) request.duplex = 'half';
    }
    return fetch(new URL(target, baseUrl), request);
  };
}

export class RegistryClient {
  constructor(readonly send: Send) {}

  get = (target: string, headers?: Record<string, string>) => this.send('GET', target, { headers });
  head = (target: string, headers?: Record<string, string>) => this.send('HEAD', target, { headers });
  delete = (target: string) => this.send('DELETE', target);

  /** Monolithic POST ?digest=; returns the digest. */
  async pushBlob(name: string, bytes: Uint8Array | string): Promise<string> {
    const data = toBytes(bytes);
    const digest = sha256(data);
    const res = await this.send('POST', `/v2/${name}/blobs/uploads/?digest=${digest}`, {
      headers: { 'Content-Type': 'application/octet-stream' },
      body: data,
    });
    await expectStatus(res, 201);
    return digest;
  }

  /** POST: starts a session; returns its Location (absolute) and uuid. */
  async startUpload(name: string): Promise<{ location: string; uuid: string; res: Response }> {
    const res = await this.send('POST', `/v2/${name}/blobs/uploads/`);
    await expectStatus(res, 202);
    return { location: res.headers.get('location')!, uuid: res.headers.get('docker-upload-uuid')!, res };
  }

  /** PATCH with Content-Range; the chunk starts at `start`. */
  patchChunk(location: string, chunk: Uint8Array, start: number): Promise<Response> {
    return this.send('PATCH', location, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${start + chunk.byteLength - 1}` },
      body: chunk,
    });
  }

  /** PUT ?digest= closing a session, with an optional final chunk. */
  finishUpload(location: string, digest: string, body?: Uint8Array): Promise<Response> {
    const url = new URL(location, 'http://placeholder');
    url.searchParams.set('digest', digest);
    const target = location.startsWith('http') ? url.toString() : `${url.pathname}${url.search}`;
    return this.send('PUT', target, { headers: { 'Content-Type': 'application/octet-stream' }, body: body ?? new Uint8Array(0) });
  }

  /** Session upload in chunks of `chunkSize` (PATCH with Content-Range), then PUT; returns the digest. */
  async pushChunked(name: string, bytes: Uint8Array, chunkSize: number): Promise<string> {
    const digest = sha256(bytes);
    let { location } = await this.startUpload(name);
    for (let at = 0; at < bytes.byteLength; at += chunkSize) {
      const res = await this.patchChunk(location, bytes.subarray(at, at + chunkSize), at);
      await expectStatus(res, 202);
      location = res.headers.get('location')!;
    }
    await expectStatus(await this.finishUpload(location, digest), 201);
    return digest;
  }

  putManifest(name: string, reference: string, manifest: object | string | Uint8Array, mediaType?: string): Promise<Response> {
    const body = manifestBytes(manifest);
    const type = mediaType ?? ((manifest as { mediaType?: string }).mediaType || MediaType.ociManifest);
    return this.send('PUT', `/v2/${name}/manifests/${reference}`, { headers: { 'Content-Type': type }, body });
  }

  /** PUT a manifest and expect 201; returns its digest. */
  async pushManifest(name: string, reference: string, manifest: object | string | Uint8Array, mediaType?: string): Promise<string> {
    const res = await this.putManifest(name, reference, manifest, mediaType);
    await expectStatus(res, 201);
    return res.headers.get('docker-content-digest')!;
  }

  /** Pushes a config and `layers` random layers, then an OCI manifest under `reference`. */
  async pushImage(name: string, reference: string, options: { layers?: number; extra?: object } = {}): Promise<PushedImage> {
    const config = toBytes(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') }));
    const layers = Array.from({ length: options.layers ?? 1 }, () => randomBytes(512 + Math.floor(Math.random() * 512)));
    await this.pushBlob(name, config);
    for (const layer of layers) await this.pushBlob(name, layer);
    const manifest = ociManifest(descriptorOf(CONFIG_TYPE, config), layers.map((l) => descriptorOf(LAYER_TYPE, l)), options.extra);
    const bytes = manifestBytes(manifest);
    const digest = await this.pushManifest(name, reference, bytes, MediaType.ociManifest);
    return { digest, manifest, bytes, config, layers };
  }
}

export interface PushedImage {
  digest: string;
  manifest: Record<string, unknown>;
  bytes: Uint8Array;
  config: Uint8Array;
  layers: Uint8Array[];
}

// ---- content helpers ----

export const CONFIG_TYPE = 'application/vnd.oci.image.config.v1+json';
export const LAYER_TYPE = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(toBytes(bytes)).digest('hex')}`;
}

export function toBytes(value: Uint8Array | string): Uint8Array {
  return typeof value === 'string' ? new TextEncoder().encode(value) : value;
}

export function descriptorOf(mediaType: string, bytes: Uint8Array | string, extra: Partial<Desc> = {}): Desc {
  const data = toBytes(bytes);
  return { mediaType, digest: sha256(data), size: data.byteLength, ...extra };
}

export function manifestBytes(manifest: object | string | Uint8Array): Uint8Array {
  if (manifest instanceof Uint8Array) return manifest;
  return toBytes(typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
}

export function ociManifest(config: Desc, layers: Desc[], extra: object = {}): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers, ...extra };
}

export function ociIndex(manifests: Desc[], extra: object = {}): Record<string, unknown> {
  return { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests, ...extra };
}

/** The OCI empty JSON blob `{}` and its descriptor (image spec, "Guidance for an empty descriptor"). */
export const EMPTY_JSON = toBytes('{}');
export const EMPTY_DESCRIPTOR: Desc = descriptorOf(MediaType.ociEmpty, EMPTY_JSON);

/** A digest nothing was ever stored under. */
export const UNKNOWN_DIGEST = `sha256:${'0'.repeat(64)}`;

// ---- assertions ----

const SPEC_CODES = Object.keys(codes).filter((c) => c !== 'UNKNOWN');

export async function expectStatus(res: Response, status: number): Promise<void> {
  if (res.status !== status) {
    const text = await res.clone().text();
    expect.fail(`expected ${status}, got ${res.status}: ${text.slice(0, 500)}`);
  }
}

/**
 * The response is an OCI error: `status`, JSON, and `{errors:[{code,message}]}` whose first code is
 * `code` (a spec code). HEAD responses carry no body, so only the status is checked for them.
 */
export async function expectError(res: Response, status: number, code: string, method = 'GET'): Promise<{ code: string; message: string; detail?: unknown }> {
  await expectStatus(res, status);
  if (method === 'HEAD') return { code, message: '' };
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as { errors?: Array<{ code: string; message: string; detail?: unknown }> };
  expect(Array.isArray(body.errors) && body.errors.length > 0, JSON.stringify(body)).toBe(true);
  const first = body.errors![0]!;
  expect(first.code).toBe(code);
  if (code !== 'UNKNOWN') expect(SPEC_CODES).toContain(first.code);
  expect(typeof first.message).toBe('string');
  expect(first.message.length).toBeGreaterThan(0);
  return first;
}
