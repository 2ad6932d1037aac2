/**
 * The two sides of a copy, behind one interface: this registry (through the core's use cases,
 * so every invariant of DESIGN §2 holds for what replication writes here) and a remote registry
 * (through its distribution API). Push rules copy local → remote, pull rules remote → local.
 */
import type { Descriptor } from '../oci/descriptor.ts';
import { keys } from '../registry/keys.ts';
import { allItems } from '../registry/paging.ts';
import type { Registry } from '../registry/registry.ts';
import { DistributionClient, RemoteError } from './distribution-client.ts';

export interface TagState {
  digest: string;
  /** When the tag was last written (this registry only: the remote API does not say). */
  pushedAt?: number;
}

export interface ManifestBytes {
  digest: string;
  mediaType: string;
  bytes: Uint8Array;
}

/** Where an interrupted blob upload to a remote is remembered, so a re-run resumes from the remote's offset. */
export interface UploadCheckpoint {
  load(): Promise<string | undefined>;
  save(location: string): Promise<void>;
  clear(): Promise<void>;
}

export interface BlobWrite {
  /** Bytes sent this time. */
  bytes: number;
  /** Where an interrupted upload was resumed from (0 for a fresh one). */
  resumedFrom: number;
  mounted: boolean;
}

export type Page = { names: string[]; next?: string };

export interface Endpoint {
  readonly label: string;
  resolveTag(repo: string, tag: string): Promise<TagState | undefined>;
  getManifest(repo: string, reference: string): Promise<ManifestBytes | undefined>;
  hasManifest(repo: string, digest: string): Promise<boolean>;
  openBlob(repo: string, digest: string, start: number): Promise<AsyncIterable<Uint8Array>>;
  referrers(repo: string, digest: string): Promise<Descriptor[]>;
  /** Tags starting with `prefix` (cosign's `sha256-<hex>.sig` and friends). */
  tagsStartingWith(repo: string, prefix: string): Promise<string[]>;
  listRepositories(limit: number, after?: string): Promise<Page>;
  listTags(repo: string, limit: number, after?: string): Promise<Page>;

  hasBlob(repo: string, digest: string): Promise<boolean>;
  /**
   * Stores a blob unless it is there: mounted from `mountFrom` (or wherever the registry has it)
   * when possible, else streamed from `open(offset)`, resuming an upload the checkpoint remembers.
   */
  writeBlob(repo: string, digest: string, size: number, open: (start: number) => Promise<AsyncIterable<Uint8Array>>, checkpoint: UploadCheckpoint, mountFrom?: string): Promise<BlobWrite>;
  /** PUT by digest or by tag (the tag write: the visibility point). */
  putManifest(repo: string, reference: string, manifest: ManifestBytes): Promise<void>;
  /** 'unsupported' when the registry cannot delete a tag alone (Distribution). */
  deleteTag(repo: string, tag: string): Promise<'deleted' | 'absent' | 'unsupported'>;
  deleteManifest(repo: string, digest: string): Promise<boolean>;
}

/** Chunks of a streamed upload: memory holds one chunk, whatever the blob's size. */
export const CHUNK_BYTES = 8 * 1024 * 1024;
const MIN_CHUNK_BYTES = 1024 * 1024;

export class RemoteEndpoint implements Endpoint {
  readonly label: string;
  constructor(
    readonly client: DistributionClient,
    private readonly chunkBytes = CHUNK_BYTES,
  ) {
    this.label = client.baseUrl;
  }

  async resolveTag(repo: string, tag: string): Promise<TagState | undefined> {
    const head = await this.client.headManifest(repo, tag);
    return head && { digest: head.digest };
  }

  getManifest(repo: string, reference: string): Promise<ManifestBytes | undefined> {
    return this.client.getManifest(repo, reference);
  }

  async hasManifest(repo: string, digest: string): Promise<boolean> {
    return (await this.client.headManifest(repo, digest)) !== undefined;
  }

  openBlob(repo: string, digest: string, start: number): Promise<AsyncIterable<Uint8Array>> {
    return this.client.getBlob(repo, digest, start);
  }

  async referrers(repo: string, digest: string): Promise<Descriptor[]> {
    return (await this.client.referrers(repo, digest)) ?? [];
  }

  async tagsStartingWith(repo: string, prefix: string): Promise<string[]> {
    const out: string[] = [];
    let last: string | undefined;
    // Distribution has no prefix query: page through (bounded; cosign tags sort together).
    for (let pages = 0; pages < 100; pages++) {
      const page = await this.client.tags(repo, 1000, last);
      out.push(...page.tags.filter((t) => t.startsWith(prefix)));
      if (!page.last) break;
      last = page.last;
    }
    return out;
  }

