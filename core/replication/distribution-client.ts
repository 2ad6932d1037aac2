/**
 * A client of another registry's distribution API (Cirrus, Distribution, Harbor, ECR…), enough
 * to copy content in and out: manifests, blobs (mount, HEAD, ranged GET, chunked and resumable
 * upload), tags, catalog and referrers. Auth follows the registry's challenge: Docker token auth
 * (a token per scope, from the realm it names, with Basic credentials when the rule has them) or
 * Basic. Credentials go only into Authorization headers: no error, log line or result carries them.
 */
import type { Descriptor } from '../oci/descriptor.ts';

export interface RemoteCredentials {
  username: string;
  password: string;
}

/** A refusal or failure of the remote, with the OCI error code it answered when it sent one. */
export class RemoteError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'RemoteError';
  }

  /** Worth retrying later: the remote is down, overloaded or failed; a refusal (4xx) is not. */
  get transient(): boolean {
    // 416: another copy (another process) is writing the same upload; the retry resumes or finds the blob there.
    return this.status === 0 || this.status === 408 || this.status === 416 || this.status === 429 || this.status >= 500;
  }
}

export interface ManifestRef {
  digest: string;
  mediaType: string;
  size: number;
}

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.oci.artifact.manifest.v1+json',
].join(', ');

type Scope = 'pull' | 'push';

export class DistributionClient {
  private readonly tokens = new Map<string, string>();
  private basic: string | undefined;
  private challenge: { realm: string; service?: string } | 'basic' | undefined;

  constructor(
    readonly baseUrl: string,
    private readonly credentials?: RemoteCredentials,
    private readonly options: { timeoutMs?: number } = {},
  ) {
    if (credentials) this.basic = `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  }

  async ping(): Promise<void> {
    const res = await this.send('GET', '/v2/', {});
    if (res.status !== 200) throw await remoteError(res, 'GET /v2/');
    await drain(res);
  }

  async headManifest(repo: string, reference: string): Promise<ManifestRef | undefined> {
    const res = await this.send('HEAD', `/v2/${repo}/manifests/${reference}`, { repo, scope: 'pull', headers: { Accept: MANIFEST_ACCEPT } });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await remoteError(res, `HEAD ${repo}:${reference}`);
    const digest = res.headers.get('docker-content-digest');
    if (!digest) {
      // Some registries omit the digest on HEAD: read the manifest instead.
      const got = await this.getManifest(repo, reference);
      return got && { digest: got.digest, mediaType: got.mediaType, size: got.bytes.byteLength };
    }
    return { digest, mediaType: res.headers.get('content-type') ?? '', size: Number(res.headers.get('content-length') ?? 0) };
  }

  async getManifest(repo: string, reference: string): Promise<{ digest: string; mediaType: string; bytes: Uint8Array } | undefined> {
    const res = await this.send('GET', `/v2/${repo}/manifests/${reference}`, { repo, scope: 'pull', headers: { Accept: MANIFEST_ACCEPT } });
    if (res.status === 404) return drainUndefined(res);
    if (res.status !== 200) throw await remoteError(res, `GET ${repo}:${reference}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const { createHash } = await import('node:crypto');
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (reference.startsWith('sha256:') && reference !== digest) throw new RemoteError(`${repo}@${reference}: the remote served bytes hashing to ${digest}`, 502);
    return { digest, mediaType: res.headers.get('content-type')?.split(';')[0]?.trim() ?? '', bytes };
  }