  async listRepositories(limit: number, after?: string): Promise<Page> {
    const page = await this.client.catalog(limit, after);
    return { names: page.repositories, ...(page.last ? { next: page.last } : {}) };
  }

  async listTags(repo: string, limit: number, after?: string): Promise<Page> {
    const page = await this.client.tags(repo, limit, after);
    return { names: page.tags, ...(page.last ? { next: page.last } : {}) };
  }

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    return (await this.client.headBlob(repo, digest)) !== undefined;
  }

  async writeBlob(
    repo: string,
    digest: string,
    size: number,
    open: (start: number) => Promise<AsyncIterable<Uint8Array>>,
    checkpoint: UploadCheckpoint,
    mountFrom?: string,
  ): Promise<BlobWrite> {
    let location = await checkpoint.load();
    let offset = 0;
    let minChunk = 0;
    if (location) {
      const held = await this.client.uploadOffset(repo, location);
      if (held === undefined || held > size) {
        await checkpoint.clear();
        location = undefined;
      } else {
        offset = held;
      }
    }
    if (location && offset > 0) {
      try {
        return await this.send(repo, digest, size, open, checkpoint, location, offset, 0);
      } catch (error) {
        // The remote would not take the rest of this upload (its session state disagrees): start over once.
        if (!(error instanceof RemoteError) || (error.transient && error.status !== 416)) throw error;
        await this.client.cancelUpload(repo, location);
        await checkpoint.clear();
        location = undefined;
        offset = 0;
      }
    }
    if (!location) {
      const started = await this.client.startUpload(repo, { digest, ...(mountFrom ? { from: mountFrom } : {}) });
      if (started.mounted) return { bytes: 0, resumedFrom: 0, mounted: true };
      location = started.location;
      minChunk = started.minChunk;
      await checkpoint.save(location);
    }
    return this.send(repo, digest, size, open, checkpoint, location, offset, minChunk);
  }

  /** Streams bytes [offset, size) in chunks, checkpointing the location after each, then commits. */
  private async send(
    repo: string,
    digest: string,
    size: number,
    open: (start: number) => Promise<AsyncIterable<Uint8Array>>,
    checkpoint: UploadCheckpoint,
    at: string,
    from: number,
    minChunk: number,
  ): Promise<BlobWrite> {
    let location = at;
    let offset = from;
    const resumedFrom = from;
    let chunkBytes = Math.max(this.chunkBytes, minChunk);
    let sent = 0;
    if (offset < size) {
      let buffered: Uint8Array[] = [];
      let bufferedBytes = 0;
      const flush = async (bytes: Uint8Array): Promise<void> => {
        try {
          location = await this.client.patchUpload(repo, location, bytes, offset);
        } catch (error) {
          // A body too large for the remote (Cirrus behind Lambda takes ~4 MiB): halve the chunks from here on.
          if (!(error instanceof RemoteError) || error.status !== 413 || bytes.byteLength <= MIN_CHUNK_BYTES) throw error;
          chunkBytes = Math.max(MIN_CHUNK_BYTES, Math.floor(bytes.byteLength / 2));
          for (let at = 0; at < bytes.byteLength; at += chunkBytes) await flush(bytes.subarray(at, at + chunkBytes));
          return;
        }
        offset += bytes.byteLength;
        sent += bytes.byteLength;
        await checkpoint.save(location);
      };
      for await (const piece of await open(offset)) {
        buffered.push(piece);
        bufferedBytes += piece.byteLength;
        while (bufferedBytes >= chunkBytes) {
          const all = Buffer.concat(buffered, bufferedBytes);
          await flush(all.subarray(0, chunkBytes));
          const rest = all.subarray(chunkBytes);
          buffered = rest.byteLength ? [rest] : [];
          bufferedBytes = rest.byteLength;
        }
      }
      if (bufferedBytes > 0) await flush(Buffer.concat(buffered, bufferedBytes));
    }
    try {
      await this.client.finishUpload(repo, location, digest);
    } catch (error) {
      // Bytes that do not hash to the digest: start over next time rather than resume them.
      if (error instanceof RemoteError && !error.transient) {
        await this.client.cancelUpload(repo, location);
        await checkpoint.clear();
      }
      throw error;
    }
    await checkpoint.clear();
    return { bytes: sent, resumedFrom, mounted: false };
  }

  async putManifest(repo: string, reference: string, manifest: ManifestBytes): Promise<void> {
    await this.client.putManifest(repo, reference, manifest.bytes, manifest.mediaType);
  }

  async deleteTag(repo: string, tag: string): Promise<'deleted' | 'absent' | 'unsupported'> {
    try {
      return (await this.client.deleteManifest(repo, tag)) ? 'deleted' : 'absent';
    } catch (error) {
      if (error instanceof RemoteError && (error.code === 'UNSUPPORTED' || error.status === 405 || error.code === 'DIGEST_INVALID')) return 'unsupported';
      throw error;
    }
  }

  deleteManifest(repo: string, digest: string): Promise<boolean> {
    return this.client.deleteManifest(repo, digest);
  }
}

export class LocalEndpoint implements Endpoint {
  readonly label: string = 'this registry';
  constructor(protected readonly registry: Registry) {}

  async resolveTag(repo: string, tag: string): Promise<TagState | undefined> {
    const { pk, sk } = keys.tag(repo, tag);
    const item = await this.registry.deps.table.get(pk, sk);
    if (!item) return undefined;
    return { digest: item.attrs.digest as string, pushedAt: item.attrs.pushedAt as number };
  }

  getManifest(repo: string, reference: string): Promise<ManifestBytes | undefined> {
    return this.registry.manifests.get(repo, reference).then((m) => m && { digest: m.digest, mediaType: m.mediaType, bytes: m.body });
  }

  async hasManifest(repo: string, digest: string): Promise<boolean> {
    return (await this.registry.manifests.stat(repo, digest)) !== undefined;
  }

  async openBlob(repo: string, digest: string, start: number): Promise<AsyncIterable<Uint8Array>> {
    const blob = await this.registry.blobs.stat(repo, digest);
    if (!blob) throw new RemoteError(`${repo}@${digest}: blob unknown here`, 404, 'BLOB_UNKNOWN');
    const range = start > 0 ? { start, end: blob.size - 1 } : undefined;
    const stream = await this.registry.deps.objects.get(blob.key, range);
    if (!stream) throw new RemoteError(`${repo}@${digest}: blob bytes missing`, 404, 'BLOB_UNKNOWN');
    return stream;
  }

  referrers(repo: string, digest: string): Promise<Descriptor[]> {
    return this.registry.manifests.referrers(repo, digest, undefined);
  }

  async tagsStartingWith(repo: string, prefix: string): Promise<string[]> {
    const out: string[] = [];
    for await (const item of allItems(this.registry.deps.table, keys.repo(repo), { prefix: keys.tagPrefix + prefix })) {
      out.push(item.sk.slice(keys.tagPrefix.length));
    }
    return out;
  }

  async listRepositories(limit: number, after?: string): Promise<Page> {
    const page = await this.registry.catalog.list(limit, after);
    return { names: page.entries, ...(page.last ? { next: page.last } : {}) };
  }

  async listTags(repo: string, limit: number, after?: string): Promise<Page> {
    const page = await this.registry.tags.list(repo, limit, after);
    return { names: page.entries, ...(page.last ? { next: page.last } : {}) };
  }

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    return (await this.registry.blobs.stat(repo, digest)) !== undefined;
  }

  async writeBlob(repo: string, digest: string, size: number, open: (start: number) => Promise<AsyncIterable<Uint8Array>>): Promise<BlobWrite> {
    // Stored here already (another repository): a link is the mount.
    if ((await this.registry.blobs.global(digest)) && (await this.registry.blobs.link(repo, digest))) return { bytes: 0, resumedFrom: 0, mounted: true };
    // The upload use case verifies the digest over the bytes it stores, then indexes and links them.
    await this.registry.uploads.monolithic(repo, digest, { body: await open(0), length: size });
    return { bytes: size, resumedFrom: 0, mounted: false };
  }

  async putManifest(repo: string, reference: string, manifest: ManifestBytes): Promise<void> {
    const byDigest = reference.includes(':');
    await this.registry.manifests.put({
      name: repo,
      tags: byDigest ? [] : [reference],
      ...(byDigest ? { digest: reference } : {}),
      body: manifest.bytes,
      contentType: manifest.mediaType,
    });
  }

  async deleteTag(repo: string, tag: string): Promise<'deleted' | 'absent'> {
    return (await this.registry.manifests.deleteTag(repo, tag)) ? 'deleted' : 'absent';
  }

  deleteManifest(repo: string, digest: string): Promise<boolean> {
    return this.registry.manifests.delete(repo, digest);
  }
}