  async putManifest(repo: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<string> {
    const res = await this.send('PUT', `/v2/${repo}/manifests/${reference}`, {
      repo,
      scope: 'push',
      headers: { 'Content-Type': mediaType },
      body: bytes,
    });
    if (res.status !== 201 && res.status !== 200) throw await remoteError(res, `PUT ${repo}:${reference}`);
    await drain(res);
    return res.headers.get('docker-content-digest') ?? '';
  }

  /** True when deleted, false when it was not there; throws when the remote refuses (UNSUPPORTED for a tag on Distribution). */
  async deleteManifest(repo: string, reference: string): Promise<boolean> {
    const res = await this.send('DELETE', `/v2/${repo}/manifests/${reference}`, { repo, scope: 'push' });
    if (res.status === 404) return drain(res).then(() => false);
    if (res.status !== 202 && res.status !== 200 && res.status !== 204) throw await remoteError(res, `DELETE ${repo}:${reference}`);
    await drain(res);
    return true;
  }

  async headBlob(repo: string, digest: string): Promise<number | undefined> {
    const res = await this.send('HEAD', `/v2/${repo}/blobs/${digest}`, { repo, scope: 'pull' });
    await drain(res);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await remoteError(res, `HEAD blob ${repo}@${digest}`);
    return Number(res.headers.get('content-length') ?? 0);
  }

  /** The blob's bytes from `start` on, streamed (redirects to storage followed). */
  async getBlob(repo: string, digest: string, start = 0): Promise<AsyncIterable<Uint8Array>> {
    const headers: Record<string, string> = start > 0 ? { Range: `bytes=${start}-` } : {};
    const res = await this.send('GET', `/v2/${repo}/blobs/${digest}`, { repo, scope: 'pull', headers });
    if (res.status !== 200 && res.status !== 206) throw await remoteError(res, `GET blob ${repo}@${digest}`);
    if (start > 0 && res.status !== 206) throw new RemoteError(`GET blob ${repo}@${digest}: the remote ignored Range`, 502);
    if (!res.body) return (async function* () {})();
    return res.body as unknown as AsyncIterable<Uint8Array>;
  }

  /**
   * Opens an upload, asking to mount the blob from `from` (or, without it, from wherever the
   * remote has it: Cirrus does that, others ignore it). `mounted` when no bytes need to move.
   */
  async startUpload(repo: string, mount?: { digest: string; from?: string }): Promise<{ mounted: true } | { mounted: false; location: string; minChunk: number }> {
    const query = mount ? `?mount=${encodeURIComponent(mount.digest)}${mount.from ? `&from=${encodeURIComponent(mount.from)}` : ''}` : '';
    const extraScopes = mount?.from && mount.from !== repo ? [mount.from] : [];
    const res = await this.send('POST', `/v2/${repo}/blobs/uploads/${query}`, { repo, scope: 'push', extraScopes, headers: { 'Content-Length': '0' } });
    if (res.status !== 201 && res.status !== 202) throw await remoteError(res, `POST upload ${repo}`);
    await drain(res);
    if (res.status === 201) return { mounted: true };
    return { mounted: false, location: this.absolute(res), minChunk: Number(res.headers.get('oci-chunk-min-length') ?? 0) };
  }

  /** How many bytes the remote holds for an open upload; undefined when it no longer knows the session. */
  async uploadOffset(repo: string, location: string): Promise<number | undefined> {
    const res = await this.send('GET', location, { repo, scope: 'push' });
    if (res.status === 404) return drain(res).then(() => undefined);
    if (res.status !== 204 && res.status !== 200) throw await remoteError(res, `GET upload ${repo}`);
    await drain(res);
    const range = res.headers.get('range');
    if (!range) return 0;
    const m = /^(?:bytes=)?0-(\d+)$/.exec(range);
    if (!m) return 0;
    return Number(m[1]) + 1;
  }

  /** Sends bytes [start, start + chunk.length) of an open upload; returns the next location. */
  async patchUpload(repo: string, location: string, chunk: Uint8Array, start: number): Promise<string> {
    const res = await this.send('PATCH', location, {
      repo,
      scope: 'push',
      headers: {
        'Content-Type': 'application/octet-stream',
        'Content-Range': `${start}-${start + chunk.byteLength - 1}`,
        'Content-Length': String(chunk.byteLength),
      },
      body: chunk,
    });
    if (res.status !== 202) throw await remoteError(res, `PATCH upload ${repo}`);
    await drain(res);
    return this.absolute(res);
  }

  async finishUpload(repo: string, location: string, digest: string): Promise<void> {
    const url = new URL(location);
    url.searchParams.set('digest', digest);
    const res = await this.send('PUT', url.toString(), { repo, scope: 'push', headers: { 'Content-Length': '0' } });
    if (res.status !== 201) throw await remoteError(res, `PUT upload ${repo}@${digest}`);
    await drain(res);
  }

  async cancelUpload(repo: string, location: string): Promise<void> {
    const res = await this.send('DELETE', location, { repo, scope: 'push' }).catch(() => undefined);
    if (res) await drain(res);
  }

  /** A page of tags, after `last`. */
  async tags(repo: string, limit: number, last?: string): Promise<{ tags: string[]; last?: string }> {
    const query = `?n=${limit}${last ? `&last=${encodeURIComponent(last)}` : ''}`;
    const res = await this.send('GET', `/v2/${repo}/tags/list${query}`, { repo, scope: 'pull' });
    if (res.status === 404) return (await drain(res), { tags: [] });
    if (res.status !== 200) throw await remoteError(res, `GET tags ${repo}`);
    const body = (await res.json()) as { tags?: string[] | null };
    const tags = body.tags ?? [];
    return res.headers.get('link') && tags.length > 0 ? { tags, last: tags[tags.length - 1] } : { tags };
  }

  async catalog(limit: number, last?: string): Promise<{ repositories: string[]; last?: string }> {
    const query = `?n=${limit}${last ? `&last=${encodeURIComponent(last)}` : ''}`;
    const res = await this.send('GET', `/v2/_catalog${query}`, { catalog: true });
    if (res.status !== 200) throw await remoteError(res, 'GET /v2/_catalog');
    const body = (await res.json()) as { repositories?: string[] | null };
    const repositories = body.repositories ?? [];
    return res.headers.get('link') && repositories.length > 0 ? { repositories, last: repositories[repositories.length - 1] } : { repositories };
  }

  /** The referrers API's answer, or undefined when the remote does not have the API. */
  async referrers(repo: string, digest: string): Promise<Descriptor[] | undefined> {
    const res = await this.send('GET', `/v2/${repo}/referrers/${digest}`, { repo, scope: 'pull' });
    if (res.status === 404 || res.status === 405 || res.status === 400) {
      await drain(res);
      return undefined;
    }
    if (res.status !== 200) throw await remoteError(res, `GET referrers ${repo}@${digest}`);
    const type = res.headers.get('content-type') ?? '';
    if (!type.includes('json')) return (await drain(res), undefined);
    const body = (await res.json()) as { manifests?: Descriptor[] };
    return body.manifests ?? [];
  }

  private absolute(res: Response): string {
    const location = res.headers.get('location');
    if (!location) throw new RemoteError('upload answer without Location', 502);
    return new URL(location, this.baseUrl).toString();
  }

  /** One request, authenticated as the last challenge asked; on 401, answers the challenge once and retries. */
  private async send(
    method: string,
    target: string,
    opts: { repo?: string; scope?: Scope; extraScopes?: string[]; catalog?: boolean; headers?: Record<string, string>; body?: Uint8Array },
  ): Promise<Response> {
    const url = target.startsWith('http') ? target : `${this.baseUrl}${target}`;
    const scopes = opts.catalog
      ? ['registry:catalog:*']
      : opts.repo
        ? [`repository:${opts.repo}:${opts.scope === 'push' ? 'pull,push' : 'pull'}`, ...(opts.extraScopes ?? []).map((r) => `repository:${r}:pull`)]
        : [];
    const attempt = async () => {
      const headers: Record<string, string> = { ...opts.headers };
      const auth = this.authorization(scopes);
      if (auth) headers.Authorization = auth;
      return this.fetch(url, { method, headers, body: opts.body as RequestInit['body'] });
    };
    let res = await attempt();
    if (res.status !== 401) return res;
    const header = res.headers.get('www-authenticate') ?? '';
    await drain(res);
    if (!(await this.answer(header, scopes))) return new Response(null, { status: 401 });
    res = await attempt();
    return res;
  }

  private authorization(scopes: string[]): string | undefined {
    if (this.challenge === 'basic') return this.basic;
    if (this.challenge) return this.tokens.get(scopes.join(' '));
    return undefined;
  }

  private async answer(header: string, scopes: string[]): Promise<boolean> {
    if (/^basic/i.test(header)) {
      this.challenge = 'basic';
      return this.basic !== undefined;
    }
    if (!/^bearer/i.test(header)) return false;
    const params = Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
    if (!params.realm) return false;
    this.challenge = { realm: params.realm, ...(params.service ? { service: params.service } : {}) };
    const url = new URL(params.realm, this.baseUrl);
    if (params.service) url.searchParams.set('service', params.service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const res = await this.fetch(url.toString(), { method: 'GET', headers: this.basic ? { Authorization: this.basic } : {} });
    if (res.status !== 200) {
      await drain(res);
      return false;
    }
    const body = (await res.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) return false;
    this.tokens.set(scopes.join(' '), `Bearer ${token}`);
    return true;
  }

  private async fetch(url: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(url, { ...init, redirect: 'follow', signal: AbortSignal.timeout(this.options.timeoutMs ?? 120_000) });
    } catch (error) {
      // The URL (never credentials: they travel in headers only) and the cause.
      const cause = error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
      throw new RemoteError(`${init.method} ${new URL(url).origin}${new URL(url).pathname}: ${cause}`, 0);
    }
  }
}

async function remoteError(res: Response, what: string): Promise<RemoteError> {
  let code: string | undefined;
  let message = '';
  if (res.bodyUsed) return new RemoteError(`${what}: ${res.status}`, res.status);
  try {
    const body = (await res.json()) as { errors?: Array<{ code?: string; message?: string }> };
    code = body.errors?.[0]?.code;
    message = body.errors?.[0]?.message ?? '';
  } catch {
    // not an OCI error body
  }
  return new RemoteError(`${what}: ${res.status}${code ? ` ${code}` : ''}${message ? ` ${message.slice(0, 200)}` : ''}`, res.status, code);
}

async function drain(res: Response): Promise<void> {
  if (res.body && !res.bodyUsed) await res.body.cancel().catch(() => {});
}

async function drainUndefined(res: Response): Promise<undefined> {
  await drain(res);
  return undefined;
}
